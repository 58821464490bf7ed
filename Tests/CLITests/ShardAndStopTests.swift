import Foundation
import Testing
import TestSupport

/// Array elements, `collect` and clean stops on a signal, run as plain processes (the Slurm
/// suite runs the same commands inside real jobs).
@Suite(.serialized) struct ShardAndStopTests {
    static let spec = """
        name: shards
        data: {synthetic: {count: 400, seed: 11}}
        cv: {folds: 2}
        epochs: 2
        seed: 3
        grid: {beta: [0.8, 0.9, 0.95], hidden: [48, 64]}
        fixed: {batch_size: 32}
        """

    @Test func elementsPlusCollectEqualOnePlainSweep() throws {
        let root = try SharedData.makeTemporaryDirectory(); defer { try? FileManager.default.removeItem(at: root) }
        let specURL = root.appendingPathComponent("shards.yaml")
        try Self.spec.write(to: specURL, atomically: true, encoding: .utf8)
        let plain = try CLIRunner.run(["sweep", specURL.path, "--results", root.appendingPathComponent("plain").path, "--quiet"])
        #expect(plain.status == 0, "\(plain.stderr)")

        let results = root.appendingPathComponent("split")
        let dir = results.appendingPathComponent("shards")
        // An element needs the folder a submit (or plain sweep) created.
        let early = try CLIRunner.run(["sweep", specURL.path, "--results", results.path, "--array-size", "3", "--array-element", "0"])
        #expect(early.status != 0 && early.stderr.contains("no manifest.json"), "\(early.stderr)")
        let dry = try CLIRunner.run(["slurm", "submit", specURL.path, "--results", results.path, "--dry-run", "--profile", "local"])
        #expect(dry.status == 0, "\(dry.stderr)")

        for element in [0, 2] {
            let run = try CLIRunner.run(["sweep", specURL.path, "--results", results.path, "--array-size", "3",
                                         "--array-element", String(element), "--quiet"])
            #expect(run.status == 0 && run.stdout.contains("array element \(element) of 3: 4 tasks run"), "\(run.stdout)\(run.stderr)")
        }
        // Element 1 never ran: collect lists exactly its 4 tasks and exits 3.
        let partial = try CLIRunner.run(["collect", dir.path])
        #expect(partial.status == 3, "\(partial.stderr)")
        #expect(partial.stdout.contains("collected 8 of 12 tasks from 2 shards"), "\(partial.stdout)")
        let listed = partial.stdout.split(separator: "\n").filter { $0.hasPrefix("  ") }
        let indices = listed.compactMap { $0.split(separator: " ").dropFirst(2).first.flatMap { Int($0.dropLast()) } }
        #expect(indices == [1, 4, 7, 10], "\(partial.stdout)")
        // No jobs were submitted (a dry run), so the hint is the plain command for the rest.
        #expect(partial.stdout.contains("run them: ") && partial.stdout.contains(" sweep \(dir.path)/spec.yaml --results \(results.path)"),
                "\(partial.stdout)")
        #expect(ResultFiles.rows(dir.appendingPathComponent("folds.csv")).count == 8)

