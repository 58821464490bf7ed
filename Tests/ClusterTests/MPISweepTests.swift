import Foundation
import Testing
import Sweeps
import TestSupport
import Cluster

/// `spikesweep sweep` under the real `mpirun`, end to end.
@Suite(.serialized, .enabled(if: MPIRunner.shouldRun, Comment(rawValue: MPIRunner.skipMessage)))
struct MPISweepTests {
    static let spec = """
        name: mpi
        data: {synthetic: {count: 300, seed: 1}}
        cv: {folds: 2}
        epochs: 3
        seed: 4
        grid: {beta: [0.8, 0.95], hidden: [24, 48, 64]}
        fixed: {batch_size: 32}
        """
    static let taskCount = 12

    static func rows(_ url: URL) -> [[String]] {
        guard let text = try? String(contentsOf: url, encoding: .utf8) else { return [] }
        return Array(CSV.parse(text).records.dropFirst())
    }

    /// task id → (status, val accuracy, train accuracy, train loss) from folds.csv.
    static func foldResults(_ dir: URL) -> [String: [String]] {
        Dictionary(rows(dir.appendingPathComponent("folds.csv")).map { ($0[0], [$0[3], $0[4], $0[5], $0[6]]) }, uniquingKeysWith: { a, _ in a })
    }

