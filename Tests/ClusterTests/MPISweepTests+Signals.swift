import Foundation
import Testing
import TestSupport

/// Signals sent to `mpirun` while both ranks are mid-training.
///
/// What Open MPI 4.1's mpirun does with them (measured with strace; orte/mca/odls/base):
/// - SIGUSR1 (and SIGUSR2) it forwards to every rank at once ("mpirun: Forwarding signal 10 to
///   job"): the sweep stops exactly as locally, and mpirun exits with rank 0's status, 75.
/// - SIGTERM, SIGINT and SIGHUP it does not forward (it refuses them in
///   `ess_base_forward_signals`). It sends the ranks SIGCONT, waits `odls_base_sigkill_timeout`
///   seconds (default 1), sends SIGTERM, waits as long again, sends SIGKILL, and exits with
///   status 1 whatever the ranks did. The ranks stop on that SIGTERM and checkpoint within a
///   batch, but while mpirun tears the job down rank 0's `MPI_Finalize` takes about 2 s, so with
///   the default second it is killed before it reports. `--mca odls_base_sigkill_timeout 8` gives
///   it the time: rank 0 says it stopped (on SIGTERM, whichever signal mpirun got) and exits 75.
extension MPISweepTests {
    /// Two tasks of 120 epochs: both are still training when mpirun's SIGTERM reaches the ranks
    /// `killTimeout` s after the signal. 44 epochs took about 16 s on a 2-core Zen 3 machine but
    /// 5.5 s on a 2-core Zen 5 one, where the tasks ended before the signal; 120 take 15 s there
    /// (and 22 epochs were too short once before, when the engine got faster).
    static let stopSpec = """
        name: stop
        data: {synthetic: {count: 600, seed: 5}}
        cv: {folds: 2}
        epochs: 120
        seed: 2
        grid: {hidden: [384]}
        fixed: {window_us: 1000, batch_size: 16}
        """

    /// The seconds mpirun waits before its SIGTERM and again before its SIGKILL in the tests
    /// that pass `--mca odls_base_sigkill_timeout`. Rank 0 needs about 2.5 s from SIGTERM to
    /// exit; with 5 s it was once killed first on a busy machine (the cause was not found).
    static let killTimeout = 8

    /// The stop spec run locally, once, as the reference every interrupted run must equal.
    static let stopReference: Result<URL, Error> = Result {
        let root = try SharedData.makeTemporaryDirectory("spikesweep-mpi-stop-reference")
        let spec = root.appendingPathComponent("stop.yaml")
        try stopSpec.write(to: spec, atomically: true, encoding: .utf8)
        let run = try CLIRunner.run(["sweep", spec.path, "--workers", "2", "--results", root.path, "--quiet"])
        guard run.status == 0 else { throw MPIRunnerError("local reference run failed: \(run.stderr)") }
        return root.appendingPathComponent("stop")
    }

    /// What a stopped job left: how mpirun ended, the results folder, and the tasks that were
    /// mid-training (a checkpoint and no recorded result).
    struct StoppedJob {
        var ended: MPIRunner.Job.Ended
        var specURL: URL
        var results: URL
        var directory: URL
        var inFlight: Set<String>
    }

    /// Runs the stop spec on 2 ranks, sends `signal` to mpirun once both ranks have written a
    /// checkpoint (they are then mid-training), and waits for the job to end.
    func stopMidTraining(_ signal: Int32, mpirunOptions: [String] = [], in root: URL) throws -> StoppedJob {
        let specURL = try writeSpec(root, Self.stopSpec, name: "stop.yaml")
        let results = root.appendingPathComponent("mpi")
        let dir = results.appendingPathComponent("stop")
        let job = try MPIRunner.start(ranks: 2, options: mpirunOptions, ["sweep", specURL.path, "--results", results.path])
        ResultFiles.waitForCheckpoint(in: dir, count: 2, while: { job.isRunning })
        job.signal(signal)
        let ended = job.wait(timeout: 90)
        // No rank outlives mpirun.
        let deadline = Date().addingTimeInterval(20)
        while !MPIRunner.processes(commandLineContaining: results.path).isEmpty && Date() < deadline { usleep(20_000) }
        #expect(MPIRunner.processes(commandLineContaining: results.path).isEmpty, "ranks still running after mpirun ended")
        let recorded = Set(Self.rows(dir.appendingPathComponent("folds.csv")).map { $0[0] })
        let checkpoints = (try? FileManager.default.contentsOfDirectory(atPath: dir.appendingPathComponent("checkpoints").path)) ?? []
        let inFlight = Set(checkpoints.filter { $0.hasSuffix(".ckpt") && !$0.hasPrefix(".") }.map { String($0.dropLast(".ckpt".count)) })
            .subtracting(recorded)
        return StoppedJob(ended: ended, specURL: specURL, results: results, directory: dir, inFlight: inFlight)
    }