        let rest = try CLIRunner.run(["sweep", specURL.path, "--results", results.path, "--array-size", "3", "--array-element", "1", "--quiet"])
        #expect(rest.status == 0, "\(rest.stderr)")
        // Re-running a finished element does nothing.
        let again = try CLIRunner.run(["sweep", specURL.path, "--results", results.path, "--array-size", "3", "--array-element", "1", "--quiet"])
        #expect(again.stdout.contains("0 tasks run (4 already done"), "\(again.stdout)")
        let full = try CLIRunner.run(["collect", dir.path])
        #expect(full.status == 0 && full.stdout.contains("collected 12 of 12 tasks from 3 shards"), "\(full.stdout)\(full.stderr)")
        let reference = root.appendingPathComponent("plain/shards")
        #expect(ResultFiles.folds(dir) == ResultFiles.folds(reference))
        #expect(ResultFiles.epochs(dir) == ResultFiles.epochs(reference))
        #expect(try ResultFiles.leaderboard(dir) == ResultFiles.leaderboard(reference))
        // Collecting twice gives the same files.
        let before = try String(contentsOf: dir.appendingPathComponent("folds.csv"), encoding: .utf8)
        _ = try CLIRunner.run(["collect", dir.path, "--quiet"])
        #expect(try String(contentsOf: dir.appendingPathComponent("folds.csv"), encoding: .utf8) == before)
    }

    @Test func badArrayOptionsAreOneLineErrors() throws {
        let cases: [([String], String)] = [
            (["--array-size", "3"], "--array-size and --array-element go together"),
            (["--array-size", "3", "--array-element", "3"], "--array-element must be in 0..<3"),
            (["--array-size", "0", "--array-element", "0"], "--array-size must be >= 1"),
            (["--array-size", "2", "--array-element", "0", "--fresh"], "--fresh cannot be used by an array element"),
        ]
        for (args, message) in cases {
            let run = try CLIRunner.run(["sweep", "whatever.yaml"] + args)
            #expect(run.status != 0 && run.stderr.contains(message), "\(args): \(run.stderr)")
        }
        let missing = try CLIRunner.run(["collect", "/nonexistent/results/x"])
        #expect(missing.status != 0 && missing.stderr.contains("not a sweep results folder"), "\(missing.stderr)")
        let noSubmission = try CLIRunner.run(["slurm", "resubmit", "/nonexistent/results/x"])
        #expect(noSubmission.status != 0 && noSubmission.stderr.contains("no Slurm submission recorded"), "\(noSubmission.stderr)")
        let badProfile = try CLIRunner.run(["slurm", "submit", "x.yaml", "--profile", "nowhere.env"])
        #expect(badProfile.status != 0 && badProfile.stderr.contains("nowhere.env: cannot read the profile"), "\(badProfile.stderr)")
        let badTime = try CLIRunner.run(["slurm", "submit", "x.yaml", "--time", "soon"])
        #expect(badTime.status != 0 && badTime.stderr.contains("--time must be a Slurm time"), "\(badTime.stderr)")
    }

    /// SIGUSR1 (what Slurm sends ahead of a time limit) stops a sweep with status 75 after its
    /// running tasks checkpoint mid-epoch; the rerun resumes them and ends with exactly the
    /// results of an uninterrupted run.
    @Test func usr1StopsWithACheckpointAndTheRerunMatchesAnUninterruptedRun() throws {
        let root = try SharedData.makeTemporaryDirectory(); defer { try? FileManager.default.removeItem(at: root) }
        let spec = """
            name: stop
            data: {synthetic: {count: 600, seed: 5}}
            cv: {folds: 2}
            epochs: 6
            seed: 2
            grid: {hidden: [256, 320]}
            fixed: {window_us: 1000, batch_size: 16}
            """
        let specURL = root.appendingPathComponent("stop.yaml")
        try spec.write(to: specURL, atomically: true, encoding: .utf8)
        let reference = try CLIRunner.run(["sweep", specURL.path, "--results", root.appendingPathComponent("a").path, "--quiet"])
        #expect(reference.status == 0, "\(reference.stderr)")

        let results = root.appendingPathComponent("b")
        let process = Process()
        process.executableURL = CLIRunner.executable
        process.arguments = ["sweep", specURL.path, "--results", results.path, "--workers", "2", "--quiet"]
        let err = Pipe()
        process.standardOutput = FileHandle.nullDevice
        process.standardError = err
        try process.run()
        ResultFiles.waitForCheckpoint(in: results.appendingPathComponent("stop"), while: { process.isRunning })
        kill(process.processIdentifier, SIGUSR1)
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 75, "\(stderr)")
        #expect(stderr.contains("stopped on SIGUSR1") && stderr.contains("checkpoint saved"), "\(stderr)")
        #expect(ResultFiles.rows(results.appendingPathComponent("stop/folds.csv")).count < 4)

        let rerun = try CLIRunner.run(["sweep", specURL.path, "--results", results.path, "--workers", "2"])
        #expect(rerun.status == 0, "\(rerun.stderr)")
        #expect(rerun.stderr.contains("resuming from its checkpoint at epoch"), "\(rerun.stderr)")
        let a = root.appendingPathComponent("a/stop"), b = results.appendingPathComponent("stop")
        #expect(ResultFiles.folds(b) == ResultFiles.folds(a))
        #expect(ResultFiles.epochs(b) == ResultFiles.epochs(a))
        #expect(try ResultFiles.leaderboard(b) == ResultFiles.leaderboard(a))
    }
}
