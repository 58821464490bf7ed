import Foundation

/// The unfinished tasks of a sweep, handed out one at a time to whoever asks: local worker
/// threads, or MPI ranks through rank 0. Safe to call from several threads.
///
/// This is the one scheduling rule of SpikeSweep: longest expected first (large hidden layers
/// and short windows cost most), which keeps the tail of a sweep short. Results never depend
/// on it: each task's seed comes from the plan.
package final class TaskScheduler: @unchecked Sendable {
    private let lock = NSLock()
    private let tasks: [SweepTask]
    private var nextIndex = 0
    private let stop: StopSignal?

    /// - Parameters:
    ///   - finished: ids of tasks that need not run again.
    ///   - scope: the tasks this run covers (e.g. one array element's), all when nil.
    ///   - stop: once requested, no task is handed out any more.
    package convenience init(plan: SweepPlan, skipping finished: Set<String>, scope: ((SweepTask) -> Bool)? = nil, stop: StopSignal? = nil) {
        self.init(tasks: plan.tasks.filter { !finished.contains($0.id) && (scope?($0) ?? true) }, in: plan, stop: stop)
    }

    /// Hands out `tasks` (of `plan`).
    package init(tasks: [SweepTask], in plan: SweepPlan, stop: StopSignal? = nil) {
        self.tasks = Self.order(tasks, in: plan)
        self.stop = stop
    }

    /// `tasks` in the order they are handed out: expected cost descending, then plan order.
    package static func order(_ tasks: [SweepTask], in plan: SweepPlan) -> [SweepTask] {
        tasks.sorted { (plan.expectedCost(of: $0), -$0.index) > (plan.expectedCost(of: $1), -$1.index) }
    }

    /// Tasks to run when the scheduler was made.
    package var count: Int { tasks.count }

    /// Every task it holds, in hand-out order.
    package var pending: [SweepTask] { tasks }

    /// The next task, or nil when none is left or a stop was requested.
    package func next() -> SweepTask? {
        lock.lock(); defer { lock.unlock() }
        guard nextIndex < tasks.count, !(stop?.isRequested ?? false) else { return nil }
        nextIndex += 1
        return tasks[nextIndex - 1]
    }
}

/// How a sweep is split over Slurm array elements: element i of N runs the tasks whose plan
/// index is i mod N. The one place this rule is written.
package struct ArrayPartition: Sendable, Equatable {
    /// Number of elements, N ≥ 1.
    package let size: Int

    package init(size: Int) {
        precondition(size >= 1, "an array has at least one element")
        self.size = size
    }

    /// The element that runs `task`.
    package func element(of task: SweepTask) -> Int { task.index % size }

    /// The tasks of `element`, in plan order.
    package func tasks(of element: Int, in plan: SweepPlan) -> [SweepTask] {
        stride(from: element, to: plan.tasks.count, by: size).map { plan.tasks[$0] }
    }

    /// Element `element`'s share of a list of tasks (a halving rung's): positions ≡ element (mod N).
    package func share(of element: Int, in tasks: [SweepTask]) -> [SweepTask] {
        stride(from: element, to: tasks.count, by: size).map { tasks[$0] }
    }

    /// The elements that run any of `tasks`, ascending.
    package func elements(running tasks: [SweepTask]) -> [Int] {
        Array(Set(tasks.map(element(of:)))).sorted()
    }
}
