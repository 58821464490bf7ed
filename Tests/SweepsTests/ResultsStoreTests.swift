import Foundation
import SpikeEvents
import SpikeSupport
import Sweeps
import TestSupport
import Testing

@Suite struct ResultsStoreTests {
    let plan = SweepPlan(spec: try! SweepPlanTests.spec(), datasetFingerprint: 7)

    func outcome(_ task: SweepTask, _ accuracy: Double?, seconds: Double = 1) -> TaskOutcome {
        guard let accuracy else { return .failure(task, error: "training diverged, \"badly\"\nat epoch 1", seconds: seconds, worker: "t") }
        return TaskOutcome(taskID: task.id, configID: task.configID, fold: task.fold, status: .ok, validationAccuracy: accuracy,
                           trainAccuracy: 0.5, trainLoss: 1.25, epochs: [EpochRecord(epoch: 1, trainLoss: 1.25, trainAccuracy: 0.5,
                                                                                      validationAccuracy: accuracy, seconds: 0.5)],
                           seconds: seconds, recordingsPerSecond: 100, worker: "t", error: nil)
    }

    @Test func rowsSurviveReopeningAndTheLeaderboardRanksByMean() throws {
        let root = try SharedData.makeTemporaryDirectory(); defer { try? FileManager.default.removeItem(at: root) }
        let dir = root.appendingPathComponent("p")
        do {
            let store = try ResultsStore(directory: dir, plan: plan)
            for (i, task) in plan.tasks.enumerated() where i < 9 {
                try store.record(outcome(task, i == 4 ? nil : 0.1 * Double(task.configIndex + 1) + 0.01 * Double(task.fold)), task: task)
            }
        }
        let store = try ResultsStore(directory: dir, plan: plan)
        #expect(store.finishedTaskIDs == Set(plan.tasks.prefix(9).map(\.id)))
        let failed = store.recordedOutcomes.first { $0.status == .failed }
        #expect(failed?.error == "training diverged, \"badly\" at epoch 1")
        #expect(store.recordedOutcomes.first?.epochs.count == 1)
        let board = try store.writeLeaderboards()
        // Complete configurations first (2, then 0), then config 1, whose fold 1 failed, then 3 (nothing).
        #expect(board.rows.map(\.configID) == [plan.configIDs[2], plan.configIDs[0], plan.configIDs[1], plan.configIDs[3]])
        #expect(abs(board.rows[0].meanAccuracy! - 0.31) < 1e-12)
        #expect(abs(board.rows[2].meanAccuracy! - 0.21) < 1e-12)
        #expect(board.rows[2].foldsDone == 2 && board.rows[2].foldsFailed == 1 && !board.rows[2].isComplete)
        #expect(board.rows[3].meanAccuracy == nil && board.rows[3].foldsDone == 0)
        let csv = try String(contentsOf: dir.appendingPathComponent("leaderboard.csv"), encoding: .utf8)
        #expect(csv.hasPrefix("rank,config_id,mean_accuracy,std_accuracy,min_accuracy,max_accuracy,folds_done,folds_total,folds_failed,mean_train_seconds,beta,hidden"))
        let md = try String(contentsOf: dir.appendingPathComponent("leaderboard.md"), encoding: .utf8)
        #expect(md.contains("| 1 | 31.00% | 0.82 | 0.9 | 16 | 3/3 |"))
    }

    @Test func rowsAreInTheFileAtOnceAndFinishCanBeCalledBetweenRows() throws {
        let root = try SharedData.makeTemporaryDirectory(); defer { try? FileManager.default.removeItem(at: root) }
        let dir = root.appendingPathComponent("p")
        let store = try ResultsStore(directory: dir, plan: plan)
        func rows() throws -> Int {
            try String(contentsOf: dir.appendingPathComponent("folds.csv"), encoding: .utf8).split(separator: "\n").count - 1
        }
        try store.record(outcome(plan.tasks[0], 0.5), task: plan.tasks[0])
        #expect(try rows() == 1, "a row is written before record returns (only its fsync is deferred)")
        try store.finish()
        try store.record(outcome(plan.tasks[1], 0.25), task: plan.tasks[1])
        try store.record(outcome(plan.tasks[2], 0.75), task: plan.tasks[2])
        try store.finish()
        try store.finish()
        #expect(try rows() == 3)
        #expect(store.finishedTaskIDs == Set(plan.tasks.prefix(3).map(\.id)))
        let text = try String(contentsOf: dir.appendingPathComponent("folds.csv"), encoding: .utf8)
        #expect(plan.tasks.prefix(3).allSatisfy { text.contains($0.id) })
    }

