import Foundation
import SpikeSupport
import Sweeps
import TestSupport
import Testing

@Suite struct CollectTests {
    let plan = SweepPlan(spec: try! SweepPlanTests.spec(), datasetFingerprint: 7)

    func outcome(_ task: SweepTask, _ accuracy: Double?) -> TaskOutcome {
        guard let accuracy else { return .failure(task, error: "diverged", seconds: 1, worker: "t") }
        return TaskOutcome(taskID: task.id, configID: task.configID, fold: task.fold, status: .ok, validationAccuracy: accuracy,
                           trainAccuracy: 0.5, trainLoss: 1, epochs: [EpochRecord(epoch: 1, trainLoss: 1, trainAccuracy: 0.5,
                                                                                  validationAccuracy: accuracy, seconds: 0.5)],
                           seconds: 1, recordingsPerSecond: 1, worker: "t", error: nil)
    }

    /// A folder whose tasks were written by three array elements, element 1 twice (a failure, then a retry).
    func makeShards(_ dir: URL, skipping missing: Set<Int> = []) throws {
        do { _ = try ResultsStore(directory: dir, plan: plan) }  // manifest and spec
        let partition = ArrayPartition(size: 3)
        for element in 0..<3 {
            let shard = try ResultsStore(directory: dir, plan: plan, shard: element)
            for task in partition.tasks(of: element, in: plan) where !missing.contains(task.index) {
                if task.index == 4 { try shard.record(outcome(task, nil), task: task) }
                try shard.record(outcome(task, 0.5 + 0.01 * Double(task.index)), task: task)
            }
        }
    }

    @Test func mergesShardsInPlanOrderAndIsIdempotent() throws {
        let root = try SharedData.makeTemporaryDirectory(); defer { try? FileManager.default.removeItem(at: root) }
        let dir = root.appendingPathComponent("p")
        try makeShards(dir)
        let result = try Collector.collect(directory: dir)
        #expect(result.isComplete && result.shards == 3)
        #expect(result.outcomes.map(\.taskID) == plan.tasks.map(\.id))
        #expect(result.outcomes.allSatisfy { $0.status == .ok }, "the retry of task 4 wins over its failure")
        let folds = try String(contentsOf: dir.appendingPathComponent("folds.csv"), encoding: .utf8)
        let epochs = try String(contentsOf: dir.appendingPathComponent("epochs.csv"), encoding: .utf8)
        #expect(ResultFiles.rows(dir.appendingPathComponent("folds.csv")).map { $0[0] } == plan.tasks.map(\.id))
        _ = try Collector.collect(directory: dir)
        #expect(try String(contentsOf: dir.appendingPathComponent("folds.csv"), encoding: .utf8) == folds)
        #expect(try String(contentsOf: dir.appendingPathComponent("epochs.csv"), encoding: .utf8) == epochs)
        #expect(result.leaderboard.rows.allSatisfy { $0.foldsDone == 3 })
    }

    @Test func listsMissingAndFailedTasks() throws {
        let root = try SharedData.makeTemporaryDirectory(); defer { try? FileManager.default.removeItem(at: root) }
        let dir = root.appendingPathComponent("p")
        try makeShards(dir, skipping: [2, 7])
        do {
            let shard = try ResultsStore(directory: dir, plan: plan, shard: 2)
            try shard.record(outcome(plan.tasks[8], nil), task: plan.tasks[8])  // a later failure does not undo an ok row
            // While an element writes, collect is refused.
            let busy = #expect(throws: ToolError.self) { try Collector.collect(directory: dir) }
            #expect(busy?.description.contains("is in use by Slurm array elements") == true)
        }
        let result = try Collector.collect(directory: dir)
        #expect(!result.isComplete)
        #expect(result.missing.map(\.index) == [2, 7])
        #expect(result.failed.isEmpty)
        #expect(ArrayPartition(size: 3).elements(running: result.missing) == [1, 2])
    }

    @Test func refusesRowsOfAnotherPlan() throws {
        let root = try SharedData.makeTemporaryDirectory(); defer { try? FileManager.default.removeItem(at: root) }
        let dir = root.appendingPathComponent("p")
        try makeShards(dir)
        let other = SweepPlan(spec: try SweepPlanTests.spec(seed: 9), datasetFingerprint: 7)
        do {
            let stray = try ResultsStore(directory: dir, plan: plan, shard: 5)
            try stray.record(outcome(other.tasks[0], 0.5), task: other.tasks[0])
        }
        let error = #expect(throws: ToolError.self) { try Collector.collect(directory: dir) }
        #expect(error?.description.contains("is not part of this sweep's plan") == true)
    }
}
