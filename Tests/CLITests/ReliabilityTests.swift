import Foundation
import Testing
import TestSupport

/// What must never cost a result: a full disk, damaged checkpoints, diverging configurations,
/// two writers on one folder, huge grids and bad command lines — through the real binary.
@Suite(.serialized) struct ReliabilityTests {
    /// Four configurations x two folds; tasks take about a second, each writes a 1.8 MB checkpoint.
    static let spec = """
        name: rel
        data: {synthetic: {count: 200, seed: 2}}
        cv: {folds: 2}
        epochs: 3
        seed: 5
        grid: {hidden: [16, 24], beta: [0.8, 0.9]}
        fixed: {batch_size: 32}
        """

    func writeSpec(_ root: URL, _ text: String = spec, name: String = "rel.yaml") throws -> URL {
        let url = root.appendingPathComponent(name)
        try text.write(to: url, atomically: true, encoding: .utf8)
        return url
    }

    /// A clean run of `spec` to compare with.
    func reference(_ root: URL, _ spec: URL) throws -> URL {
        let run = try CLIRunner.run(["sweep", spec.path, "--results", root.appendingPathComponent("reference").path, "--quiet"])
        try #require(run.status == 0, "\(run.stderr)")
        return root.appendingPathComponent("reference/rel")
    }

    /// Mounts a tmpfs of `megabytes` at `path` (root only); nil, with a message, where it cannot.
    static func mountTmpfs(_ path: URL, megabytes: Int) throws -> Bool {
        try FileManager.default.createDirectory(at: path, withIntermediateDirectories: true)
        let mount = try CLIRunner.run(executable: URL(fileURLWithPath: "/bin/mount"), ["-t", "tmpfs", "-o", "size=\(megabytes)m", "tmpfs", path.path])
        if mount.status != 0 {
            print("skipped: cannot mount a tmpfs for a full disk (needs root and mount rights): \(mount.stderr)")
            return false
        }
        return true
    }

    static func remount(_ path: URL, megabytes: Int) throws {
        let run = try CLIRunner.run(executable: URL(fileURLWithPath: "/bin/mount"), ["-o", "remount,size=\(megabytes)m", path.path])
        try #require(run.status == 0, "\(run.stderr)")
    }

    static func unmount(_ path: URL) {
        _ = try? CLIRunner.run(executable: URL(fileURLWithPath: "/bin/umount"), [path.path])
    }