    @Test func aPartialLastRowFromACrashIsDropped() throws {
        let root = try SharedData.makeTemporaryDirectory(); defer { try? FileManager.default.removeItem(at: root) }
        let dir = root.appendingPathComponent("p")
        do {
            let store = try ResultsStore(directory: dir, plan: plan)
            try store.record(outcome(plan.tasks[0], 0.5), task: plan.tasks[0])
        }
        let folds = dir.appendingPathComponent("folds.csv")
        let handle = try FileHandle(forWritingTo: folds)
        handle.seekToEndOfFile()
        handle.write(Data("\(plan.tasks[1].id),abc,1,ok,0.9".utf8))  // cut mid-row
        try handle.close()
        let store = try ResultsStore(directory: dir, plan: plan)
        #expect(store.finishedTaskIDs == [plan.tasks[0].id])
        try store.record(outcome(plan.tasks[1], 0.25), task: plan.tasks[1])
        let reread = try ResultsFiles.read(directory: dir)
        #expect(reread.map(\.taskID) == [plan.tasks[0].id, plan.tasks[1].id])
        #expect(reread.map(\.validationAccuracy) == [0.5, 0.25])
    }

    /// Each retry of a task records the attempt after the highest one recorded, also for an
    /// array element whose failed rows `collect` has copied into folds.csv (read twice then).
    @Test func aRetryRecordsTheNextAttemptAlsoAfterCollectCopiedTheFailures() throws {
        let root = try SharedData.makeTemporaryDirectory(); defer { try? FileManager.default.removeItem(at: root) }
        let dir = root.appendingPathComponent("p")
        do { _ = try ResultsStore(directory: dir, plan: plan) }  // manifest and spec
        let task = plan.tasks[0]
        for accuracy in [nil, nil, 0.5] {
            do {
                let shard = try ResultsStore(directory: dir, plan: plan, shard: 0)
                try shard.record(outcome(task, accuracy), task: task)
            }
            _ = try Collector.collect(directory: dir)
        }
        let shardFiles = ResultsFiles.shardFiles(element: 0)
        let shardRows = try ResultsFiles.read(directory: dir, folds: shardFiles.folds, epochs: shardFiles.epochs)
        #expect(shardRows.map(\.attempt) == [1, 2, 3])
        #expect(try ResultsFiles.read(directory: dir).map(\.attempt) == [3])
        // The folder's own files: a local --retry-failed after the merged rows.
        let store = try ResultsStore(directory: dir, plan: plan)
        try store.record(outcome(plan.tasks[1], nil), task: plan.tasks[1])
        try store.record(outcome(plan.tasks[1], 0.25), task: plan.tasks[1])
        #expect(try ResultsFiles.read(directory: dir).map(\.attempt) == [3, 1, 2])
    }

    @Test func aSecondRunOnTheSameFolderIsRefused() throws {
        let root = try SharedData.makeTemporaryDirectory(); defer { try? FileManager.default.removeItem(at: root) }
        let dir = root.appendingPathComponent("p")
        let first = try ResultsStore(directory: dir, plan: plan)
        let error = #expect(throws: ToolError.self) { try ResultsStore(directory: dir, plan: plan) }
        #expect(error?.description.contains("is in use by another spikesweep run (pid \(getpid())") == true)
        _ = first
    }

