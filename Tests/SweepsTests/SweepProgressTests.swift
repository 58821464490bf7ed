import Foundation
import SpikeSupport
import Sweeps
import Testing

/// The progress lines: "best" is the best complete configuration and never goes down, and
/// while long tasks run a line still comes every heartbeat.
@Suite struct SweepProgressTests {
    final class Recorder: Reporter, @unchecked Sendable {
        let lock = NSLock()
        var lines: [String] = []
        func note(_ line: String) { lock.withLock { lines.append(line) } }
        func warn(_ line: String) { lock.withLock { lines.append(line) } }
        func progress(_ label: String, done: Int, total: Int, unit: String, detail: String) {
            lock.withLock { lines.append("\(done)/\(total) \(detail)") }
        }
        var snapshot: [String] { lock.withLock { lines } }
    }

    let plan = SweepPlan(spec: try! SweepPlanTests.spec(), datasetFingerprint: 7)

    func ok(_ task: SweepTask, _ accuracy: Double) -> TaskOutcome {
        TaskOutcome(taskID: task.id, configID: task.configID, fold: task.fold, status: .ok, validationAccuracy: accuracy,
                    trainAccuracy: 0.5, trainLoss: 1, epochs: [], seconds: 1, recordingsPerSecond: 1, worker: "t", error: nil)
    }

    @Test func bestIsTheBestCompleteConfigurationAndNeverGoesDown() throws {
        let recorder = Recorder()
        let progress = SweepProgress(plan: plan, known: [:], recordings: 100, reporter: recorder)
        progress.started(executor: "test", skipped: 0, heartbeat: 3600)
        // Config 1 gets one excellent fold (partial), then config 0 completes at 0.5.
        progress.taskFinished(ok(plan.tasks[3], 0.9), task: plan.tasks[3])
        for task in plan.tasks.prefix(3) {
            Thread.sleep(forTimeInterval: 0.11)
            progress.taskFinished(ok(task, 0.5), task: task)
        }
        let lines = recorder.snapshot.filter { $0.contains("/12 ") }
        #expect(lines.first?.contains("best so far 0.9000 (b0.8 H32, partial: 1/3 folds)") == true, "\(lines)")
        #expect(lines.last?.contains("best 0.5000 (b0.8 H16)") == true, "\(lines)")
        // Config 1 completes lower than it started: the best complete one is now config 1 at 0.6.
        for (task, accuracy) in zip(plan.tasks[4..<6], [0.45, 0.45]) {
            Thread.sleep(forTimeInterval: 0.11)
            progress.taskFinished(ok(task, accuracy), task: task)
        }
        #expect(recorder.snapshot.last?.contains("best 0.6000 (b0.8 H32)") == true, "\(recorder.snapshot)")
        progress.finished()
    }

    @Test func aHeartbeatShowsRunningTasksBetweenResults() throws {
        let recorder = Recorder()
        let progress = SweepProgress(plan: plan, known: [:], recordings: 100, reporter: recorder)
        progress.started(executor: "test", skipped: 0, heartbeat: 0.2)
        progress.epochFinished(plan.tasks[0], epoch: 1)
        let deadline = Date().addingTimeInterval(10)
        while recorder.snapshot.filter({ $0.hasPrefix("0/12 ") }).count < 2 && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        progress.finished()
        let beats = recorder.snapshot.filter { $0.hasPrefix("0/12 ") }
        #expect(beats.count >= 2, "\(recorder.snapshot)")
        #expect(beats.allSatisfy { $0.contains("running: epochs done 1/2") }, "\(beats)")
    }
}
