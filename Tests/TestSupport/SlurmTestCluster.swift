import Foundation

/// The single-node Slurm cluster of `scripts/slurm-local` for integration tests. Tests skip
/// with `skipMessage` when no cluster answers, unless `CI` is set: then they run and fail
/// (CI starts the cluster before the tests).
public enum SlurmTestCluster {
    /// A node of the cluster is up (idle, mixed or allocated).
    public static let isUp: Bool = {
        guard let result = try? CLIRunner.run(executable: URL(fileURLWithPath: "/usr/bin/env"), ["sinfo", "-h", "-o", "%T"]),
              result.status == 0 else { return false }
        return result.stdout.split(whereSeparator: \.isNewline).contains { ["idle", "mixed", "allocated"].contains(String($0)) }
    }()

    public static var shouldRun: Bool { isUp || ProcessInfo.processInfo.environment["CI"] != nil }

    public static let skipMessage = "skipped: no Slurm cluster answers (run `scripts/slurm-local up` as root; set CI=1 to make this a failure)"

    /// Runs a Slurm command (`squeue`, `scancel`, `scontrol`, …).
    @discardableResult
    public static func run(_ program: String, _ arguments: [String]) throws -> CLIRunner.Result {
        try CLIRunner.run(executable: URL(fileURLWithPath: "/usr/bin/env"), [program] + arguments)
    }

    /// Ids of this user's queued or running jobs (`12`, `12_3`); nil when squeue fails.
    public static func queued() throws -> [String]? {
        let result = try run("squeue", ["-h", "-r", "-u", String(getuid()), "-o", "%i"])
        guard result.status == 0 else { return nil }
        return result.stdout.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
    }

    /// Waits until none of `jobs` (nor their array elements) is queued or running.
    public static func waitUntilDone(_ jobs: [String], timeout: TimeInterval = 300) throws -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let queue = try queued(), !queue.contains(where: { id in jobs.contains { id == $0 || id.hasPrefix($0 + "_") } }) { return true }
            usleep(300_000)
        }
        return false
    }

    /// The job ids recorded in `results/<name>/slurm/submission.json`, by kind.
    public static func submittedJobs(_ resultsDirectory: URL) throws -> [(kind: String, id: String)] {
        let data = try Data(contentsOf: resultsDirectory.appendingPathComponent("slurm/submission.json"))
        let object = try JSONSerialization.jsonObject(with: data) as? [String: Any]
        let jobs = object?["jobs"] as? [[String: Any]] ?? []
        return jobs.compactMap { job in
            guard let kind = job["kind"] as? String, let id = job["id"] as? String else { return nil }
            return (kind, id)
        }
    }
}