    @Test func aDifferentSpecUnderTheSameNameIsRefusedUnlessFresh() throws {
        let root = try SharedData.makeTemporaryDirectory(); defer { try? FileManager.default.removeItem(at: root) }
        let dir = root.appendingPathComponent("p")
        do {
            let store = try ResultsStore(directory: dir, plan: plan)
            try store.record(outcome(plan.tasks[0], 0.5), task: plan.tasks[0])
        }
        let other = SweepPlan(spec: try SweepPlanTests.spec(epochs: 5), datasetFingerprint: 7)
        let error = #expect(throws: ToolError.self) { try ResultsStore(directory: dir, plan: other) }
        #expect(error?.description.contains("holds a different spec") == true)
        #expect(error?.description.contains("--fresh") == true)
        let otherData = SweepPlan(spec: try SweepPlanTests.spec(), datasetFingerprint: 8)
        let dataError = #expect(throws: ToolError.self) { try ResultsStore(directory: dir, plan: otherData) }
        #expect(dataError?.description.contains("results for other data") == true)
        let fresh = try ResultsStore(directory: dir, plan: other, fresh: true)
        #expect(fresh.finishedTaskIDs.isEmpty)
        let siblings = try FileManager.default.contentsOfDirectory(atPath: root.path)
        #expect(siblings.contains { $0.hasPrefix("p.replaced-") }, "old results are kept aside: \(siblings)")
    }

    @Test(arguments: [
        ("0.8x4", "line 3, column 5 (val_accuracy): expected a fraction in [0, 1], got '0.8x4'"),
        ("1.5", "line 3, column 5 (val_accuracy): expected a fraction in [0, 1], got '1.5'"),
        ("", "line 3, column 5 (val_accuracy): expected a fraction in [0, 1], got ''"),
    ])
    func malformedValuesAreErrorsNamingLineAndColumn(value: String, message: String) throws {
        let root = try SharedData.makeTemporaryDirectory(); defer { try? FileManager.default.removeItem(at: root) }
        let dir = root.appendingPathComponent("p")
        do {
            let store = try ResultsStore(directory: dir, plan: plan)
            try store.record(outcome(plan.tasks[0], 0.5), task: plan.tasks[0])
            try store.record(outcome(plan.tasks[1], 0.75), task: plan.tasks[1])
        }
        let folds = dir.appendingPathComponent("folds.csv")
        let text = try String(contentsOf: folds, encoding: .utf8)
        var lines = text.split(separator: "\n").map(String.init)
        var fields = lines[2].split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        fields[4] = value
        lines[2] = fields.joined(separator: ",")
        try (lines.joined(separator: "\n") + "\n").write(to: folds, atomically: true, encoding: .utf8)
        let error = #expect(throws: FileError.self) { try ResultsFiles.read(directory: dir) }
        #expect(error?.description == "\(folds.path): \(message)")
    }

    @Test func filesWithoutTheAttemptColumnAreReadAndUpgradedOnWrite() throws {
        let root = try SharedData.makeTemporaryDirectory(); defer { try? FileManager.default.removeItem(at: root) }
        let dir = root.appendingPathComponent("p")
        do {
            let store = try ResultsStore(directory: dir, plan: plan)
            try store.record(outcome(plan.tasks[0], 0.5), task: plan.tasks[0])
        }
        // Rewrite as the version before the attempt column wrote it.
        let folds = dir.appendingPathComponent("folds.csv")
        let legacy = try String(contentsOf: folds, encoding: .utf8).split(separator: "\n")
            .map { $0.split(separator: ",", omittingEmptySubsequences: false).dropLast().joined(separator: ",") }
        try (legacy.joined(separator: "\n") + "\n").write(to: folds, atomically: true, encoding: .utf8)
        #expect(try ResultsFiles.read(directory: dir).map(\.attempt) == [1])
        let store = try ResultsStore(directory: dir, plan: plan)
        try store.record(outcome(plan.tasks[1], 0.25), task: plan.tasks[1])
        let header = try String(contentsOf: folds, encoding: .utf8).split(separator: "\n")[0]
        #expect(header.hasSuffix(",error,attempt"))
        #expect(try ResultsFiles.read(directory: dir).map(\.validationAccuracy) == [0.5, 0.25])
    }
}
