import Cluster
import Foundation
import Testing
import TestSupport

/// Sweeps submitted to the real single-node Slurm of `scripts/slurm-local`.
@Suite(.serialized, .enabled(if: SlurmTestCluster.shouldRun, Comment(rawValue: SlurmTestCluster.skipMessage)))
struct SlurmJobTests {
    static let smoke = SharedData.packageRoot.appendingPathComponent("sweeps/smoke.yaml")

    /// The smoke sweep run locally, once, as the reference every Slurm run must equal.
    static let reference: Result<URL, Error> = Result {
        let root = try SharedData.makeTemporaryDirectory("spikesweep-slurm-reference")
        let run = try CLIRunner.run(["sweep", smoke.path, "--results", root.path, "--quiet"])
        guard run.status == 0 else { throw SlurmTestFailure("local reference run failed: \(run.stderr)") }
        return root.appendingPathComponent("smoke")
    }

    struct SlurmTestFailure: Error, CustomStringConvertible {
        var description: String
        init(_ d: String) { description = d }
    }

    func expectSameResults(_ dir: URL, as reference: URL, _ what: String) throws {
        #expect(try ResultFiles.leaderboard(dir) == ResultFiles.leaderboard(reference), "\(what): leaderboard differs")
        #expect(ResultFiles.folds(dir) == ResultFiles.folds(reference), "\(what): folds.csv differs")
        #expect(ResultFiles.epochs(dir) == ResultFiles.epochs(reference), "\(what): epochs.csv differs")
    }

    func submit(_ arguments: [String], in cwd: URL, environment: [String: String] = [:]) throws -> CLIRunner.Result {
        let result = try CLIRunner.run(["slurm", "submit"] + arguments + ["--profile", "local"], environment: environment, currentDirectory: cwd)
        #expect(result.status == 0, "submit failed: \(result.stderr)")
        return result
    }

    func waitForAll(_ dir: URL) throws {
        let ids = try SlurmTestCluster.submittedJobs(dir).map(\.id)
        #expect(SlurmTestCluster.waitUntilDone(ids), "jobs \(ids) still queued after 5 minutes")
    }

    func log(_ dir: URL, _ prefix: String) throws -> String {
        let logs = dir.appendingPathComponent("slurm/logs")
        return try FileManager.default.contentsOfDirectory(atPath: logs.path).filter { $0.hasPrefix(prefix) }.sorted()
            .map { try String(contentsOf: logs.appendingPathComponent($0), encoding: .utf8) }.joined()
    }

    @Test func smokeAsAThreeElementArrayPlusCollectEqualsTheLocalRun() throws {
        let reference = try Self.reference.get()
        let cwd = try SharedData.makeTemporaryDirectory(); defer { try? FileManager.default.removeItem(at: cwd) }
        let out = try submit([Self.smoke.path, "--mode", "array", "--array-size", "3"], in: cwd)
        #expect(out.stdout.contains("submitted array job") && out.stdout.contains("elements 0-2 of 3"))
        #expect(out.stdout.contains("submitted collect job"))
        let dir = cwd.appendingPathComponent("results/smoke")
        try waitForAll(dir)
        let jobs = try SlurmTestCluster.submittedJobs(dir)
        #expect(jobs.map(\.kind) == ["array", "collect"])
        #expect(ResultFiles.rows(dir.appendingPathComponent("shards/element-0.folds.csv")).count == 3)
        #expect(ResultFiles.rows(dir.appendingPathComponent("shards/element-1.folds.csv")).count == 3)
        #expect(ResultFiles.rows(dir.appendingPathComponent("shards/element-2.folds.csv")).count == 2)
        let collect = try log(dir, "collect-")
        #expect(collect.contains("collected 8 of 8 tasks from 3 shards"), "\(collect)")
        try expectSameResults(dir, as: reference, "3-element array")
        let status = try CLIRunner.run(["slurm", "status", dir.path])
        #expect(status.status == 0 && status.stdout.contains("8/8 done"), "\(status.stdout)\(status.stderr)")
    }

