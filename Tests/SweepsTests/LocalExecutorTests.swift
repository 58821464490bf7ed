import Foundation
import Testing
import SpikeEvents
import Sweeps
import TestSupport

@Suite(.serialized) struct LocalExecutorTests {
    static let specText = """
        name: exec
        data: {synthetic: {count: 200, seed: 3}}
        cv: {folds: 2}
        epochs: 3
        seed: 5
        grid: {beta: [0.8, 0.95], hidden: [16, 32]}
        fixed: {batch_size: 16, lr: 1.0e-2}
        """

    func run(workers: Int, failing: Set<String> = []) throws -> (SweepPlan, [TaskOutcome]) {
        let root = try SharedData.makeTemporaryDirectory(); defer { try? FileManager.default.removeItem(at: root) }
        let spec = try SweepSpec.parse(Self.specText, file: "exec.yaml")
        let dataset = try SweepSession.loadData(spec.data)
        let plan = SweepPlan(spec: spec, datasetFingerprint: PreparedFile.fingerprint(of: dataset))
        let store = try ResultsStore(directory: root.appendingPathComponent("exec"), plan: plan)
        let runner = try EngineTaskRunner(dataset: dataset, spec: spec, checkpointDirectory: nil,
                                          faultInjection: { failing.contains($0.configID) ? .nonFiniteLoss(epoch: 1, batch: 1) : nil })
        let summary = LocalExecutor(workers: workers).run(plan: plan, store: store, runner: runner)
        #expect(summary.tasksRun == plan.tasks.count)
        return (plan, try ResultsFiles.read(directory: store.directory))
    }

    @Test func oneAndTwoWorkersGiveIdenticalFoldAccuracies() throws {
        let (plan, one) = try run(workers: 1)
        let (_, two) = try run(workers: 2)
        func byTask(_ o: [TaskOutcome]) -> [String: [Double?]] {
            Dictionary(uniqueKeysWithValues: o.map { ($0.taskID, [$0.validationAccuracy, $0.trainAccuracy, $0.trainLoss]) })
        }
        #expect(one.count == plan.tasks.count)
        #expect(byTask(one) == byTask(two))
        #expect(one.allSatisfy { $0.status == .ok })
        // Learning happened: the best configuration beats chance clearly.
        #expect(Leaderboard(plan: plan, outcomes: one).rows[0].meanAccuracy! > 0.3)
    }

    @Test func aFailingTaskIsRecordedAndTheOthersFinish() throws {
        let spec = try SweepSpec.parse(Self.specText, file: "exec.yaml")
        let failing = SweepPlan(spec: spec, datasetFingerprint: 0).configIDs[1]
        let (plan, outcomes) = try run(workers: 2, failing: [failing])
        let failed = outcomes.filter { $0.status == .failed }
        #expect(failed.count == spec.folds)
        #expect(failed.allSatisfy { $0.configID == failing && $0.error?.contains("diverged") == true })
        #expect(outcomes.filter { $0.status == .ok }.count == plan.tasks.count - spec.folds)
    }

    @Test func finishedTasksLeaveNoCheckpointsNorTemporaryFilesOfKilledWriters() throws {
        let root = try SharedData.makeTemporaryDirectory(); defer { try? FileManager.default.removeItem(at: root) }
        let spec = try SweepSpec.parse(Self.specText, file: "exec.yaml")
        let dataset = try SweepSession.loadData(spec.data)
        let plan = SweepPlan(spec: spec, datasetFingerprint: PreparedFile.fingerprint(of: dataset))
        let checkpoints = root.appendingPathComponent("checkpoints")
        let runner = try EngineTaskRunner(dataset: dataset, spec: spec, checkpointDirectory: checkpoints)
        // What a writer killed mid-checkpoint leaves behind.
        try Data([1, 2, 3]).write(to: checkpoints.appendingPathComponent(".\(plan.tasks[0].id).ckpt.tmp"))
        let outcome = runner.run(plan.tasks[0], worker: "t")
        #expect(outcome.status == .ok)
        // The checkpoint stays until the result is recorded (a failed write must not lose it).
        #expect(FileManager.default.fileExists(atPath: checkpoints.appendingPathComponent("\(plan.tasks[0].id).ckpt").path))
        runner.recorded(plan.tasks[0])
        #expect(try FileManager.default.contentsOfDirectory(atPath: checkpoints.path).isEmpty)
    }
}
