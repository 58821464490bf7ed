import Foundation
import Testing
import TestSupport

/// Successive halving through the real binary: the same leaderboard for any number of workers,
/// after `kill -9` in a rung and between rungs, and rungs that continue the very runs a plain
/// sweep trains for max_epochs.
@Suite(.serialized) struct HalvingSweepTests {
    static let halving = TestSpecs.halving
    static let plain = "name: plain\n" + TestSpecs.halvingSpace + "\nepochs: 5\n"
    /// Rungs of 1, 3 and 5 epochs: 9, 3 and 1 configurations, 3 folds each.
    static let taskCount = 39

    func write(_ text: String, _ root: URL, _ name: String) throws -> URL {
        let url = root.appendingPathComponent(name)
        try text.write(to: url, atomically: true, encoding: .utf8)
        return url
    }

    static func checkpoints(_ dir: URL) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: dir.appendingPathComponent("checkpoints").path)) ?? []).sorted()
    }

    @Test func oneAndTwoWorkersGiveOneLeaderboardAndTheLastRungIsThePlainRun() throws {
        let root = try SharedData.makeTemporaryDirectory(); defer { try? FileManager.default.removeItem(at: root) }
        let spec = try write(Self.halving, root, "halving.yaml")
        var dirs: [URL] = []
        for workers in [1, 2] {
            let results = root.appendingPathComponent("w\(workers)")
            let run = try CLIRunner.run(["sweep", spec.path, "--workers", String(workers), "--results", results.path])
            #expect(run.status == 0, "\(run.stderr)")
            #expect(run.stderr.contains("9 → 3 → 1 configurations, 39 tasks") && run.stderr.contains("rung 3 of 3: 1 configuration x 3 folds to 5 epochs from 3"),
                    "\(run.stderr)")
            #expect(!run.stderr.contains("resuming"), "continuing a rung is not a resume: \(run.stderr)")
            let dir = results.appendingPathComponent("halving")
            #expect(ResultFiles.folds(dir).count == Self.taskCount)
            #expect(Self.checkpoints(dir).isEmpty, "\(Self.checkpoints(dir))")
            dirs.append(dir)
        }
        #expect(ResultFiles.folds(dirs[0]) == ResultFiles.folds(dirs[1]))
        #expect(ResultFiles.epochs(dirs[0]) == ResultFiles.epochs(dirs[1]))
        let board = try ResultFiles.leaderboard(dirs[0])
        #expect(board == (try ResultFiles.leaderboard(dirs[1])))
        // rung and epochs columns: 1 configuration at 5 epochs, 2 more at 3, 6 at 1.
        let rungs = board.dropFirst().map { $0.split(separator: ",", omittingEmptySubsequences: false).suffix(2).joined(separator: ",") }
        #expect(rungs == ["3,5", "2,3", "2,3"] + Array(repeating: "1,1", count: 6), "\(board)")
        // epochs.csv holds each epoch once per (configuration, fold): 9·3·1 + 3·3·2 + 1·3·2 rows.
        #expect(ResultFiles.epochs(dirs[0]).count == 27 + 18 + 6)

        // The plain sweep trained for 5 epochs has the same runs: its tasks of the surviving
        // configuration are the last rung's (same ids, same fold accuracies, same epoch rows).
        let plainResults = root.appendingPathComponent("plain")
        let plain = try CLIRunner.run(["sweep", try write(Self.plain, root, "plain.yaml").path, "--workers", "2", "--results", plainResults.path, "--quiet"])
        #expect(plain.status == 0, "\(plain.stderr)")
        let plainDir = plainResults.appendingPathComponent("plain")
        let plainRows = Dictionary(uniqueKeysWithValues: ResultFiles.rows(plainDir.appendingPathComponent("folds.csv")).map { ($0[0], $0) })
        let lastRung = ResultFiles.rows(dirs[0].appendingPathComponent("folds.csv")).filter { plainRows[$0[0]] != nil }
        #expect(lastRung.count == 3)
        for row in lastRung { #expect(Array(row[1...6]) == Array(plainRows[row[0]]![1...6]), "\(row) vs \(plainRows[row[0]]!)") }
        let survivor = lastRung[0][1]
        func epochRows(_ dir: URL) -> [String] {
            ResultFiles.rows(dir.appendingPathComponent("epochs.csv")).filter { $0[1] == survivor }
                .map { $0[2...6].joined(separator: ",") }.sorted()
        }
        #expect(epochRows(dirs[0]) == epochRows(plainDir) && epochRows(plainDir).count == 15)
    }

    /// `kill -9` between two rungs (held there by the test tool once every result of the rung
    /// is recorded) and at random moments inside rungs (spread over the time an uninterrupted
    /// run takes here: 0.55 s on a 2-core Zen 5 machine, where fixed moments of up to 0.6 s
    /// mostly came after the end); each rerun goes on, and the last gives the leaderboard of a
    /// run never killed.
    @Test func killNineBetweenAndInsideRungsThenRerunGivesTheSameLeaderboard() throws {
        let root = try SharedData.makeTemporaryDirectory(); defer { try? FileManager.default.removeItem(at: root) }
        let spec = try write(Self.halving, root, "halving.yaml")
        let started = Date()
        let reference = try CLIRunner.run(["sweep", spec.path, "--workers", "2", "--results", root.appendingPathComponent("ref").path, "--quiet"])
        let duration = Date().timeIntervalSince(started)
        #expect(reference.status == 0, "\(reference.stderr)")
        let referenceDir = root.appendingPathComponent("ref/halving")

        let results = root.appendingPathComponent("killed")
        let dir = results.appendingPathComponent("halving")
        func start(environment: [String: String] = [:]) throws -> Process {
            let process = Process()
            process.executableURL = CLIRunner.testTool
            process.arguments = ["sweep", spec.path, "--workers", "2", "--results", results.path, "--quiet"]
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            return process
        }
        /// With `mayHaveFinished`, a run that ended by itself before the signal landed (it was
        /// past its last task) counts if it succeeded.
        func killNine(_ process: Process, mayHaveFinished: Bool = false) {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            if mayHaveFinished && process.terminationReason == .exit {
                #expect(process.terminationStatus == 0)
                return
            }
            #expect(process.terminationReason == .uncaughtSignal)
        }
        // Between rungs 1 and 2: every rung-1 result is in, the 3 promoted configurations'
        // checkpoints (3 folds each) are kept, the others' are gone, no rung-2 task started.
        let marker = root.appendingPathComponent("rung-1-opened")
        let held = try start(environment: ["SPIKESWEEP_TEST_RUNG_PAUSE": "1:\(marker.path)"])
        let deadline = Date().addingTimeInterval(120)
        while !FileManager.default.fileExists(atPath: marker.path) && held.isRunning && Date() < deadline { usleep(10_000) }
        #expect(FileManager.default.fileExists(atPath: marker.path))
        killNine(held)
        #expect(ResultFiles.folds(dir).count == 27)
        #expect(Self.checkpoints(dir).filter { $0.hasSuffix(".ckpt") }.count == 9, "\(Self.checkpoints(dir))")

        // Inside rungs, at random moments; reruns go on from the results and checkpoints.
        var generator = SystemRandomNumberGenerator()
        var moments: [Double] = []
        for _ in 0..<3 {
            let process = try start()
            let moment = Double.random(in: 0.05...0.9, using: &generator) * duration
            moments.append(moment)
            usleep(UInt32(moment * 1e6))
            killNine(process, mayHaveFinished: true)
        }
        let rerun = try CLIRunner.run(["sweep", spec.path, "--workers", "2", "--results", results.path])
        #expect(rerun.status == 0, "killed after \(moments) s: \(rerun.stderr)")
        #expect(ResultFiles.folds(dir) == ResultFiles.folds(referenceDir), "killed after \(moments) s")
        #expect(ResultFiles.epochs(dir) == ResultFiles.epochs(referenceDir), "killed after \(moments) s")
        #expect(try ResultFiles.leaderboard(dir) == ResultFiles.leaderboard(referenceDir), "killed after \(moments) s")
        #expect(Self.checkpoints(dir).isEmpty)
    }

    /// Hyperband: brackets dealt from the same space; one and two workers agree, and every
    /// configuration that reached max_epochs has the plain sweep's fold accuracies.
    @Test func hyperbandWithOneAndTwoWorkersAgreesAndItsFinalistsAreThePlainRuns() throws {
        let root = try SharedData.makeTemporaryDirectory(); defer { try? FileManager.default.removeItem(at: root) }
        let spec = try write(Self.halving.replacingOccurrences(of: "scheduler: halving", with: "scheduler: hyperband"), root, "hyperband.yaml")
        var dirs: [URL] = []
        for workers in [1, 2] {
            let results = root.appendingPathComponent("w\(workers)")
            let run = try CLIRunner.run(["sweep", spec.path, "--workers", String(workers), "--results", results.path])
            #expect(run.status == 0, "\(run.stderr)")
            #expect(run.stderr.contains("hyperband over 1 → 3 → 5 epochs, eta 3, 3 hyperband brackets"), "\(run.stderr)")
            let dir = results.appendingPathComponent("halving")
            #expect(Self.checkpoints(dir).isEmpty)
            dirs.append(dir)
        }
        #expect(ResultFiles.folds(dirs[0]) == ResultFiles.folds(dirs[1]))
        #expect(try ResultFiles.leaderboard(dirs[0]) == ResultFiles.leaderboard(dirs[1]))
        let plainResults = root.appendingPathComponent("plain")
        let plain = try CLIRunner.run(["sweep", try write(Self.plain, root, "plain.yaml").path, "--workers", "2", "--results", plainResults.path, "--quiet"])
        #expect(plain.status == 0, "\(plain.stderr)")
        let plainRows = Dictionary(uniqueKeysWithValues: ResultFiles.rows(plainResults.appendingPathComponent("plain/folds.csv")).map { ($0[0], $0) })
        let finalists = ResultFiles.rows(dirs[0].appendingPathComponent("folds.csv")).filter { plainRows[$0[0]] != nil }
        let lastRung = try ResultFiles.leaderboard(dirs[0]).dropFirst().filter { $0.hasSuffix(",5") }.count
        #expect(finalists.count == lastRung * 3 && lastRung >= 2, "\(finalists.count) rows at 5 epochs")
        for row in finalists { #expect(Array(row[1...6]) == Array(plainRows[row[0]]![1...6])) }
    }

    /// `resource: data`: one and two workers agree, and the configuration trained on all the
    /// data in the last rung has the plain sweep's fold accuracies.
    @Test func dataResourceWithOneAndTwoWorkersAgreesAndItsLastRungIsThePlainRun() throws {
        let root = try SharedData.makeTemporaryDirectory(); defer { try? FileManager.default.removeItem(at: root) }
        let spec = try write("name: halving\n" + TestSpecs.halvingSpace + "\nepochs: 3\nsearch: {scheduler: halving, resource: data, min_fraction: 0.15}\n",
                             root, "data.yaml")
        var dirs: [URL] = []
        for workers in [1, 2] {
            let results = root.appendingPathComponent("w\(workers)")
            let run = try CLIRunner.run(["sweep", spec.path, "--workers", String(workers), "--results", results.path])
            #expect(run.status == 0, "\(run.stderr)")
            #expect(run.stderr.contains("rung 2 of 3: 3 configurations x 3 folds on 45% of the data, 3 epochs, 9 tasks to run"), "\(run.stderr)")
            dirs.append(results.appendingPathComponent("halving"))
            #expect(Self.checkpoints(dirs.last!).isEmpty)
        }
        #expect(ResultFiles.folds(dirs[0]) == ResultFiles.folds(dirs[1]) && ResultFiles.folds(dirs[0]).count == 39)
        #expect(try ResultFiles.leaderboard(dirs[0]) == ResultFiles.leaderboard(dirs[1]))
        let plainResults = root.appendingPathComponent("plain")
        let plainSpec = try write("name: plain\n" + TestSpecs.halvingSpace + "\nepochs: 3\n", root, "plain.yaml")
        let plain = try CLIRunner.run(["sweep", plainSpec.path, "--workers", "2", "--results", plainResults.path, "--quiet"])
        #expect(plain.status == 0, "\(plain.stderr)")
        let plainRows = Dictionary(uniqueKeysWithValues: ResultFiles.rows(plainResults.appendingPathComponent("plain/folds.csv")).map { ($0[0], $0) })
        let lastRung = ResultFiles.rows(dirs[0].appendingPathComponent("folds.csv")).filter { plainRows[$0[0]] != nil }
        #expect(lastRung.count == 3)
        for row in lastRung { #expect(Array(row[1...6]) == Array(plainRows[row[0]]![1...6])) }
    }
}
