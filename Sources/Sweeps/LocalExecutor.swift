import Foundation
import SpikeEvents

/// What a sweep run did.
public struct SweepRunSummary: Sendable {
    public var tasksTotal: Int
    public var tasksRun: Int
    public var tasksSkipped: Int
    public var tasksFailed: Int
    public var seconds: Double
}

/// Runs a sweep's unfinished tasks on N single-threaded workers in this process, recording
/// each outcome in the results store the moment it finishes.
///
/// Workers take tasks longest-expected first (large hidden layers and short windows cost
/// most), which keeps the tail of a sweep short. Results do not depend on the worker count or
/// the order: each task's seed comes from the plan.
public struct LocalExecutor: Sendable {
    public var workers: Int

    public init(workers: Int) {
        self.workers = max(1, workers)
    }

    /// The plan's unfinished tasks in the order workers should take them.
    public static func schedule(_ plan: SweepPlan, skipping finished: Set<String>) -> [SweepTask] {
        plan.tasks.filter { !finished.contains($0.id) }
            .sorted { (plan.expectedCost(of: $0), -$0.index) > (plan.expectedCost(of: $1), -$1.index) }
    }

    public func run(plan: SweepPlan, store: ResultsStore, runner: TaskRunner,
                    progress: SweepProgress? = nil) throws -> SweepRunSummary {
        let started = Date()
        let pending = Self.schedule(plan, skipping: store.finishedTaskIDs)
        let total = plan.tasks.count
        let skipped = total - pending.count
        let state = ExecutorState(pending: pending, alreadyDone: skipped)
        progress?.started(executor: "\(workers) worker\(workers == 1 ? "" : "s")", skipped: skipped)
        let threads = (0..<min(workers, max(1, pending.count))).map { w in
            Thread {
                while let task = state.next() {
                    let outcome = runner.run(task, worker: "local/\(w + 1)")
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
        return SweepRunSummary(tasksTotal: total, tasksRun: pending.count, tasksSkipped: skipped,
                               tasksFailed: state.failedCount, seconds: Date().timeIntervalSince(started))
    }
}

/// The shared queue and counters of one executor run.
final class ExecutorState: @unchecked Sendable {
    private let condition = NSCondition()
    private var pending: [SweepTask]
    private var nextIndex = 0
    private var done: Int
    private(set) var failedCount = 0
    private var exited = 0
    private(set) var error: Error?

    init(pending: [SweepTask], alreadyDone: Int) {
        self.pending = pending
        done = alreadyDone
    }

    func next() -> SweepTask? {
        condition.lock(); defer { condition.unlock() }
        guard error == nil, nextIndex < pending.count else {
            exited += 1
            condition.broadcast()
            return nil
        }
        nextIndex += 1
        return pending[nextIndex - 1]
    }

    func finished(_ outcome: TaskOutcome) -> (done: Int, failed: Int) {
        condition.lock(); defer { condition.unlock() }
        done += 1
        if outcome.status == .failed { failedCount += 1 }
        return (done, failedCount)
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