    /// epochs.csv without its wall-time column, sorted.
    static func epochResults(_ dir: URL) -> [String] {
        rows(dir.appendingPathComponent("epochs.csv")).map { $0.dropLast().joined(separator: ",") }.sorted()
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

    static func workers(_ dir: URL) -> Set<String> { Set(rows(dir.appendingPathComponent("folds.csv")).map { $0[9] }) }

    /// The "coordinator: X s CPU over Y s (Z% of a core)" line's Z.
    static func coordinatorPercent(_ stdout: String) -> Double? {
        guard let line = stdout.split(separator: "\n").first(where: { $0.hasPrefix("coordinator: ") }),
              let open = line.firstIndex(of: "("), let percent = line[open...].firstIndex(of: "%") else { return nil }
        return Double(line[line.index(after: open)..<percent])
    }

    func writeSpec(_ root: URL, _ text: String = spec, name: String = "mpi.yaml") throws -> URL {
        let url = root.appendingPathComponent(name)
        try text.write(to: url, atomically: true, encoding: .utf8)
        return url
    }

    /// Every rank draws a random or Sobol search's configurations itself, from the spec alone:
    /// rank 0 refuses a rank whose plan differs, and the results equal a local run's.
    @Test(arguments: ["random", "sobol"])
    func sampledSearchesDrawTheSameConfigurationsOnEveryRank(strategy: String) throws {
        try #require(MPIRunner.mpirun != nil, Comment(rawValue: MPIRunner.missingMessage))
        let root = try SharedData.makeTemporaryDirectory(); defer { try? FileManager.default.removeItem(at: root) }
        let specURL = try writeSpec(root, """
            name: search
            data: {synthetic: {count: 200, seed: 1}}
            cv: {folds: 2}
            epochs: 1
            grid:
              beta: {uniform: [0.7, 0.95]}
              lr: {loguniform: [1e-3, 2e-2]}
              hidden: {int: [8, 48], log: true}
            search: {strategy: \(strategy), samples: 5, seed: 7}
            fixed: {batch_size: 32}
            """, name: "search.yaml")
        let local = try CLIRunner.run(["sweep", specURL.path, "--workers", "2", "--results", root.appendingPathComponent("local").path, "--quiet"])
        try #require(local.status == 0, "\(local.stderr)")
        let reference = Self.foldResults(root.appendingPathComponent("local/search"))
        #expect(reference.count == 10)
        let results = root.appendingPathComponent("np2")
        let run = try MPIRunner.run(ranks: 2, ["sweep", specURL.path, "--results", results.path])
        try #require(run.status == 0, "\(run.stderr)")
        #expect(run.stderr.contains("[rank 1] task "), "rank 1 ran tasks: \(run.stderr)")
        #expect(Self.foldResults(results.appendingPathComponent("search")) == reference)
        let configs = Set(Self.rows(results.appendingPathComponent("search/folds.csv")).map { $0[1] })
        #expect(configs.count == 5)
    }

    /// A halving sweep under 3 ranks: every rung is a barrier on rank 0 (ranks that ask for
    /// work while the rung's last tasks are out wait), so the results are the local run's.
    @Test func halvingUnderThreeRanksGivesTheLocalRunsLeaderboard() throws {
        try #require(MPIRunner.mpirun != nil, Comment(rawValue: MPIRunner.missingMessage))
        let root = try SharedData.makeTemporaryDirectory(); defer { try? FileManager.default.removeItem(at: root) }
        let specURL = try writeSpec(root, TestSpecs.halving, name: "halving.yaml")
        let local = try CLIRunner.run(["sweep", specURL.path, "--workers", "2", "--results", root.appendingPathComponent("local").path, "--quiet"])
        try #require(local.status == 0, "\(local.stderr)")
        let localDir = root.appendingPathComponent("local/halving")
        let results = root.appendingPathComponent("np3")
        let run = try MPIRunner.run(ranks: 3, oversubscribe: true, ["sweep", specURL.path, "--results", results.path])
        try #require(run.status == 0, "\(run.stderr)")
        let dir = results.appendingPathComponent("halving")
        #expect(run.stdout.contains("39 tasks run (0 already done, 0 failed)"), "\(run.stdout)")
        #expect(run.stderr.contains("rung 2 of 3: 3 configurations x 3 folds to 3 epochs from 1, 9 tasks to run"), "\(run.stderr)")
        #expect(Self.foldResults(dir) == Self.foldResults(localDir))
        #expect(Self.epochResults(dir) == Self.epochResults(localDir))
        #expect(try Self.leaderboardWithoutTimes(dir) == Self.leaderboardWithoutTimes(localDir))
        #expect(Self.workers(dir).contains("rank 1") && Self.workers(dir).contains("rank 2"))
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: dir.appendingPathComponent("checkpoints").path)) ?? []).isEmpty)
    }

    @Test func oneTwoAndThreeRanksGiveTheLocalRunsFoldAccuracies() throws {
        try #require(MPIRunner.mpirun != nil, Comment(rawValue: MPIRunner.missingMessage))
        let root = try SharedData.makeTemporaryDirectory(); defer { try? FileManager.default.removeItem(at: root) }
        // 8 epochs rather than 3, so that the coordinator loop lasts long enough (about half a
        // second) for its share of a core to measure its waiting, not its fixed bookkeeping of
        // about a millisecond per result: with 3 epochs the whole loop took 0.2 s.
        let specURL = try writeSpec(root, Self.spec.replacingOccurrences(of: "epochs: 3", with: "epochs: 8"))
        let local = try CLIRunner.run(["sweep", specURL.path, "--workers", "2", "--results", root.appendingPathComponent("local").path, "--quiet"])
        try #require(local.status == 0, "\(local.stderr)")
        let localDir = root.appendingPathComponent("local/mpi")
        let reference = Self.foldResults(localDir)
        #expect(reference.count == Self.taskCount)
        #expect(reference.values.allSatisfy { $0[0] == "ok" })

        for (ranks, oversubscribe) in [(1, false), (2, false), (3, true)] {
            let results = root.appendingPathComponent("np\(ranks)")
            let run = try MPIRunner.run(ranks: ranks, oversubscribe: oversubscribe, ["sweep", specURL.path, "--results", results.path])
            try #require(run.status == 0, "mpirun -np \(ranks): \(run.stderr)")
            let dir = results.appendingPathComponent("mpi")
            #expect(Self.foldResults(dir) == reference, "-np \(ranks): fold results differ from the local run")
            #expect(Self.epochResults(dir) == Self.epochResults(localDir), "-np \(ranks): epoch metrics differ from the local run")
            #expect(try Self.leaderboardWithoutTimes(dir) == Self.leaderboardWithoutTimes(localDir))
            // Rank 0 prints the leaderboard, the summary and its coordinator's cost; every
            // other rank a start line and one line per task.
            #expect(run.stdout.contains("rank  accuracy"), "\(run.stdout)")
            #expect(run.stdout.contains("\(Self.taskCount) tasks run (0 already done, 0 failed)") && run.stdout.contains("on \(ranks) rank\(ranks == 1 ? "" : "s") (tasks per rank: "))
            let percent = try #require(Self.coordinatorPercent(run.stdout), "\(run.stdout)")
            #expect(percent < 10, "coordinator used \(percent)% of a core")
            #expect(run.stderr.contains("sweep mpi: 6 configurations x 2 folds = 12 tasks, 8 epochs each, \(ranks) rank\(ranks == 1 ? "" : "s") (mpirun)"))
            let workers = Self.workers(dir)
            #expect(workers.isSubset(of: Set((0..<ranks).map { "rank \($0)" })), "\(workers)")
            for rank in 1..<max(1, ranks) {
                #expect(run.stderr.contains("[rank \(rank)] spikesweep "), "\(run.stderr)")
                let taskLines = run.stderr.split(separator: "\n").filter { $0.hasPrefix("[rank \(rank)] task ") }
                let rowsOfRank = Self.rows(dir.appendingPathComponent("folds.csv")).filter { $0[9] == "rank \(rank)" }
                #expect(taskLines.count == rowsOfRank.count)
            }
            if ranks > 1 { #expect(workers.contains("rank 1"), "rank 1 trained nothing: tasks did not travel over MPI") }
        }

        // --mpi without a launcher: a one-rank MPI job (Open MPI's singleton start).
        let forced = try CLIRunner.run(["sweep", specURL.path, "--mpi", "--results", root.appendingPathComponent("forced").path, "--quiet"],
                                       environment: MPIRunner.environment)
        #expect(forced.status == 0, "\(forced.stderr)")
        #expect(forced.stdout.contains("on 1 rank (tasks per rank: \(Self.taskCount))"), "\(forced.stdout)")
        #expect(Self.foldResults(root.appendingPathComponent("forced/mpi")) == reference)
    }

    @Test func aKilledRankEndsTheJobAndTheRerunFinishesOnlyTheMissingTasks() throws {
        try #require(MPIRunner.mpirun != nil, Comment(rawValue: MPIRunner.missingMessage))
        let root = try SharedData.makeTemporaryDirectory(); defer { try? FileManager.default.removeItem(at: root) }
        let specURL = try writeSpec(root)
        let reference = try CLIRunner.run(["sweep", specURL.path, "--workers", "2", "--results", root.appendingPathComponent("a").path, "--quiet"])
        try #require(reference.status == 0, "\(reference.stderr)")
        let referenceDir = root.appendingPathComponent("a/mpi")

        let results = root.appendingPathComponent("b")
        let dir = results.appendingPathComponent("mpi")
        let folds = dir.appendingPathComponent("folds.csv")
        let mpirun = try MPIRunner.makeProcess(ranks: 2, ["sweep", specURL.path, "--results", results.path, "--quiet"])
        try mpirun.run()
        var deadline = Date().addingTimeInterval(120)
        let checkpointDir = dir.appendingPathComponent("checkpoints")
        func checkpoints() -> [String] {
            ((try? FileManager.default.contentsOfDirectory(atPath: checkpointDir.path)) ?? [])
                .filter { $0.hasSuffix(".ckpt") && !$0.hasPrefix(".") }
        }
        // Kill once two tasks are recorded and both ranks are mid-training: two checkpoints of
        // tasks without a result (a finished task's checkpoint lingers until rank 0 says it
        // recorded the result).
        func midTraining() -> Int {
            let recorded = Set(Self.rows(folds).map { $0[0] })
            return checkpoints().filter { !recorded.contains(String($0.dropLast(".ckpt".count))) }.count
        }
        while (Self.rows(folds).count < 2 || midTraining() < 2) && Date() < deadline && mpirun.isRunning { usleep(2_000) }
        let victim = try #require(MPIRunner.rankProcess(1, of: mpirun.processIdentifier), "rank 1 not found among mpirun's children")
        #expect(kill(victim, SIGKILL) == 0)
        deadline = Date().addingTimeInterval(60)
        while mpirun.isRunning && Date() < deadline { usleep(10_000) }
        if mpirun.isRunning { kill(mpirun.processIdentifier, SIGKILL) }
        mpirun.waitUntilExit()
        #expect(mpirun.terminationReason == .exit && mpirun.terminationStatus != 0, "mpirun must notice the dead rank and fail")
        let before = Self.rows(folds)
        #expect(before.count >= 2 && before.count < Self.taskCount, "killed with \(before.count) of \(Self.taskCount) rows recorded")

        // No rank survives the job, and the results folder is free again.
        deadline = Date().addingTimeInterval(30)
        while !MPIRunner.processes(commandLineContaining: results.path).isEmpty && Date() < deadline { usleep(10_000) }
        #expect(MPIRunner.processes(commandLineContaining: results.path).isEmpty, "orphaned ranks still running")
        let lock = open(dir.appendingPathComponent(".lock").path, O_RDWR)
        #expect(lock >= 0 && flock(lock, LOCK_EX | LOCK_NB) == 0, "the results folder is still locked")
        close(lock)

        // Tasks mid-training when the rank died (a checkpoint beside a recorded result is one the
        // killed rank had not dropped yet; the rerun removes it).
        let recorded = Set(before.map { $0[0] })
        let inFlight = checkpoints().map { String($0.dropLast(".ckpt".count)) }.filter { !recorded.contains($0) }
        let rerun = try MPIRunner.run(ranks: 2, ["sweep", specURL.path, "--results", results.path])
        #expect(rerun.status == 0, "\(rerun.stderr)")
        // Tasks that were mid-training resume from their checkpoints, on whichever rank gets them.
        #expect(!inFlight.isEmpty, "no task was mid-training when the rank was killed")
        for id in inFlight {
            #expect(rerun.stderr.contains("task \(id) (config ") && rerun.stderr.contains("resuming from its checkpoint"),
                    "task \(id) did not resume from its checkpoint: \(rerun.stderr)")
        }
        #expect(rerun.stderr.contains("\(before.count) of \(Self.taskCount) tasks already done, running \(Self.taskCount - before.count)"))
        let missing = Self.taskCount - before.count
        #expect(rerun.stdout.contains("\(missing) task\(missing == 1 ? "" : "s") run (\(before.count) already done, 0 failed)"))
        let after = Self.rows(folds)
        #expect(after.count == Self.taskCount)
        #expect(Set(after.map { $0[0] }).count == Self.taskCount, "no task recorded twice")
        #expect(Array(after.prefix(before.count)).map { $0[0] } == before.map { $0[0] }, "earlier rows untouched")
        #expect(Self.foldResults(dir) == Self.foldResults(referenceDir))
        #expect(try Self.leaderboardWithoutTimes(dir) == Self.leaderboardWithoutTimes(referenceDir))
        let checkpoints = (try? FileManager.default.contentsOfDirectory(atPath: dir.appendingPathComponent("checkpoints").path)) ?? []
        #expect(checkpoints.isEmpty, "checkpoints left behind: \(checkpoints)")
    }

    @Test func aFailingTaskIsRecordedWithItsErrorAndTheOthersFinish() throws {
        try #require(MPIRunner.mpirun != nil, Comment(rawValue: MPIRunner.missingMessage))
        let root = try SharedData.makeTemporaryDirectory(); defer { try? FileManager.default.removeItem(at: root) }
        let specURL = try writeSpec(root)
        let plan = SweepPlan(spec: try SweepSpec.load(path: specURL.path), datasetFingerprint: 0)
        let failing = [plan.configIDs[1], plan.configIDs[4]]
        let run = try MPIRunner.run(ranks: 2, ["sweep", specURL.path, "--results", root.path],
                                    environment: ["SPIKESWEEP_TEST_FAIL_CONFIGS": failing.joined(separator: ",")],
                                    executable: CLIRunner.testTool)
        #expect(run.status == 4, "\(run.stderr)")
        #expect(run.stderr.contains("spikesweep: 4 tasks failed; their errors are in folds.csv (--retry-failed runs them again)"))
        #expect(run.stdout.contains("12 tasks run (0 already done, 4 failed)"))
        let rows = Self.rows(root.appendingPathComponent("mpi/folds.csv"))
        #expect(rows.count == Self.taskCount)
        let failed = rows.filter { $0[3] == "failed" }
        #expect(Set(failed.map { $0[1] }) == Set(failing) && failed.count == 4)
        #expect(failed.allSatisfy { $0[$0.count - 2].contains("diverged") && $0[4].isEmpty && $0.last == "1" }, "\(failed)")
        #expect(rows.filter { $0[3] == "ok" }.allSatisfy { Double($0[4]) != nil })
        // Failures may happen on either rank; the worker ranks report them on their task lines.
        let failedOnRank1 = failed.filter { $0[9] == "rank 1" }.count
        #expect(run.stderr.split(separator: "\n").filter { $0.hasPrefix("[rank 1] task ") && $0.contains(": failed: ") }.count == failedOnRank1)
    }

    @Test func ranksOfAnotherBuildOrSweepAreRefused() throws {
        try #require(MPIRunner.mpirun != nil, Comment(rawValue: MPIRunner.missingMessage))
        let root = try SharedData.makeTemporaryDirectory(); defer { try? FileManager.default.removeItem(at: root) }
        let specURL = try writeSpec(root)
        let binary = CLIRunner.executable.path
        // MPMD: rank 1 poses as another build.
        let results = root.appendingPathComponent("r")
        let otherBuild = try MPIRunner.runMPI(["-np", "1", binary, "sweep", specURL.path, "--results", results.path, ":",
                                               "-np", "1", "env", "SPIKESWEEP_TEST_TOOL_VERSION=0.0.9", CLIRunner.testTool.path, "sweep", specURL.path,
                                               "--results", results.path], timeout: 120)
        #expect(otherBuild.status != 0)
        #expect(otherBuild.stderr.contains("Error: refusing rank 1: it runs spikesweep 0.0.9 (message format \(MessageEnvelope.formatVersion)), rank 0 runs spikesweep "),
                "\(otherBuild.stderr)")
        #expect(Self.rows(results.appendingPathComponent("mpi/folds.csv")).isEmpty, "nothing ran")

        // Rank 1 loads a spec with another seed under the same name.
        let otherSpec = try writeSpec(root, Self.spec.replacingOccurrences(of: "seed: 4", with: "seed: 5"), name: "other.yaml")
        let otherSweep = try MPIRunner.runMPI(["-np", "1", binary, "sweep", specURL.path, "--results", results.path, ":",
                                               "-np", "1", binary, "sweep", otherSpec.path, "--results", results.path], timeout: 120)
        #expect(otherSweep.status != 0)
        #expect(otherSweep.stderr.contains("Error: refusing rank 1: it loaded sweep 'mpi' (spec hash "), "\(otherSweep.stderr)")
        #expect(otherSweep.stderr.contains("every rank must load the same spec and data"))

        // A rank that cannot load its data says so through rank 0, which ends the job.
        let missing = try writeSpec(root, Self.spec.replacingOccurrences(of: "{synthetic: {count: 300, seed: 1}}", with: "{train: nowhere.spk}"),
                                    name: "missing.yaml")
        let cannotLoad = try MPIRunner.runMPI(["-np", "1", binary, "sweep", specURL.path, "--results", results.path, ":",
                                               "-np", "1", binary, "sweep", missing.path, "--results", results.path], timeout: 120)
        #expect(cannotLoad.status != 0)
        #expect(cannotLoad.stderr.contains("Error: rank 1 cannot run: "), "\(cannotLoad.stderr)")
    }
}
