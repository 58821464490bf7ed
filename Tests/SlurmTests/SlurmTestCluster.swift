import Cluster
import Foundation

/// The single-node Slurm cluster of `scripts/slurm-local` for integration tests. Tests skip
/// with `skipMessage` when no cluster answers, unless `CI` is set: then they run and fail
/// (CI starts the cluster before the tests).
enum SlurmTestCluster {
    /// A node of the cluster is up (idle, mixed or allocated).
    static let isUp: Bool = {
        guard let result = try? ProgramRun.run("sinfo", ["-h", "-o", "%T"]), result.status == 0 else { return false }
        return result.stdout.split(whereSeparator: \.isNewline).contains { ["idle", "mixed", "allocated"].contains(String($0)) }
    }()

    static var shouldRun: Bool { isUp || ProcessInfo.processInfo.environment["CI"] != nil }

    static let skipMessage = "skipped: no Slurm cluster answers (run `scripts/slurm-local up` as root; set CI=1 to make this a failure)"

    /// Ids of this user's queued or running jobs (`12`, `12_3`); nil when squeue fails.
    static func queued() -> [String]? {
        (try? Slurm.queue())?.map(\.id)
    }

    /// Ids of the queued or running jobs submitted from `directory` (squeue's working directory
    /// of a job; other users of the cluster submit from elsewhere); nil when squeue fails.
    static func jobs(submittedFrom directory: URL) -> [String]? {
        guard let run = try? ProgramRun.run("squeue", ["-h", "-r", "-o", "%i|%Z"]), run.status == 0 else { return nil }
        let path = directory.standardizedFileURL.path
        return run.stdout.split(whereSeparator: \.isNewline).compactMap { line in
            let fields = line.split(separator: "|", maxSplits: 1).map(String.init)
            return fields.count == 2 && URL(fileURLWithPath: fields[1]).standardizedFileURL.path == path ? fields[0] : nil
        }
    }

    /// Waits until none of `jobs` (nor their array elements) is queued or running.
    static func waitUntilDone(_ jobs: [String], timeout: TimeInterval = 300) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let queue = queued(), !queue.contains(where: { id in jobs.contains { id == $0 || id.hasPrefix($0 + "_") } }) { return true }
            usleep(300_000)
        }
        return false
    }

    /// The jobs recorded in `results/<name>/slurm/submission.json`.
    static func submittedJobs(_ resultsDirectory: URL) throws -> [SlurmSubmission.Job] {
        try SlurmSubmission.load(resultsDirectory: resultsDirectory).jobs
    }
}
