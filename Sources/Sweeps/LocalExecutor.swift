import Foundation
import SpikeSupport

/// What a sweep run did.
package struct SweepRunSummary: Sendable, Codable {
    package var tasksTotal: Int
    package var tasksRun: Int
    package var tasksSkipped: Int
    package var tasksFailed: Int
    /// Tasks stopped on a signal with a checkpoint (they resume on the next run).
    package var tasksInterrupted: Int
    /// Tasks the environment kept from finishing (they run again on the next run).
    package var tasksUnfinished: Int
    /// From the first task handed out to the last one recorded.
    package var seconds: Double
}

/// Where an executor records each finished task the moment it finishes: the results folder
/// (`ResultsStore`) or memory (`MemoryResults`, for `train --folds`).
package protocol ResultsSink: AnyObject, Sendable {
    /// The outcome that counts for each task recorded so far (`Leaderboard.latestOutcomes`).
    var latestOutcomes: [String: TaskOutcome] { get }
    func record(_ outcome: TaskOutcome, task: SweepTask) throws
    /// The leaderboard of what is recorded so far.
    var leaderboard: Leaderboard { get }
}

/// Outcomes kept in memory.
package final class MemoryResults: ResultsSink, @unchecked Sendable {
    private let lock = NSLock()
    package let plan: SweepPlan
    private var outcomes: [TaskOutcome] = []

    package init(plan: SweepPlan) { self.plan = plan }

    package var latestOutcomes: [String: TaskOutcome] {
        lock.lock(); defer { lock.unlock() }
        return Leaderboard.latestOutcomes(outcomes)
    }

    package func record(_ outcome: TaskOutcome, task: SweepTask) throws {
        lock.lock(); defer { lock.unlock() }
        outcomes.append(outcome)
    }

    package var recordedOutcomes: [TaskOutcome] {
        lock.lock(); defer { lock.unlock() }
        return outcomes
    }

    package var leaderboard: Leaderboard { Leaderboard(plan: plan, outcomes: recordedOutcomes) }
}

/// Runs a sweep's unfinished tasks on N single-threaded workers in this process, recording
/// each outcome the moment it finishes. Workers take tasks from a `RungScheduler`.
package struct LocalExecutor: Sendable {
    package var workers: Int
    /// Names workers in the results ("local/1", "element 3/1", …).
    package var workerPrefix: String

    package init(workers: Int, workerPrefix: String = "local/") {
        self.workers = max(1, workers)
        self.workerPrefix = workerPrefix
    }

    /// Runs the tasks of `plan` that `policy` does not skip (of those `scope` keeps, e.g. one
    /// array element's), rung by rung (`RungScheduler`; `advances` false runs the current rung
    /// only). Once `stop` is requested no new task starts; running tasks return `interrupted`
    /// outcomes, which are not recorded. An environment failure (a task that could not write
    /// its checkpoint, a result that could not be recorded) is not recorded either: it stops
    /// the run through `stop` (`StopSignal.failure` says why).
    package func run(plan: SweepPlan, store: ResultsSink, runner: TaskRunner, policy: RerunPolicy = RerunPolicy(),
                     progress: SweepProgress? = nil, scope: ((SweepTask) -> Bool)? = nil, advances: Bool = true,
                     stop: StopSignal = StopSignal(), rungOpened: (@Sendable (Int) -> Void)? = nil) -> SweepRunSummary {
        let started = Date()
        let scheduler = RungScheduler(plan: plan, results: store, policy: policy, scope: scope, advances: advances, stop: stop,
                                      keepCheckpoints: { runner.keepCheckpoints(of: $0) },
                                      onRung: { state, rung, count in
                                          progress?.rungStarted(state, rung: rung, tasks: count)
                                          rungOpened?(rung)
                                      })
        let counts = ExecutorCounts()
        progress?.started(executor: Format.count(workers, "worker"), skipped: scheduler.alreadyDone)
        let group = DispatchGroup()
        for w in 0..<min(workers, max(1, scheduler.total - scheduler.alreadyDone)) {
            let thread = Thread {
                defer { group.leave() }
                while let task = scheduler.next() {
                    defer { scheduler.returned(task) }
                    let outcome = runner.run(task, worker: "\(workerPrefix)\(w + 1)")
                    switch outcome.status {
                    case .interrupted:
                        counts.add(\.interrupted)
                    case .unfinished:
                        counts.add(\.unfinished)
                        stop.fail("task \(task.id): \(outcome.error ?? "did not finish")")
                    case .ok, .failed:
                        do {
                            try store.record(outcome, task: task)
                        } catch {
                            counts.add(\.unfinished)
                            stop.fail("\(error)")
                            continue
                        }
                        runner.recorded(task)
                        counts.add(outcome.status == .failed ? \.failed : \.recorded)
                        progress?.taskFinished(outcome, task: task)
                    }
                }
            }
            thread.stackSize = 8 << 20
            group.enter()
            thread.start()
        }
        group.wait()
        progress?.finished()
        let c = counts.snapshot
        return SweepRunSummary(tasksTotal: scheduler.total, tasksRun: c.recorded + c.failed, tasksSkipped: scheduler.alreadyDone,
                               tasksFailed: c.failed, tasksInterrupted: c.interrupted, tasksUnfinished: c.unfinished,
                               seconds: Date().timeIntervalSince(started))
    }
}

/// What the workers of one executor run did.
final class ExecutorCounts: @unchecked Sendable {
    struct Snapshot { var recorded = 0, failed = 0, interrupted = 0, unfinished = 0 }
    private let lock = NSLock()
    private var counts = Snapshot()

    func add(_ field: WritableKeyPath<Snapshot, Int>) {
        lock.lock(); defer { lock.unlock() }
        counts[keyPath: field] += 1
    }

    var snapshot: Snapshot {
        lock.lock(); defer { lock.unlock() }
        return counts
    }
}