    static func checkpoints(_ dir: URL) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: dir.appendingPathComponent("checkpoints").path)) ?? [])
            .filter { $0.hasSuffix(".ckpt") && !$0.hasPrefix(".") }.sorted()
    }

    /// A full disk stops the run (74) with one line; nothing is recorded failed, the checkpoints
    /// written before stay valid, and once there is room the same command finishes with the
    /// results of a run that never saw a full disk. Locally and under `mpirun -np 2`.
    @Test(arguments: [false, true])
    func aFullDiskStopsTheRunAndTheRerunFinishesIt(underMPI: Bool) throws {
        if underMPI && MPIRunner.mpirun == nil { print(MPIRunner.skipMessage); return }
        let root = try SharedData.makeTemporaryDirectory(); defer { try? FileManager.default.removeItem(at: root) }
        let spec = try writeSpec(root)
        let referenceDir = try reference(root, spec)
        let disk = root.appendingPathComponent("disk")
        guard try Self.mountTmpfs(disk, megabytes: 5) else { return }
        defer { Self.unmount(disk) }
        // Two tasks' checkpoints (1.8 MB each) fit, a third write does not.
        let arguments = ["sweep", spec.path, "--results", disk.path, "--workers", "2"]
        func run() throws -> CLIRunner.Result {
            underMPI ? try MPIRunner.run(ranks: 2, Array(arguments.dropLast(2))) : try CLIRunner.run(arguments)
        }
        let full = try run()
        #expect(full.status == 74, "\(full.stdout)\(full.stderr)")
        let stopLines = full.stderr.split(separator: "\n").filter { $0.contains("stopped: ") }
        #expect(stopLines.count == 1 && stopLines[0].contains("No space left on device") && stopLines[0].contains("run the same command again"),
                "\(full.stderr)")
        let dir = disk.appendingPathComponent("rel")
        let rows = ResultFiles.rows(dir.appendingPathComponent("folds.csv"))
        #expect(rows.allSatisfy { $0[3] == "ok" }, "a full disk is not a task's failure: \(rows)")
        let kept = Self.checkpoints(dir)
        #expect(!kept.isEmpty, "the checkpoints written before the disk filled are kept")

        try Self.remount(disk, megabytes: 64)
        let rerun = try run()
        #expect(rerun.status == 0, "\(rerun.stderr)")
        for id in kept where !rows.contains(where: { $0[0] == id.dropLast(5) }) {
            #expect(rerun.stderr.contains("task \(id.dropLast(5)) ") && rerun.stderr.contains("resuming from its checkpoint"), "\(rerun.stderr)")
        }
        #expect(ResultFiles.folds(dir) == ResultFiles.folds(referenceDir))
        #expect(ResultFiles.epochs(dir) == ResultFiles.epochs(referenceDir))
        #expect(Self.checkpoints(dir).isEmpty)
    }

    /// A truncated and a bit-flipped checkpoint are set aside with a warning, their tasks start
    /// again, and the results equal a clean run's.
    @Test func damagedCheckpointsAreSetAsideAndTheirTasksRestart() throws {
        let root = try SharedData.makeTemporaryDirectory(); defer { try? FileManager.default.removeItem(at: root) }
        let spec = try writeSpec(root, Self.spec.replacingOccurrences(of: "epochs: 3", with: "epochs: 8")
            .replacingOccurrences(of: "hidden: [16, 24]", with: "hidden: [200, 240]"))
        let referenceDir = try reference(root, spec)
        let results = root.appendingPathComponent("b")
        let dir = results.appendingPathComponent("rel")
        let process = Process()
        process.executableURL = CLIRunner.executable
        process.arguments = ["sweep", spec.path, "--results", results.path, "--workers", "2", "--quiet"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        ResultFiles.waitForCheckpoint(in: dir, count: 2, while: { process.isRunning })
        kill(process.processIdentifier, SIGUSR1)
        process.waitUntilExit()
        #expect(process.terminationStatus == 75)
        let damaged = Self.checkpoints(dir)
        try #require(damaged.count >= 2, "two tasks were mid-training: \(damaged)")
        let truncated = dir.appendingPathComponent("checkpoints/\(damaged[0])")
        let flipped = dir.appendingPathComponent("checkpoints/\(damaged[1])")
        let bytes = try Data(contentsOf: truncated)
        try bytes.prefix(bytes.count / 2).write(to: truncated)
        var other = [UInt8](try Data(contentsOf: flipped))
        other[other.count / 3] ^= 0x10
        try Data(other).write(to: flipped)

        let rerun = try CLIRunner.run(["sweep", spec.path, "--results", results.path, "--workers", "2"])
        #expect(rerun.status == 0, "\(rerun.stderr)")
        for name in [damaged[0], damaged[1]] {
            let id = String(name.dropLast(".ckpt".count))
            let warning = rerun.stderr.split(separator: "\n").first { $0.contains("task \(id) ") && $0.contains("set aside") }
            #expect(warning != nil, "no warning for \(id): \(rerun.stderr)")
        }
        #expect(ResultFiles.folds(dir) == ResultFiles.folds(referenceDir))
        #expect(ResultFiles.epochs(dir) == ResultFiles.epochs(referenceDir))
        #expect(ResultFiles.rows(dir.appendingPathComponent("folds.csv")).allSatisfy { $0[3] == "ok" })
    }

    /// A diverging configuration is a result: the run exits 4 naming the failures, a rerun skips
    /// it, and --retry-failed runs it again, recording the second attempt.
    @Test func aDivergingConfigurationFailsAndRetryFailedRunsItAgain() throws {
        let root = try SharedData.makeTemporaryDirectory(); defer { try? FileManager.default.removeItem(at: root) }
        let spec = try writeSpec(root)
        let referenceDir = try reference(root, spec)
        let failing = try #require(ResultFiles.rows(referenceDir.appendingPathComponent("folds.csv")).first?[1])
        let results = root.appendingPathComponent("b")
        let dir = results.appendingPathComponent("rel")
        let diverging = ["SPIKESWEEP_TEST_FAIL_CONFIGS": failing]
        let first = try CLIRunner.run(executable: CLIRunner.testTool, ["sweep", spec.path, "--results", results.path], environment: diverging)
        #expect(first.status == 4, "\(first.stderr)")
        #expect(first.stderr.contains("2 tasks failed; their errors are in folds.csv (--retry-failed runs them again)"), "\(first.stderr)")
        let failedRows = ResultFiles.rows(dir.appendingPathComponent("folds.csv")).filter { $0[3] == "failed" }
        #expect(failedRows.count == 2 && failedRows.allSatisfy { $0[1] == failing && $0.last == "1" })
        // The failure stays a result: nothing to do without --retry-failed.
        let again = try CLIRunner.run(["sweep", spec.path, "--results", results.path])
        #expect(again.status == 4 && again.stdout.contains("0 tasks run (8 already done, 0 failed)"), "\(again.stdout)\(again.stderr)")
        // collect prints the command that runs exactly those tasks again, and exits 4.
        let collect = try CLIRunner.run(["collect", dir.path])
        #expect(collect.status == 4, "\(collect.stdout)")
        let command = try #require(collect.stdout.split(separator: "\n").first { $0.hasPrefix("run them: ") }).dropFirst("run them: ".count)
        #expect(command.hasSuffix(" --retry-failed"), "\(command)")
        let retry = try CLIRunner.run(executable: URL(fileURLWithPath: "/bin/sh"), ["-c", String(command)])
        #expect(retry.status == 0, "\(retry.stdout)\(retry.stderr)")
        #expect(retry.stdout.contains("2 tasks run (6 already done, 0 failed)"), "\(retry.stdout)")
        let latest = Dictionary(ResultFiles.rows(dir.appendingPathComponent("folds.csv")).map { ($0[0], $0) }, uniquingKeysWith: { _, b in b })
        #expect(latest.values.filter { $0[1] == failing }.allSatisfy { $0[3] == "ok" && $0.last == "2" })
        let collected = try CLIRunner.run(["collect", dir.path])
        #expect(collected.status == 0, "\(collected.stdout)")
        #expect(ResultFiles.folds(dir).map { $0.split(separator: ",").dropLast().joined(separator: ",") }
                == ResultFiles.folds(referenceDir).map { $0.split(separator: ",").dropLast().joined(separator: ",") })
    }

    /// An array element and a plain run never write one folder at the same time.
    @Test func anArrayElementAndAPlainRunExcludeEachOther() throws {
        let root = try SharedData.makeTemporaryDirectory(); defer { try? FileManager.default.removeItem(at: root) }
        let spec = try writeSpec(root, Self.spec.replacingOccurrences(of: "epochs: 3", with: "epochs: 20")
            .replacingOccurrences(of: "hidden: [16, 24]", with: "hidden: [200, 240]"))
        for (n, first) in [["--array-size", "2", "--array-element", "0"], []].enumerated() {
            let results = root.appendingPathComponent("r\(n)")
            let created = try CLIRunner.run(["slurm", "submit", spec.path, "--results", results.path, "--dry-run", "--profile", "local"])
            try #require(created.status == 0, "\(created.stderr)")
            let process = Process()
            process.executableURL = CLIRunner.executable
            process.arguments = ["sweep", spec.path, "--results", results.path, "--quiet", "--workers", "1"] + first
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            ResultFiles.waitForCheckpoint(in: results.appendingPathComponent("rel"), while: { process.isRunning })
            let second = try CLIRunner.run(["sweep", spec.path, "--results", results.path, "--quiet"]
                                           + (first.isEmpty ? ["--array-size", "2", "--array-element", "1"] : []))
            kill(process.processIdentifier, SIGTERM)
            process.waitUntilExit()
            #expect(second.status == 1, "\(second.stderr)")
            let holder = first.isEmpty ? "is in use by another spikesweep run (pid \(process.processIdentifier)" : "is in use by Slurm array elements"
            #expect(second.stderr.contains(holder) && second.stderr.split(separator: "\n").count == 1, "\(second.stderr)")
        }
    }

    /// A grid of 10^7 configurations is refused before it is expanded, in one line, at little
    /// memory; one of 10^5 runs with --allow-large. (Times are measured by benchmarks, not here.)
    @Test func hugeGridsAreRefusedBeforeTheyAreExpanded() throws {
        let root = try SharedData.makeTemporaryDirectory(); defer { try? FileManager.default.removeItem(at: root) }
        let ten = (1...10).map(String.init).joined(separator: ", ")
        let spec = try writeSpec(root, """
            name: huge
            data: {synthetic: {count: 60}}
            cv: {folds: 2}
            epochs: 1
            grid:
              hidden: [\(ten)]
              window_us: [\((1...10).map { String($0 * 1000) }.joined(separator: ", "))]
              batch_size: [\(ten)]
              lr: [\((1...10).map { "\(Double($0) / 1000)" }.joined(separator: ", "))]
              l2: [\((0...9).map { "\(Double($0) / 1e6)" }.joined(separator: ", "))]
              denoise_us: [\((1...10).map { String($0 * 1000) }.joined(separator: ", "))]
              beta: [\((1...10).map { "\(Double($0) / 10)" }.joined(separator: ", "))]
            """, name: "huge.yaml")
        let (status, stderr, maxRSSKilobytes) = try Self.runMeasuringMemory(["sweep", spec.path, "--results", root.path])
        #expect(status == 1)
        #expect(stderr == "Error: \(spec.path): grid: 10 x 10 x 10 x 10 x 10 x 10 x 10 values = 10000000 configurations x 2 folds "
                + "= 20000000 tasks, more than the limit of 100000; shrink the grid, or give --allow-large if you mean it\n")
        #expect(maxRSSKilobytes > 0 && maxRSSKilobytes < 200_000, "peak RSS \(maxRSSKilobytes) KB")
        #expect(!FileManager.default.fileExists(atPath: root.appendingPathComponent("huge").path), "nothing was written")
        let plan = try CLIRunner.run(["plan", spec.path, "--recordings", "100"])
        #expect(plan.status == 1 && plan.stderr.contains("more than the limit of 100000"), "\(plan.stderr)")
    }

    /// Runs the binary and returns its status, stderr and its resident high-water mark
    /// (`VmHWM` in /proc/PID/status, read until it exits: the mark only grows, so the last
    /// read is the peak up to then). `wait4`'s `ru_maxrss` would not do: a child spawned with
    /// vfork semantics starts with the test process's own mark.
    static func runMeasuringMemory(_ arguments: [String]) throws -> (Int32, String, Int) {
        let process = Process()
        process.executableURL = CLIRunner.executable
        process.arguments = arguments
        let err = Pipe()
        process.standardError = err
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        var peak = 0
        let status = "/proc/\(process.processIdentifier)/status"
        while process.isRunning {
            if let text = try? String(contentsOfFile: status, encoding: .utf8),
               let line = text.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
               let kb = Int(line.split(separator: " ").dropFirst().first ?? "") {
                peak = max(peak, kb)
            }
            usleep(200)
        }
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, stderr, peak)
    }

    /// Every bad command line is one line naming what is wrong, like a bad spec.
    @Test(arguments: [
        (["train", "--data", "x", "--epochs", "0"], "--epochs must be >= 1, got 0"),
        (["sweep", "x.yaml", "--workers", "-2"], "--workers must be >= 1, got -2"),
        (["plan", "x.yaml", "--ranks", "0", "--recordings", "10"], "x.yaml"),
        (["leaderboard", "/nonexistent", "--top", "0"], "--top must be >= 1, got 0"),
        (["sweep", "x.yaml", "--array-element", "1"], "--array-size and --array-element go together"),
        (["sweep"], "Missing expected argument '<spec>'"),
    ])
    func badCommandLinesAreOneLineErrors(arguments: [String], message: String) throws {
        let run = try CLIRunner.run(arguments)
        #expect(run.status != 0)
        #expect(run.stderr.split(separator: "\n").count == 1 && run.stderr.hasPrefix("Error: ") && run.stderr.contains(message), "\(run.stderr)")
    }

    /// No Foundation error text reaches the user: a results root that is a file, and two
    /// --fresh runs in the same second.
    @Test func fileSystemProblemsAreOneLineWithoutFoundationsErrorDomains() throws {
        let root = try SharedData.makeTemporaryDirectory(); defer { try? FileManager.default.removeItem(at: root) }
        let spec = try writeSpec(root, Self.spec.replacingOccurrences(of: "hidden: [16, 24], beta: [0.8, 0.9]", with: "hidden: [16]"))
        let file = root.appendingPathComponent("a-file")
        try Data("x".utf8).write(to: file)
        let intoFile = try CLIRunner.run(["sweep", spec.path, "--results", file.path])
        #expect(intoFile.status == 1 && intoFile.stderr.split(separator: "\n").count == 1, "\(intoFile.stderr)")
        #expect(intoFile.stderr.contains(file.path) && !intoFile.stderr.contains("NSCocoaErrorDomain") && !intoFile.stderr.contains("Error Domain"),
                "\(intoFile.stderr)")
        // Two --fresh replacements within one second get distinct folders beside the results.
        let results = root.appendingPathComponent("r")
        #expect(try CLIRunner.run(["sweep", spec.path, "--results", results.path, "--quiet"]).status == 0)
        for seed in [6, 7] {
            let other = try writeSpec(root, Self.spec.replacingOccurrences(of: "hidden: [16, 24], beta: [0.8, 0.9]", with: "hidden: [16]")
                .replacingOccurrences(of: "seed: 5", with: "seed: \(seed)"), name: "s\(seed).yaml")
            let fresh = try CLIRunner.run(["sweep", other.path, "--results", results.path, "--fresh", "--quiet"])
            #expect(fresh.status == 0 && !fresh.stderr.contains("Error Domain"), "\(fresh.stderr)")
        }
        let aside = try FileManager.default.contentsOfDirectory(atPath: results.path).filter { $0.hasPrefix("rel.replaced-") }
        #expect(aside.count == 2, "\(aside)")
    }

    /// The results folder's spec.yaml names its data by absolute path: the rerun command
    /// `collect` prints works from another directory.
    @Test func theFrozenSpecWorksFromAnotherDirectory() throws {
        let root = try SharedData.makeTemporaryDirectory(); defer { try? FileManager.default.removeItem(at: root) }
        let data = root.appendingPathComponent("data")
        try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true)
        #expect(try CLIRunner.run(["data", "synth", "-o", data.appendingPathComponent("train.spk").path, "--count", "100"]).status == 0)
        let spec = try writeSpec(root, Self.spec.replacingOccurrences(of: "{synthetic: {count: 200, seed: 2}}", with: "{train: data/train.spk}")
            .replacingOccurrences(of: "hidden: [16, 24], beta: [0.8, 0.9]", with: "hidden: [16]"))
        let run = try CLIRunner.run(["sweep", spec.path, "--results", "r", "--quiet"], currentDirectory: root)
        #expect(run.status == 0, "\(run.stderr)")
        let frozen = try String(contentsOf: root.appendingPathComponent("r/rel/spec.yaml"), encoding: .utf8)
        #expect(frozen.contains(data.appendingPathComponent("train.spk").path.replacingOccurrences(of: "/", with: "\\/")), "\(frozen)")
        let elsewhere = try CLIRunner.run(["sweep", root.appendingPathComponent("r/rel/spec.yaml").path,
                                           "--results", root.appendingPathComponent("r").path], currentDirectory: URL(fileURLWithPath: "/"))
        #expect(elsewhere.status == 0 && elsewhere.stdout.contains("0 tasks run (2 already done"), "\(elsewhere.stdout)\(elsewhere.stderr)")
    }

    /// `plan` saves a calibration only when asked to.
    @Test func planWritesNoCalibrationUnlessAsked() throws {
        let root = try SharedData.makeTemporaryDirectory(); defer { try? FileManager.default.removeItem(at: root) }
        let spec = try writeSpec(root)
        let calibration = root.appendingPathComponent("cal/calibration.json")
        let plain = try CLIRunner.run(["plan", spec.path, "--calibration", calibration.path])
        #expect(plain.status == 0, "\(plain.stderr)")
        #expect(!FileManager.default.fileExists(atPath: calibration.path))
        let asked = try CLIRunner.run(["plan", spec.path, "--calibration", calibration.path, "--calibrate"])
        #expect(asked.status == 0 && FileManager.default.fileExists(atPath: calibration.path), "\(asked.stderr)")
    }

    /// Values no task could run with are refused before anything runs, naming their key: a
    /// hidden layer whose state exceeds this machine's memory, a window longer than every
    /// recording, a window beyond what a time can hold.
    @Test(arguments: [
        ("grid: {hidden: [10, 1000000]}", "grid.hidden: a task with hidden 1000000"),
        ("grid: {window_us: [1000, 900000000]}", "grid.window_us: a window of 900000000 us is longer than the longest recording"),
        ("fixed: {window_us: 9223372036854775807}", "fixed.window_us: window_us must be <= 1000000000 us, got 9223372036854775807"),
    ])
    func valuesNoTaskCouldRunWithAreRefused(line: String, message: String) throws {
        let root = try SharedData.makeTemporaryDirectory(); defer { try? FileManager.default.removeItem(at: root) }
        let spec = try writeSpec(root, """
            name: impossible
            data: {synthetic: {count: 60}}
            cv: {folds: 2}
            epochs: 1
            \(line)
            """)
        let run = try CLIRunner.run(["sweep", spec.path, "--results", root.path])
        #expect(run.status == 1 && run.stderr.split(separator: "\n").count == 1 && run.stderr.contains(message), "\(run.stderr)")
        #expect(!FileManager.default.fileExists(atPath: root.appendingPathComponent("impossible").path))
    }
}
