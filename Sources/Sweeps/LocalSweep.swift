import Foundation
import SpikeSupport

/// What every executor of a sweep takes from the command line, wherever it runs.
package struct SweepSettings: Sendable {
    package var specPath: String
    package var resultsRoot: URL
    /// Move existing results of a different spec aside first (only the process that owns the
    /// results folder touches it: rank 0 under MPI).
    package var fresh = false
    /// Makes chosen tasks diverge on purpose (a test double; nil in the shipped tool).
    package var faultInjection: FaultInjector?
    /// Called with the rung's index when a rung starts handing out tasks, before the first
    /// one (a test double that holds a run between two rungs; nil in the shipped tool).
    package var rungOpened: (@Sendable (Int) -> Void)?
    /// Stops the run between batches (running tasks checkpoint); also how an environment
    /// failure stops it. Under MPI, on rank 0 it also stops handing out tasks.
    package var stop = StopSignal()
    /// Which recorded tasks run again (`--retry-failed`).
    package var policy = RerunPolicy()
    /// Run a sweep of more than `SweepSpec.taskLimit` tasks.
    package var allowLarge = false

    package init(specPath: String, resultsRoot: URL) {
        self.specPath = specPath
        self.resultsRoot = resultsRoot
    }
}

/// Options that carry `SweepSettings` and read them through as if they were their own
/// members (`options.fresh` is `options.settings.fresh`).
@dynamicMemberLookup
package protocol CarriesSweepSettings {
    var settings: SweepSettings { get set }
}

extension CarriesSweepSettings {
    package subscript<T>(dynamicMember keyPath: WritableKeyPath<SweepSettings, T>) -> T {
        get { settings[keyPath: keyPath] }
        set { settings[keyPath: keyPath] = newValue }
    }
}

/// What `spikesweep sweep` needs to run a sweep in this process: the common settings and how
/// to run it here.
package struct LocalSweepOptions: Sendable, CarriesSweepSettings {
    package var settings: SweepSettings
    /// In-process workers, each training one task at a time on one thread.
    package var workers = 1
    /// Run only this Slurm array element's tasks, into its own shard.
    package var element: (partition: ArrayPartition, index: Int)?
    package var reporter: Reporter = SilentReporter()

    package init(_ settings: SweepSettings) {
        self.settings = settings
    }
}

/// What a local run (or one array element) did.
package struct LocalSweepReport: Sendable {
    package var directory: URL
    package var summary: SweepRunSummary
    /// The leaderboard written at the end (nil for an array element: `collect` writes it).
    package var leaderboard: Leaderboard?
    /// "array element 2 of 3" for an element.
    package var part: String?
    /// The signal that stopped the run early, if one did.
    package var stoppedBy: Int32?
    /// The environment failure that stopped the run early (a write that failed), if one did.
    package var failure: String?
    package var status: SweepExitStatus
}

/// A sweep run by in-process workers: the whole plan into `results/<name>/`, or one Slurm
/// array element's share into its shard.
package enum LocalSweep {
    package static func run(_ o: LocalSweepOptions) throws -> LocalSweepReport {
        let session = try SweepSession(specPath: o.specPath, resultsRoot: o.resultsRoot, reporter: o.reporter, allowLarge: o.allowLarge)
        let store: ResultsStore
        if let element = o.element {
            guard FileManager.default.fileExists(atPath: session.directory.appendingPathComponent("manifest.json").path) else {
                throw ToolError("\(session.directory.path): no manifest.json; array elements write into a folder that "
                    + "`spikesweep slurm submit` (or a plain `spikesweep sweep`) created")
            }
            store = try ResultsStore(directory: session.directory, plan: session.plan, shard: element.index)
        } else {
            store = try session.openStore(fresh: o.fresh)
        }
        let runner = try session.makeRunner(faultInjection: o.faultInjection)
        runner.stopSignal = o.stop
        runner.reporter = o.reporter
        var scope: ((SweepTask) -> Bool)?
        var part: (label: String, tasks: Int)?
        var prefix = "local/"
        if let (partition, i) = o.element {
            prefix = "element \(i)/"
            if session.plan.isHalving {
                // An element runs its share of the rung the results have reached; the next
                // rung is another array job, submitted to start after this rung's collect.
                let progress = session.plan.progress(latest: store.latestOutcomes)
                let mine = Set(partition.share(of: i, in: progress.currentTasks).map(\.id))
                scope = { mine.contains($0.id) }
                part = ("rung \((progress.current ?? session.plan.rungs.count - 1) + 1), array element \(i) of \(partition.size)", mine.count)
            } else {
                scope = { partition.element(of: $0) == i }
                part = ("array element \(i) of \(partition.size)", partition.tasks(of: i, in: session.plan).count)
            }
        }
        let progress = SweepProgress(plan: session.plan, known: store.latestOutcomes, recordings: session.dataset.count,
                                     reporter: o.reporter, part: part)
        runner.epochObserver = { task, metrics in progress.epochFinished(task, epoch: metrics.epoch) }
        o.stop.arm()
        let summary = LocalExecutor(workers: o.workers, workerPrefix: prefix)
            .run(plan: session.plan, store: store, runner: runner, policy: o.policy, progress: progress, scope: scope,
                 advances: o.element == nil, stop: o.stop, rungOpened: o.rungOpened)
        do { try store.finish() } catch { o.stop.fail("\(error)") }
        var board: Leaderboard?
        if o.element == nil, o.stop.failure == nil {
            do { board = try store.writeLeaderboards() } catch { o.stop.fail("\(error)") }
        }
        return LocalSweepReport(directory: session.directory, summary: summary, leaderboard: board, part: part?.label,
                                stoppedBy: o.stop.signal, failure: o.stop.failure,
                                status: .of(plan: session.plan, latest: store.latestOutcomes, scope: scope, stop: o.stop))
    }
}
