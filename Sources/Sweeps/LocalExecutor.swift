import Foundation
import SpikeEvents

/// What a sweep run did.
public struct SweepRunSummary: Sendable {
    public var tasksTotal: Int
    public var tasksRun: Int
    public var tasksSkipped: Int
    public var tasksFailed: Int
    /// Tasks stopped on a signal with a checkpoint (they resume on the next run).
    public var tasksInterrupted: Int
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
    /// Names workers in the results ("local/1", "element 3/1", …).
    public var workerPrefix: String

    public init(workers: Int, workerPrefix: String = "local/") {
        self.workers = max(1, workers)
        self.workerPrefix = workerPrefix
    }

    /// The plan's unfinished tasks in the order workers should take them.
    public static func schedule(_ plan: SweepPlan, skipping finished: Set<String>) -> [SweepTask] {
        plan.tasks.filter { !finished.contains($0.id) }
            .sorted { (plan.expectedCost(of: $0), -$0.index) > (plan.expectedCost(of: $1), -$1.index) }
    }

    /// Runs the unfinished tasks (of those `selected` keeps, e.g. one array element's).
    /// Once `stop` is requested no new task starts; running tasks return `interrupted`
    /// outcomes, which are not recorded.
    public func run(plan: SweepPlan, store: ResultsStore, runner: TaskRunner, progress: SweepProgress? = nil,
                    selected: ((SweepTask) -> Bool)? = nil, stop: StopSignal? = nil) throws -> SweepRunSummary {
        let started = Date()
        let scope = plan.tasks.filter { selected?($0) ?? true }
        let scopeIDs = Set(scope.map(\.id))
        let pending = Self.schedule(plan, skipping: store.skippedTaskIDs).filter { scopeIDs.contains($0.id) }
        let total = scope.count
        let skipped = total - pending.count
        let state = ExecutorState(pending: pending, alreadyDone: skipped, stop: stop)
        progress?.started(executor: "\(workers) worker\(workers == 1 ? "" : "s")", skipped: skipped)
        let threads = (0..<min(workers, max(1, pending.count))).map { w in
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

/// The shared queue and counters of one executor run.
final class ExecutorState: @unchecked Sendable {
    private let condition = NSCondition()
    private var pending: [SweepTask]
    private var nextIndex = 0
    private var done: Int
    private let stop: StopSignal?
    private(set) var failedCount = 0
    private(set) var recordedCount = 0
    private(set) var interruptedCount = 0
    private var exited = 0
    private(set) var error: Error?

    init(pending: [SweepTask], alreadyDone: Int, stop: StopSignal? = nil) {
        self.pending = pending
        done = alreadyDone
        self.stop = stop
    }

    func next() -> SweepTask? {
        condition.lock(); defer { condition.unlock() }
        guard error == nil, nextIndex < pending.count, !(stop?.isRequested ?? false) else {
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
