import Foundation
import Testing
import TestSupport

@Suite(.serialized) struct PlanCommandTests {
    @Test func plansASweepFromACalibration() throws {
        let root = try SharedData.makeTemporaryDirectory(); defer { try? FileManager.default.removeItem(at: root) }
        let spec = root.appendingPathComponent("p.yaml")
        try """
            name: p
            data: {synthetic: {count: 200}}
            cv: {folds: 5}
            epochs: 3
            grid: {hidden: [100, 800], window_us: [1000, 2000]}
            """.write(to: spec, atomically: true, encoding: .utf8)
        let calibration = root.appendingPathComponent("cal.json").path
        let result = try CLIRunner.run(["plan", spec.path, "--calibrate", "--calibration", calibration, "--ranks", "1,2,4", "--array-size", "3", "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        let plan = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
        #expect(plan?["tasks"] as? Int == 20)
        let core = try #require(plan?["coreSeconds"] as? Double)
        let shapes = try #require(plan?["shapes"] as? [[String: Any]])
        let walls = shapes.compactMap { $0["wallSeconds"] as? Double }
        #expect(walls.count == 3)
        let cache = try #require(plan?["frameCacheSeconds"] as? Double)
        #expect(cache > 0, "two windows need two frame caches, built before any task")
        #expect(abs(walls[0] - cache - core) < 1e-6 * core, "one worker takes the whole compute after the frame caches")
        #expect(walls[1] < walls[0] && walls[2] < walls[1] && walls[2] >= cache + core / 4)
        #expect((plan?["suggestedTimeLimit"] as? String)?.hasPrefix("0-") == true)
        // The saved calibration is reused, and a larger data set costs proportionally more.
        let bigger = try CLIRunner.run(["plan", spec.path, "--calibration", calibration, "--json", "--ranks", "1"])
        let again = try JSONSerialization.jsonObject(with: Data(bigger.stdout.utf8)) as? [String: Any]
        #expect(again?["coreSeconds"] as? Double == core)
    }

    @Test func missingDataNeedsARecordingCount() throws {
        let root = try SharedData.makeTemporaryDirectory(); defer { try? FileManager.default.removeItem(at: root) }
        let spec = root.appendingPathComponent("t.yaml")
        try "name: t\ndata: {train: \(root.path)/absent.spk}\nepochs: 3\ngrid: {hidden: [100, 200]}\n".write(to: spec, atomically: true, encoding: .utf8)
        let refused = try CLIRunner.run(["plan", spec.path, "--calibration", root.appendingPathComponent("c.json").path])
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("give its size with --recordings N (full N-MNIST training set: 60000)"))
        let planned = try CLIRunner.run(["plan", spec.path, "--calibration", root.appendingPathComponent("c.json").path, "--recordings", "60000"])
        #expect(planned.status == 0, "\(planned.stderr)")
        #expect(planned.stdout.contains("plan t: 10 tasks on 60000 recordings"))
    }
}
