import Foundation
import SpikeSupport

/// What a sweep run did.
package struct SweepRunSummary: Sendable {
    package var tasksTotal: Int
    package var tasksRun: Int
    package var tasksSkipped: Int
    package var tasksFailed: Int
    /// Tasks stopped on a signal with a checkpoint (they resume on the next run).
    package var tasksInterrupted: Int
    package var seconds: Double
}

/// Where an executor records each finished task the moment it finishes: the results folder
/// (`ResultsStore`) or memory (`MemoryResults`, for `train --folds`).
package protocol ResultsSink: AnyObject, Sendable {
    /// Ids of tasks a run need not run again.
    var skippedTaskIDs: Set<String> { get }
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

    package var skippedTaskIDs: Set<String> {
        lock.lock(); defer { lock.unlock() }
        return Set(outcomes.map(\.taskID))
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
/// each outcome the moment it finishes. Workers take tasks from a `TaskScheduler`.
package struct LocalExecutor: Sendable {
    package var workers: Int
    /// Names workers in the results ("local/1", "element 3/1", …).
    package var workerPrefix: String

    package init(workers: Int, workerPrefix: String = "local/") {
        self.workers = max(1, workers)
        self.workerPrefix = workerPrefix
    }

    /// Runs the unfinished tasks (of those `scope` keeps, e.g. one array element's).
    /// Once `stop` is requested no new task starts; running tasks return `interrupted`
    /// outcomes, which are not recorded.
    package func run(plan: SweepPlan, store: ResultsSink, runner: TaskRunner, progress: SweepProgress? = nil,
                     scope: ((SweepTask) -> Bool)? = nil, stop: StopSignal? = nil) throws -> SweepRunSummary {
        let started = Date()
        let total = scope.map { plan.tasks.filter($0).count } ?? plan.tasks.count
        let scheduler = TaskScheduler(plan: plan, skipping: store.skippedTaskIDs, scope: scope, stop: stop)
        let skipped = total - scheduler.count
        let state = ExecutorState(scheduler: scheduler, alreadyDone: skipped)
        progress?.started(executor: Format.count(workers, "worker"), skipped: skipped)
        let threads = (0..<min(workers, max(1, scheduler.count))).map { w in
            Thread {
                while let task = state.next() {
                    let outcome = runner.run(task, worker: "\(workerPrefix)\(w + 1)")
                    if outcome.status == .interrupted {
                        state.interrupted()
                        continue
                    }
                    do {
                        try store.record(outcome, task: task)
                    } catch {
                        state.fail(error)
                        return
                    }
                    let (done, failed) = state.finished(outcome)
                    progress?.taskFinished(done: done, failed: failed)
                }
            }
        }
        for t in threads { t.stackSize = 8 << 20; t.start() }
        state.waitUntilIdle(workerCount: threads.count)
        if let error = state.error { throw error }
        return SweepRunSummary(tasksTotal: total, tasksRun: state.recordedCount, tasksSkipped: skipped,
                               tasksFailed: state.failedCount, tasksInterrupted: state.interruptedCount,
                               seconds: Date().timeIntervalSince(started))
    }
}

/// The counters of one executor run, and the first error that stops it.
final class ExecutorState: @unchecked Sendable {
    private let condition = NSCondition()
    private let scheduler: TaskScheduler
    private var done: Int
    private(set) var failedCount = 0
    private(set) var recordedCount = 0
    private(set) var interruptedCount = 0
    private var exited = 0
    private(set) var error: Error?

    init(scheduler: TaskScheduler, alreadyDone: Int) {
        self.scheduler = scheduler
        done = alreadyDone
    }

    /// The next task for a worker, or nil (then the worker exits).
    func next() -> SweepTask? {
        condition.lock(); defer { condition.unlock() }
        if error == nil, let task = scheduler.next() { return task }
        exited += 1
        condition.broadcast()
        return nil
    }

    func finished(_ outcome: TaskOutcome) -> (done: Int, failed: Int) {
        condition.lock(); defer { condition.unlock() }
        done += 1
        recordedCount += 1
        if outcome.status == .failed { failedCount += 1 }
        return (done, failedCount)
    }

    func interrupted() {
        condition.lock(); defer { condition.unlock() }
        interruptedCount += 1
    }

    func fail(_ e: Error) {
        condition.lock(); defer { condition.unlock() }
        if error == nil { error = e }
        exited += 1
        condition.broadcast()
    }

    func waitUntilIdle(workerCount: Int) {
        condition.lock(); defer { condition.unlock() }
        while exited < workerCount { condition.wait() }
    }
}