    /// A halving sweep in array mode: one array job per rung, each after the previous rung's
    /// collect (which finds the rung complete and exits 0); the results equal a local run's.
    @Test func halvingRunsOneArrayJobPerRungAfterEachCollectWithTheLocalLeaderboard() throws {
        let cwd = try SharedData.makeTemporaryDirectory(); defer { try? FileManager.default.removeItem(at: cwd) }
        let spec = cwd.appendingPathComponent("halving.yaml")
        try TestSpecs.halving.write(to: spec, atomically: true, encoding: .utf8)
        let local = try CLIRunner.run(["sweep", spec.path, "--workers", "2", "--results", cwd.appendingPathComponent("local").path, "--quiet"])
        try #require(local.status == 0, "\(local.stderr)")
        let out = try submit([spec.path, "--mode", "array", "--array-size", "4"], in: cwd)
        #expect(out.stdout.contains("rung 3: submitted array job") && out.stdout.contains("rung 3: submitted collect job"), "\(out.stdout)")
        #expect(out.stderr.contains("one array job per rung (4, 4, 3 elements)"), "\(out.stderr)")
        let dir = cwd.appendingPathComponent("results/halving")
        try waitForAll(dir)
        let jobs = try SlurmTestCluster.submittedJobs(dir)
        #expect(jobs.map(\.kind) == ["array", "collect", "array", "collect", "array", "collect"])
        #expect(jobs.map(\.rung) == [0, 0, 1, 1, 2, 2])
        let collect = try log(dir, "collect-")
        #expect(collect.contains("rung 1 of 3 is done: 3 configurations go on to 3 epochs (9 tasks)"), "\(collect)")
        #expect(collect.contains("collected 39 of 39 tasks from 4 shards"), "\(collect)")
        try expectSameResults(dir, as: cwd.appendingPathComponent("local/halving"), "halving array")
        let status = try CLIRunner.run(["slurm", "status", dir.path])
        #expect(status.status == 0 && status.stdout.contains("39/39 done") && status.stdout.contains("rung 3 of 3 (5 epochs)"), "\(status.stdout)\(status.stderr)")
        let again = try CLIRunner.run(["slurm", "resubmit", dir.path])
        #expect(again.status != 0 && again.stderr.contains("every rung is done; nothing to resubmit"), "\(again.stderr)")
    }

    @Test func mpiModeRunsOneJobOfTwoRanksWithTheSameLeaderboard() throws {
        let reference = try Self.reference.get()
        let cwd = try SharedData.makeTemporaryDirectory(); defer { try? FileManager.default.removeItem(at: cwd) }
        let out = try submit([Self.smoke.path, "--mode", "mpi", "--ntasks", "2"], in: cwd)
        #expect(out.stdout.contains("submitted MPI job"))
        let dir = cwd.appendingPathComponent("results/smoke")
        try waitForAll(dir)
        let mpi = try log(dir, "mpi-")
        #expect(mpi.contains("on 2 ranks"), "\(mpi)")
        #expect(try log(dir, "collect-").contains("collected 8 of 8 tasks"))
        try expectSameResults(dir, as: reference, "MPI job")
        // status names the ended job's final state, which Slurm still remembers.
        let mpiJob = try #require(try SlurmTestCluster.submittedJobs(dir).first { $0.kind == "mpi" }).id
        let status = try CLIRunner.run(["slurm", "status", dir.path])
        #expect(status.status == 0 && status.stdout.contains("sweep smoke: mpi mode, 8 tasks, 8/8 done"), "\(status.stdout)\(status.stderr)")
        #expect(status.stdout.split(separator: "\n").contains { $0.hasPrefix("MPI job \(mpiJob): ended: COMPLETED") }, "\(status.stdout)")
        let again = try CLIRunner.run(["slurm", "resubmit", dir.path])
        #expect(again.status != 0 && again.stderr.contains("every task has a result; nothing to resubmit"), "\(again.stderr)")
    }

