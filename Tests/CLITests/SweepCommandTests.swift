import Foundation
import Testing
import SpikeEvents
import TestSupport

@Suite(.serialized) struct SweepCommandTests {
    static let spec = """
        name: resume
        data: {synthetic: {count: 400, seed: 11}}
        cv: {folds: 2}
        epochs: 3
        seed: 3
        grid: {beta: [0.8, 0.9, 0.95], hidden: [48, 64]}
        fixed: {batch_size: 32}
        """

    static func rows(_ url: URL) -> [[String]] {
        guard let text = try? String(contentsOf: url, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").dropFirst().map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
    }

    /// leaderboard.csv without the timing column (wall time differs between runs).
    static func leaderboardWithoutTimes(_ dir: URL) throws -> [String] {
        let text = try String(contentsOf: dir.appendingPathComponent("leaderboard.csv"), encoding: .utf8)
        return text.split(separator: "\n").map { line in
            var fields = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            fields.remove(at: 9)  // mean_train_seconds
            return fields.joined(separator: ",")
        }
    }

    @Test func killNineMidSweepThenRerunLosesAndDuplicatesNothing() throws {
        let root = try SharedData.makeTemporaryDirectory(); defer { try? FileManager.default.removeItem(at: root) }
        let specURL = root.appendingPathComponent("resume.yaml")
        try Self.spec.write(to: specURL, atomically: true, encoding: .utf8)

        // Uninterrupted reference run.
        let reference = try CLIRunner.run(["sweep", specURL.path, "--workers", "2", "--results", root.appendingPathComponent("a").path, "--quiet"])
        #expect(reference.status == 0, "\(reference.stderr)")
        let referenceDir = root.appendingPathComponent("a/resume")

        // Interrupted run: SIGKILL once two tasks are recorded.
        let results = root.appendingPathComponent("b")
        let process = Process()
        process.executableURL = CLIRunner.executable
        process.arguments = ["sweep", specURL.path, "--workers", "2", "--results", results.path, "--quiet"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let folds = results.appendingPathComponent("resume/folds.csv")
        let deadline = Date().addingTimeInterval(120)
        while Self.rows(folds).count < 2 && Date() < deadline && process.isRunning { usleep(5_000) }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        #expect(process.terminationReason == .uncaughtSignal)
        let before = Self.rows(folds)
        #expect(before.count >= 2 && before.count < 12, "killed with \(before.count) of 12 rows recorded")

        let rerun = try CLIRunner.run(["sweep", specURL.path, "--workers", "2", "--results", results.path])
        #expect(rerun.status == 0, "\(rerun.stderr)")
        #expect(rerun.stderr.contains("\(before.count) of 12 tasks already done"))
        let after = Self.rows(folds)
        #expect(after.count == 12)
        #expect(Set(after.map { $0[0] }).count == 12, "no task recorded twice")
        #expect(Array(after.prefix(before.count)).map { $0[0] } == before.map { $0[0] }, "earlier rows untouched")
        let referenceRows = Self.rows(referenceDir.appendingPathComponent("folds.csv"))
        let accuracy = { (rows: [[String]]) in Dictionary(uniqueKeysWithValues: rows.map { ($0[0], $0[4]) }) }
        #expect(accuracy(after) == accuracy(referenceRows))
        #expect(try Self.leaderboardWithoutTimes(results.appendingPathComponent("resume")) == Self.leaderboardWithoutTimes(referenceDir))
        // No checkpoint is left behind once every task is done.
        let checkpoints = try FileManager.default.contentsOfDirectory(atPath: results.appendingPathComponent("resume/checkpoints").path)
        #expect(checkpoints.isEmpty)
    }

    @Test func leaderboardCommandFormats() throws {
        let root = try SharedData.makeTemporaryDirectory(); defer { try? FileManager.default.removeItem(at: root) }
        let specURL = root.appendingPathComponent("small.yaml")
        try """
            name: small
            data: {synthetic: {count: 100}}
            cv: {folds: 2}
            epochs: 1
            grid: {hidden: [8, 16]}
            fixed: {batch_size: 25}
            """.write(to: specURL, atomically: true, encoding: .utf8)
        let run = try CLIRunner.run(["sweep", specURL.path, "--results", root.path, "--quiet"])
        #expect(run.status == 0, "\(run.stderr)")
        let dir = root.appendingPathComponent("small").path
        let md = try CLIRunner.run(["leaderboard", dir, "--format", "md"])
        #expect(md.stdout.contains("| Rank | Accuracy | ± std | n_hidden | Folds | p vs best |"))
        let json = try CLIRunner.run(["leaderboard", dir, "--format", "json", "--top", "1"])
        let object = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
        #expect((object?["rows"] as? [Any])?.count == 1)
        let csv = try CLIRunner.run(["leaderboard", dir, "--format", "csv"])
        #expect(csv.stdout == (try String(contentsOfFile: dir + "/leaderboard.csv", encoding: .utf8)))
        // Queries: --where keeps ranks, --by averages per value, --compare pairs the folds.
        let rows = ResultFiles.rows(URL(fileURLWithPath: dir + "/leaderboard.csv"))
        let (best, second) = (rows[0][1], rows[1][1])
        let only16 = try CLIRunner.run(["leaderboard", dir, "--where", "hidden >= 12 and beta==0.9"])
        #expect(only16.status == 0 && only16.stdout.split(separator: "\n").count >= 2, "\(only16.stderr)")
        #expect(!only16.stdout.contains(" 8 ") && only16.stdout.contains(" 16 "), "\(only16.stdout)")
        let none = try CLIRunner.run(["leaderboard", dir, "--where", "hidden > 100"])
        #expect(none.status == 0 && !none.stdout.split(separator: "\n").dropFirst().contains { $0.first?.isNumber == true }, "no rows: \(none.stdout)")
        let by = try CLIRunner.run(["leaderboard", dir, "--by", "hidden"])
        #expect(by.stdout.hasPrefix("hidden  configs  mean") && by.stdout.contains("spread of the means: "), "\(by.stdout)")
        let compared = try CLIRunner.run(["leaderboard", dir, "--compare", best, String(second.prefix(6))])
        #expect(compared.status == 0, "\(compared.stderr)")
        #expect(compared.stdout.contains("paired t-test over 2 folds: mean difference +"), "\(compared.stdout)")
        for (arguments, message) in [(["--where", "hiden > 3"], "--where: unknown parameter 'hiden' in 'hiden > 3'"),
                                     (["--where", "hidden ~ 3"], "--where: cannot read 'hidden ~ 3'"),
                                     (["--by", "depth"], "--by: unknown parameter 'depth'"),
                                     (["--compare", best], "--compare takes two configuration ids, got 1"),
                                     (["--compare", best, "zzzz"], "no configuration zzzz in sweep small")] {
            let refused = try CLIRunner.run(["leaderboard", dir] + arguments)
            #expect(refused.status != 0 && refused.stderr.hasPrefix("Error: " + message) && refused.stderr.split(separator: "\n").count == 1,
                    "\(arguments): \(refused.stderr)")
        }
        let missing = try CLIRunner.run(["leaderboard", root.appendingPathComponent("nope").path])
        #expect(missing.status != 0)
        #expect(missing.stderr.contains("not a sweep results folder"))
        let badSpec = root.appendingPathComponent("bad.yaml")
        try "name: x\ndata: {synthetic: {count: 100}}\nepochs: 0\n".write(to: badSpec, atomically: true, encoding: .utf8)
        let bad = try CLIRunner.run(["sweep", badSpec.path, "--results", root.path])
        #expect(bad.status != 0)
        #expect(bad.stderr == "Error: \(badSpec.path): line 3: epochs: must be >= 1, got 0\n")
        #expect(!FileManager.default.fileExists(atPath: root.appendingPathComponent("x").path), "no results folder for a bad spec")
    }
}