    /// Neither task had finished when the signal came, nothing was recorded as failed, and the
    /// rerun resumes both from their checkpoints and ends with the uninterrupted run's results.
    func expectTheRerunResumesAndMatchesTheReference(_ stopped: StoppedJob, _ what: String) throws {
        let reference = try Self.stopReference.get()
        let rows = Self.rows(stopped.directory.appendingPathComponent("folds.csv"))
        #expect(!rows.contains { $0[3] == "failed" }, "\(what): a stop was recorded as a failure: \(rows)")
        #expect(rows.isEmpty, "\(what): a task finished before the signal; the test needs longer tasks")
        #expect(stopped.inFlight.count == 2, "\(what): running tasks without a checkpoint (\(stopped.inFlight))\n\(stopped.ended.stderr)")

        let rerun = try MPIRunner.run(ranks: 2, ["sweep", stopped.specURL.path, "--results", stopped.results.path], timeout: 120)
        #expect(rerun.status == 0, "\(what): rerun: \(rerun.stderr)")
        for id in stopped.inFlight {
            #expect(rerun.stderr.split(separator: "\n").contains { $0.contains("task \(id) (config ") && $0.contains("resuming from its checkpoint") },
                    "\(what): task \(id) did not resume from its checkpoint: \(rerun.stderr)")
        }
        #expect(rerun.stdout.contains("2 tasks run (0 already done, 0 failed)"), "\(what): \(rerun.stdout)")
        #expect(ResultFiles.folds(stopped.directory) == ResultFiles.folds(reference), "\(what): folds.csv differs from an uninterrupted run")
        #expect(ResultFiles.epochs(stopped.directory) == ResultFiles.epochs(reference), "\(what): epochs.csv differs from an uninterrupted run")
        let left = (try? FileManager.default.contentsOfDirectory(atPath: stopped.directory.appendingPathComponent("checkpoints").path)) ?? []
        #expect(left.isEmpty, "\(what): checkpoints left behind: \(left)")
    }

    /// SIGUSR1 to mpirun reaches every rank at once: both checkpoint, rank 0 says so and mpirun
    /// exits 75, as a local run does.
    @Test func usr1ToMpirunStopsEveryRankWithCheckpointsAndStatus75() throws {
        try #require(MPIRunner.mpirun != nil, Comment(rawValue: MPIRunner.missingMessage))
        let root = try SharedData.makeTemporaryDirectory(); defer { try? FileManager.default.removeItem(at: root) }
        let stopped = try stopMidTraining(SIGUSR1, in: root)
        let ended = stopped.ended
        #expect(ended.status == 75, "mpirun: \(ended.status)\n\(ended.stderr)")
        #expect(ended.stderr.contains("mpirun: Forwarding signal 10 to job"), "\(ended.stderr)")
        #expect(ended.stderr.contains("spikesweep: stopped on SIGUSR1; 2 running tasks saved a checkpoint; run the same command again to resume"),
                "\(ended.stderr)")
        #expect(ended.stderr.split(separator: "\n").contains { $0.hasPrefix("[rank 1] task ") && $0.contains(": stopped, checkpoint kept in ") },
                "rank 1 did not report its stop: \(ended.stderr)")
        #expect(ended.stdout.contains("0 tasks run (0 already done, 0 failed, 2 checkpointed)"), "\(ended.stdout)")
        try expectTheRerunResumesAndMatchesTheReference(stopped, "SIGUSR1")
    }

    /// SIGTERM, SIGINT (Ctrl-C) and SIGHUP to an mpirun started with
    /// `--mca odls_base_sigkill_timeout 8`: mpirun turns each into SIGTERM for the ranks 8 s
    /// later; both checkpoint, rank 0 says it stopped, and the rerun resumes. mpirun itself exits
    /// 1 (Open MPI's status for a job it aborted), not 75.
    @Test(.serialized, arguments: [SIGTERM, SIGINT, SIGHUP])
    func termIntAndHupToMpirunStopEveryRankCleanlyGivenAKillTimeout(signal: Int32) throws {
        try #require(MPIRunner.mpirun != nil, Comment(rawValue: MPIRunner.missingMessage))
        let root = try SharedData.makeTemporaryDirectory(); defer { try? FileManager.default.removeItem(at: root) }
        let stopped = try stopMidTraining(signal, mpirunOptions: ["--mca", "odls_base_sigkill_timeout", String(Self.killTimeout)], in: root)
        let ended = stopped.ended
        let what = "signal \(signal)"
        #expect(ended.status == 1, "\(what): mpirun: \(ended.status)\n\(ended.stderr)")
        #expect(ended.stderr.contains("spikesweep: stopped on SIGTERM; 2 running tasks saved a checkpoint; run the same command again to resume"),
                "\(what): rank 0 did not report a clean stop: \(ended.stderr)")
        #expect(ended.stderr.split(separator: "\n").contains { $0.hasPrefix("[rank 1] task ") && $0.contains(": stopped, checkpoint kept in ") },
                "\(what): rank 1 did not report its stop: \(ended.stderr)")
        #expect(ended.stdout.contains("0 tasks run (0 already done, 0 failed, 2 checkpointed)"), "\(what): \(ended.stdout)")
        try expectTheRerunResumesAndMatchesTheReference(stopped, what)
    }

    /// Ctrl-C to an mpirun with Open MPI's defaults: the ranks get SIGTERM after 1 s and SIGKILL
    /// 1 s later, while rank 0 is still in MPI_Finalize, so there is no report and mpirun exits 1.
    /// Nothing is lost: both running tasks kept a checkpoint and the rerun matches.
    @Test func ctrlCToMpirunWithOpenMPIDefaultsLosesNothing() throws {
        try #require(MPIRunner.mpirun != nil, Comment(rawValue: MPIRunner.missingMessage))
        let root = try SharedData.makeTemporaryDirectory(); defer { try? FileManager.default.removeItem(at: root) }
        let stopped = try stopMidTraining(SIGINT, in: root)
        #expect(stopped.ended.status == 1, "mpirun: \(stopped.ended.status)\n\(stopped.ended.stderr)")
        try expectTheRerunResumesAndMatchesTheReference(stopped, "SIGINT, default kill timeout")
    }
}