    /// Element 1 fails (a wrapper stands in for a node failure); collect names exactly its
    /// tasks and a resubmit command; that command, run through a shell, completes the sweep.
    /// The sweep's name and data path are full of shell syntax: if any reached a shell
    /// unquoted, a `pwned` file would appear or the jobs would fail.
    @Test func aFailedElementIsListedAndTheResubmitCommandCompletesTheSweep() throws {
        let reference = try Self.reference.get()
        let cwd = try SharedData.makeTemporaryDirectory(); defer { try? FileManager.default.removeItem(at: cwd) }
        let name = #"it's "smoke" $(touch pwned) ; `touch pwned` x"#
        let dataDir = cwd.appendingPathComponent("data dir 'q' $(touch pwned); x")
        try FileManager.default.createDirectory(at: dataDir, withIntermediateDirectories: true)
        let data = dataDir.appendingPathComponent("synthetic train.spk")
        let synth = try CLIRunner.run(["data", "synth", "-o", data.path, "--count", "600", "--seed", "7"])
        #expect(synth.status == 0, "\(synth.stderr)")
        var spec = try String(contentsOf: Self.smoke, encoding: .utf8)
        spec = spec.replacingOccurrences(of: "name: smoke", with: "name: '\(name.replacingOccurrences(of: "'", with: "''"))'")
        spec = spec.replacingOccurrences(of: "data: {synthetic: {count: 600, seed: 7}}", with: "data: {train: '\(data.path.replacingOccurrences(of: "'", with: "''"))'}")
        let specURL = cwd.appendingPathComponent("odd spec $(touch pwned).yaml")
        try spec.write(to: specURL, atomically: true, encoding: .utf8)

        let wrapper = cwd.appendingPathComponent("fail-element-1.sh")
        try """
            #!/bin/sh
            if [ "${SLURM_ARRAY_TASK_ID:-}" = 1 ]; then echo "simulated node failure on element 1" >&2; exit 1; fi
            exec "$SPIKESWEEP_REAL_BIN" "$@"
            """.write(to: wrapper, atomically: true, encoding: .utf8)
        chmod(wrapper.path, 0o755)
        _ = try submit([specURL.path, "--mode", "array", "--array-size", "3"], in: cwd,
                       environment: ["SPIKESWEEP_BIN": wrapper.path, "SPIKESWEEP_REAL_BIN": CLIRunner.executable.path])
        let dir = cwd.appendingPathComponent("results").appendingPathComponent(name)
        try waitForAll(dir)
        #expect(try log(dir, "array-").contains("simulated node failure on element 1"))

        // Collect ran in its job and said what is missing: exactly element 1's tasks (1, 4, 7 of 8).
        let collect = try log(dir, "collect-")
        #expect(collect.contains("collected 5 of 8 tasks"), "\(collect)")
        let missingLines = collect.split(separator: "\n").filter { $0.hasPrefix("  ") }
        #expect(missingLines.count == 3 && missingLines.allSatisfy { $0.contains("(array element 1)") }, "\(collect)")
        #expect(Set(missingLines.compactMap { $0.split(separator: " ").dropFirst(2).first.map(String.init) }) == ["1,", "4,", "7,"], "\(collect)")
        let command = try #require(collect.split(separator: "\n").first { $0.hasPrefix("resubmit them: ") }).dropFirst("resubmit them: ".count)
        #expect(command.hasSuffix("--elements 1"), "\(command)")

        // Run the printed command as a user would, in a shell.
        let resubmit = try CLIRunner.run(executable: URL(fileURLWithPath: "/bin/sh"), ["-c", String(command)],
                                         environment: ["SPIKESWEEP_BIN": "", "SPIKESWEEP_REAL_BIN": ""], currentDirectory: cwd)
        #expect(resubmit.status == 0, "\(resubmit.stdout)\(resubmit.stderr)")
        #expect(resubmit.stdout.contains("elements 1 of 3"), "\(resubmit.stdout)")
        try waitForAll(dir)
        #expect(try log(dir, "collect-").contains("collected 8 of 8 tasks"))
        try expectSameResults(dir, as: reference, "after resubmitting element 1")
        let collectAgain = try CLIRunner.run(["collect", dir.path, "--quiet"])
        #expect(collectAgain.status == 0 && collectAgain.stdout.contains("collected 8 of 8"))

        // Nothing ran that was not meant to.
        let everything = FileManager.default.enumerator(atPath: cwd.path)?.allObjects as? [String] ?? []
        #expect(!everything.contains { ($0 as NSString).lastPathComponent == "pwned" }, "a value reached a shell unquoted")
        for script in ["array.sbatch", "collect.sbatch"] {
            let text = try String(contentsOf: dir.appendingPathComponent("slurm/\(script)"), encoding: .utf8)
            #expect(!text.contains("touch pwned"), "\(script) embeds a spec value")
        }
    }

    /// SIGUSR1 to a running element's batch shell: the worker checkpoints mid-task, the element
    /// (and only it: the other element keeps running) requeues itself, the requeued run resumes
    /// from the checkpoint, and the results equal an uninterrupted run's.
    @Test func usr1PreemptionResumesFromTheCheckpoint() throws {
        let cwd = try SharedData.makeTemporaryDirectory(); defer { try? FileManager.default.removeItem(at: cwd) }
        let spec = """
            name: preempt
            data: {synthetic: {count: 1000, seed: 5}}
            cv: {folds: 2}
            epochs: 8
            seed: 2
            grid: {hidden: [256, 384]}
            fixed: {window_us: 1000, batch_size: 16, beta: 0.9}
            """
        let specURL = cwd.appendingPathComponent("preempt.yaml")
        try spec.write(to: specURL, atomically: true, encoding: .utf8)
        let local = try CLIRunner.run(["sweep", specURL.path, "--results", cwd.appendingPathComponent("local").path, "--quiet"])
        #expect(local.status == 0, "\(local.stderr)")

        _ = try submit([specURL.path, "--mode", "array", "--array-size", "2"], in: cwd)
        let dir = cwd.appendingPathComponent("results/preempt")
        let arrayJob = try #require(try SlurmTestCluster.submittedJobs(dir).first { $0.kind == "array" }).id
        let element = "\(arrayJob)_0"
        // Signal once both elements' first tasks have written a checkpoint: both are mid-training.
        ResultFiles.waitForCheckpoint(in: dir, count: 2)
        let signal = try ProgramRun.run("scancel", ["--signal=USR1", "--batch", element])
        #expect(signal.status == 0, "\(signal.stderr)")
        // The element requeues itself; Slurm holds a requeued job for two minutes before it is
        // eligible again, which the test shortens.
        var restarts = "0"
        let requeueDeadline = Date().addingTimeInterval(60)
        while Date() < requeueDeadline {
            if let job = try Slurm.job(element), let r = job["Restarts"], r != "0", job["JobState"] == "PENDING" {
                restarts = r
                break
            }
            usleep(200_000)
        }
        #expect(restarts == "1", "the element was not requeued")
        #expect(try Slurm.job("\(arrayJob)_1")?["Restarts"] == "0", "the other element was requeued too")
        // status reads the requeued element's state from squeue.
        let status = try CLIRunner.run(["slurm", "status", dir.path])
        let line = status.stdout.split(separator: "\n").first { $0.hasPrefix("0 ") }.map(String.init) ?? ""
        #expect(line.contains("\(element)") && line.contains("PENDING"), "\(status.stdout)\(status.stderr)")
        // Slurm stamps credentials in whole seconds: a job started again within the second of
        // its requeue is killed as "credential revoked" (the reason for the default delay).
        sleep(3)
        let release = try ProgramRun.run("scontrol", ["update", "JobId=\(element)", "StartTime=now"])
        #expect(release.status == 0, "\(release.stderr)")
        try waitForAll(dir)

        let log = try log(dir, "array-")
        #expect(log.contains("stopped on SIGUSR1"), "\(log)")
        #expect(log.contains("requeueing job \(element)"), "\(log)")
        #expect(log.contains("resuming from its checkpoint at epoch"), "\(log)")
        #expect(try self.log(dir, "collect-").contains("collected 4 of 4 tasks"))
        let reference = cwd.appendingPathComponent("local/preempt")
        #expect(ResultFiles.folds(dir) == ResultFiles.folds(reference), "results after preemption differ from an uninterrupted run")
        #expect(ResultFiles.epochs(dir) == ResultFiles.epochs(reference), "epochs after preemption differ from an uninterrupted run")
        #expect(try ResultFiles.leaderboard(dir) == ResultFiles.leaderboard(reference))
    }

    /// An array longer than the cluster's MaxArraySize (1001 on the local cluster, read with
    /// `scontrol show config`) is split into array jobs whose indices stay below it.
    @Test func arraysBeyondMaxArraySizeAreSplit() throws {
        let cwd = try SharedData.makeTemporaryDirectory(); defer { try? FileManager.default.removeItem(at: cwd) }
        let betas = (1...50).map { String(format: "%.3f", 0.5 + Double($0) / 200) }.joined(separator: ", ")
        let spec = """
            name: wide
            data: {synthetic: {count: 20, seed: 1}}
            cv: {folds: 5}
            epochs: 1
            grid: {beta: [\(betas)], hidden: [8, 9, 10, 11, 12, 13, 14, 15, 16, 17]}
            """
        try spec.write(to: cwd.appendingPathComponent("wide.yaml"), atomically: true, encoding: .utf8)
        let config = try ProgramRun.run("scontrol", ["show", "config"]).stdout
        #expect(config.contains("MaxArraySize            = 1001"), "the local cluster's MaxArraySize changed")
        let before = try #require(SlurmTestCluster.queued())
        let out = try submit(["wide.yaml", "--array-size", "2500", "--throttle", "4", "--dry-run"], in: cwd)
        let lines = out.stdout.split(separator: "\n").filter { $0.contains("array.sbatch") }
        #expect(lines.count == 3, "\(out.stdout)")
        #expect(lines.first?.contains("--array=0-1000%4") == true && lines.first?.hasSuffix(" 2500 0") == true, "\(out.stdout)")
        #expect(lines.dropFirst().first?.contains("--array=0-1000%4") == true && lines.dropFirst().first?.hasSuffix(" 2500 1001") == true)
        #expect(lines.last?.contains("--array=0-497%4") == true && lines.last?.hasSuffix(" 2500 2002") == true)
        #expect(out.stdout.contains("--dependency=afterany:"))
        #expect(SlurmTestCluster.queued() == before, "a dry run submitted jobs")
        #expect(FileManager.default.fileExists(atPath: cwd.appendingPathComponent("results/wide/slurm/array.sbatch").path))
    }
}
