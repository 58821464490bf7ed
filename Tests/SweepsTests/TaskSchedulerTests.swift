import Foundation
import Sweeps
import Testing

@Suite struct TaskSchedulerTests {
    let plan = SweepPlan(spec: try! SweepPlanTests.spec(), datasetFingerprint: 7)

    @Test func handsOutEachTaskOnceLongestFirstAcrossThreads() throws {
        let scheduler = TaskScheduler(plan: plan, skipping: [])
        let lock = NSLock()
        var taken: [SweepTask] = []
        DispatchQueue.concurrentPerform(iterations: 4) { _ in
            while let task = scheduler.next() { lock.lock(); taken.append(task); lock.unlock() }
        }
        #expect(taken.count == plan.tasks.count)
        #expect(Set(taken.map(\.id)) == Set(plan.tasks.map(\.id)))
        // Longest expected first: every H=32 task before any H=16 task, plan order among equals.
        let order = scheduler.pending
        #expect(order.prefix(6).allSatisfy { $0.hyperparameters.hidden == 32 })
        #expect(order.prefix(6).map(\.index) == order.prefix(6).map(\.index).sorted())
        #expect(scheduler.next() == nil)
    }

    @Test func skipsFinishedTasksKeepsToItsScopeAndStopsOnRequest() throws {
        let finished = Set(plan.tasks.prefix(3).map(\.id))
        #expect(TaskScheduler(plan: plan, skipping: finished).count == plan.tasks.count - 3)
        let partition = ArrayPartition(size: 5)
        let scoped = TaskScheduler(plan: plan, skipping: [], scope: { partition.element(of: $0) == 2 })
        #expect(Set(scoped.pending.map(\.index)) == [2, 7])
        let stop = StopSignal()
        let stoppable = TaskScheduler(plan: plan, skipping: [], stop: stop)
        #expect(stoppable.next() != nil)
        stop.request(SIGTERM)
        #expect(stoppable.next() == nil)
    }

    @Test func arrayElementIRunsTheTasksWhoseIndexIsIModN() throws {
        let partition = ArrayPartition(size: 5)
        for element in 0..<5 {
            let tasks = partition.tasks(of: element, in: plan)
            #expect(tasks.map(\.index) == Array(stride(from: element, to: plan.tasks.count, by: 5)))
            #expect(tasks.allSatisfy { partition.element(of: $0) == element })
        }
        #expect(partition.elements(running: [plan.tasks[11], plan.tasks[1], plan.tasks[6]]) == [1])
        #expect(partition.elements(running: [plan.tasks[4], plan.tasks[0], plan.tasks[3]]) == [0, 3, 4])
        #expect(Collector.indexList([0, 1, 2, 3, 7, 9, 10]) == "0-3,7,9-10")
    }
}
