import Foundation
import SpikeSupport
import Sweeps

/// What `spikesweep collect` found, and what to run next.
package struct CollectReport: Sendable {
    package var result: CollectResult
    /// How the sweep was submitted, if through `slurm submit`.
    package var submission: SlurmSubmission?
    /// The array element of each listed task (array mode only).
    package var partition: ArrayPartition?
    /// The command that runs exactly the missing and failed tasks (nil when complete).
    package var nextCommand: [String]?
}

/// Collects a results folder (see `Collector`) and works out the command that finishes it:
/// `slurm resubmit` of the elements holding the missing tasks for an array, `slurm resubmit`
/// for an MPI job, and a plain `sweep` otherwise.
package enum SweepCollection {
    /// - Parameter tool: how printed commands name the `spikesweep` binary.
    package static func collect(directory: URL, tool: String) throws -> CollectReport {
        let result = try Collector.collect(directory: directory)
        let submission = try? SlurmSubmission.load(resultsDirectory: directory)
        let partition = submission?.mode == .array && !result.plan.isHalving ? submission.map { ArrayPartition(size: $0.arraySize) } : nil
        var report = CollectReport(result: result, submission: submission, partition: partition, nextCommand: nil)
        guard !result.isComplete, !result.isBetweenRungs else { return report }
        // The command runs exactly the tasks listed: the missing ones, and the failed ones again.
        let retry = result.failed.isEmpty ? [] : ["--retry-failed"]
        switch (submission?.mode, partition) {
        case (.array?, nil):
            report.nextCommand = [tool, "slurm", "resubmit", directory.path] + retry
        case (.array?, let partition?):
            let elements = partition.elements(running: result.missing + result.failed)
            report.nextCommand = [tool, "slurm", "resubmit", directory.path, "--elements", Collector.indexList(elements)] + retry
        case (.mpi?, _):
            report.nextCommand = [tool, "slurm", "resubmit", directory.path] + retry
        default:
            report.nextCommand = [tool, "sweep", directory.appendingPathComponent("spec.yaml").path,
                                  "--results", directory.deletingLastPathComponent().path] + retry
        }
        return report
    }
}

/// `spikesweep slurm status`: per array element (or for the MPI job), its Slurm state and the
/// tasks its results hold. Needs no accounting database: jobs Slurm no longer lists are judged
/// by their results.
package struct SlurmStatusReport: Sendable {
    package struct Element: Sendable {
        package var element: Int
        /// `<array job>_<index>`.
        package var jobID: String
        /// Slurm's state (with the pending reason), or "ended" / "ended, incomplete".
        package var state: String
        package var elapsed: String?
        package var tasks: TaskCounts
    }

    package struct TaskCounts: Sendable, Equatable {
        package var total: Int
        package var ok: Int
        package var failed: Int
    }

    package var plan: SweepPlan
    package var submission: SlurmSubmission
    package var tasks: TaskCounts
    package var elements: [Element]
    /// The MPI job and its state (MPI mode).
    package var mpiJob: (id: String, state: String, elapsed: String?)?
    /// The newest collect job: its id and its state, or nil once it ended.
    package var collectJob: (id: String, state: String?)?
    /// Why the queue could not be read (results only then).
    package var queueProblem: String?
    /// A halving sweep in array mode: the rung whose array the elements are (0-based).
    package var rung: Int?

    /// The final state of a job `squeue` no longer lists: from `scontrol show job` while
    /// Slurm remembers it (MinJobAge), otherwise unknown (without accounting there is no record).
    static func endedState(_ id: String) -> String {
        if let fields = try? Slurm.job(id), let state = fields["JobState"] { return "ended: \(state)" }
        return "ended; final state unknown (no accounting database, and Slurm has forgotten the job)"
    }

    package static func read(directory: URL) throws -> SlurmStatusReport {
        let submission = try SlurmSubmission.load(resultsDirectory: directory)
        let plan = try SweepPlan.load(resultsDirectory: directory)
        let latest = Leaderboard.latestOutcomes(try ResultsFiles.readAll(directory: directory))
        let status = latest.mapValues(\.status)
        // A halving sweep's tasks are those of the rungs reached so far.
        let progress = plan.isHalving ? plan.progress(latest: latest) : nil
        var queue: [Slurm.QueueEntry] = []
        var queueProblem: String?
        do { queue = try Slurm.queue() } catch { queueProblem = "\(error)" }
        let byID = Dictionary(queue.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        func counts(_ tasks: [SweepTask]) -> TaskCounts {
            TaskCounts(total: tasks.count, ok: tasks.filter { status[$0.id] == .ok }.count,
                       failed: tasks.filter { status[$0.id] == .failed }.count)
        }
        var report = SlurmStatusReport(plan: plan, submission: submission, tasks: counts(plan.tasks), elements: [],
                                       mpiJob: nil, collectJob: nil, queueProblem: queueProblem)
        if let progress {
            report.tasks = counts(progress.tasks)
            report.tasks.total = plan.plannedTaskCount
        }
        if submission.mode == .array {
            var partition = ArrayPartition(size: submission.arraySize)
            var tasksByElement = Dictionary(grouping: plan.tasks, by: partition.element(of:))
            if let sizes = submission.rungArraySizes, let progress {
                // The elements of the rung the results have reached (the last one when done).
                let rung = min(progress.current ?? sizes.count - 1, sizes.count - 1)
                let tasks = progress.entering[rung].flatMap { plan.tasks(ofConfig: $0, rung: rung) }
                partition = ArrayPartition(size: sizes[rung])
                tasksByElement = Dictionary(uniqueKeysWithValues: (0..<partition.size).map { ($0, partition.share(of: $0, in: tasks)) })
                report.rung = rung
            }
            for e in 0..<partition.size {
                guard let job = submission.latestJob(element: e, rung: report.rung) else { continue }
                let tasks = counts(tasksByElement[e] ?? [])
                let id = "\(job.id)_\(e - (job.offset ?? 0))"
                let entry = byID[id] ?? byID["\(job.id)_[\(e - (job.offset ?? 0))]"]
                let state = entry.map { $0.state + ($0.state == "PENDING" && $0.reason != "None" ? " (\($0.reason))" : "") }
                    ?? (tasks.ok == tasks.total ? "ended" : "ended, incomplete")
                report.elements.append(Element(element: e, jobID: id, state: state, elapsed: entry?.elapsed, tasks: tasks))
            }
        } else if let job = submission.jobs.last(where: { $0.kind == "mpi" }) {
            let entry = byID[job.id]
            report.mpiJob = (job.id, entry?.state ?? endedState(job.id), entry?.elapsed)
        }
        if let collect = submission.jobs.last(where: { $0.kind == "collect" }) {
            report.collectJob = (collect.id, byID[collect.id].map { $0.state + " (\($0.reason))" })
        }
        return report
    }
}
