import Cluster
import Foundation
import Sweeps
import Testing
import TestSupport

/// Incomplete array sweeps on the real cluster: what collect reports and exits with, and the
/// resubmissions that finish them.
extension SlurmJobTests {
    /// `scontrol show job` fields of `id` (Slurm remembers an ended job for MinJobAge, 300 s here).
    func jobFields(_ id: String) throws -> [String: String] {
        try #require(try Slurm.job(id), "Slurm no longer knows job \(id)")
    }

    /// The newest collect job's id.
    func latestCollectJob(_ dir: URL) throws -> String {
        try #require(try SlurmTestCluster.submittedJobs(dir).last { $0.kind == "collect" }).id
    }

    /// The output of the newest collect job.
    func latestCollectLog(_ dir: URL) throws -> String {
        let id = try latestCollectJob(dir)
        return try String(contentsOf: dir.appendingPathComponent("slurm/logs/collect-\(id).out"), encoding: .utf8)
    }

    /// The command after `resubmit them: ` in a collect output.
    func resubmitCommand(_ collect: String) throws -> String {
        let line = try #require(collect.split(separator: "\n").first { $0.hasPrefix("resubmit them: ") }, "no resubmit command in:\n\(collect)")
        return String(line.dropFirst("resubmit them: ".count))
    }

    /// The lines listing tasks ("  <task id> task <index>, config …").
    func listedTasks(_ collect: String) -> [Substring] {
        collect.split(separator: "\n").filter { $0.hasPrefix("  ") }
    }

    /// Runs `command` through `/bin/sh -c` in `cwd`, as a user pasting it would, with the test
    /// tool's variables emptied (jobs then run the recorded binary, with no fault injected).
    func runInShell(_ command: String, in cwd: URL) throws -> CLIRunner.Result {
        try CLIRunner.run(executable: URL(fileURLWithPath: "/bin/sh"), ["-c", command],
                          environment: ["SPIKESWEEP_BIN": "", "SPIKESWEEP_TEST_FAIL_CONFIGS": ""], currentDirectory: cwd)
    }

    /// Elements 3 and 4 of a 5-element array are cancelled before they start (the node's two
    /// CPUs are busy with elements 0 and 1). The collect job lists exactly their tasks, writes a
    /// leaderboard that ranks the complete configurations first and marks the others, and exits 3.
    /// A resubmit of complete elements is refused without submitting anything; the command
    /// collect printed, run in a shell, completes the sweep.
    @Test func collectAfterScancelListsTheMissingTasksAndItsCommandCompletesTheSweep() throws {
        let reference = try Self.reference.get()
        let cwd = try SharedData.makeTemporaryDirectory(); defer { try? FileManager.default.removeItem(at: cwd) }
        _ = try submit([Self.smoke.path, "--mode", "array", "--array-size", "5"], in: cwd)
        let dir = cwd.appendingPathComponent("results/smoke")
        let arrayJob = try #require(try SlurmTestCluster.submittedJobs(dir).first { $0.kind == "array" }).id
        let cancelled = ["\(arrayJob)_3", "\(arrayJob)_4"]
        let before = Dictionary(try Slurm.queue().map { ($0.id, $0.state) }) { a, _ in a }
        #expect(cancelled.allSatisfy { before[$0] == "PENDING" }, "elements 3 and 4 were not waiting: \(before)")
        let cancel = try ProgramRun.run("scancel", cancelled)
        #expect(cancel.status == 0, "\(cancel.stderr)")
        // A pending element cancelled leaves no record at all (scontrol: "Job …_3 not found").
        #expect(try Slurm.queue().allSatisfy { !cancelled.contains($0.id) })
        try waitForAll(dir)

        // Collect ran in its job, listed element 3's and 4's tasks (tasks 3 and 4) and failed with 3.
        let collectJob = try jobFields(try latestCollectJob(dir))
        #expect(collectJob["JobState"] == "FAILED" && collectJob["ExitCode"] == "3:0", "\(collectJob)")
        let collect = try latestCollectLog(dir)
        #expect(collect.contains("collected 6 of 8 tasks from 3 shards"), "\(collect)")
        #expect(collect.contains("missing: 2 tasks"), "\(collect)")
        let plan = try SweepPlan.load(resultsDirectory: dir)
        let listed = listedTasks(collect)
        #expect(listed.count == 2, "\(collect)")
        for index in [3, 4] {
            let task = plan.tasks[index]
            let line = "  \(task.id) task \(index), config \(task.configID) (\(plan.label(ofConfig: task.configIndex))), fold \(task.fold) (array element \(index))"
            #expect(listed.contains { $0 == line }, "missing \(line) in:\n\(collect)")
        }
        let command = try resubmitCommand(collect)
        #expect(command.hasSuffix(" slurm resubmit \(dir.path) --elements 3-4"), "\(command)")

        // The leaderboard: the complete configurations first, then the two with one fold of two,
        // marked, with no standard deviation, although one of them beats a complete one.
        let incomplete = Set([plan.tasks[3].configID, plan.tasks[4].configID])
        let board = ResultFiles.rows(dir.appendingPathComponent("leaderboard.csv"))
        #expect(board.map { $0[0] } == ["1", "2", "3", "4"], "\(board)")
        #expect(board.prefix(2).allSatisfy { $0[6] == "2" && $0[7] == "2" && !$0[3].isEmpty && !incomplete.contains($0[1]) }, "\(board)")
        #expect(board.suffix(2).allSatisfy { $0[6] == "1" && $0[7] == "2" && $0[3].isEmpty && incomplete.contains($0[1]) }, "\(board)")
        let weakestComplete = try #require(board.prefix(2).compactMap { Double($0[2]) }.min())
        #expect(board.suffix(2).contains { (Double($0[2]) ?? 0) > weakestComplete },
                "no incomplete configuration beats a complete one: the order proves nothing")
        let referenceBoard = Dictionary(ResultFiles.rows(reference.appendingPathComponent("leaderboard.csv")).map { ($0[1], $0) }) { a, _ in a }
        for row in board.prefix(2) {
            #expect(row[2...5] == referenceBoard[row[1]]?[2...5], "complete configuration \(row[1]) differs from the local run")
        }
        let markdown = try String(contentsOf: dir.appendingPathComponent("leaderboard.md"), encoding: .utf8)
        let tableRows = markdown.split(separator: "\n").filter { $0.hasPrefix("| ") && !$0.hasPrefix("| Rank") }
        #expect(tableRows.count == 4, "\(markdown)")
        #expect(tableRows.prefix(2).allSatisfy { $0.hasSuffix(" | 2/2 |  |") && !$0.contains("—") }, "\(markdown)")
        #expect(tableRows.suffix(2).allSatisfy { $0.hasSuffix(" | 1/2 incomplete |  |") && $0.split(separator: "|")[2].trimmingCharacters(in: .whitespaces) == "—" },
                "\(markdown)")

        // slurm status: the cancelled elements ended without their tasks.
        let status = try CLIRunner.run(["slurm", "status", dir.path])
        #expect(status.stdout.contains("sweep smoke: array mode, 8 tasks, 6/8 done"), "\(status.stdout)\(status.stderr)")
        for element in [3, 4] {
            let line = status.stdout.split(separator: "\n").first { $0.hasPrefix("\(element) ") }.map(String.init) ?? ""
            #expect(line.contains("\(arrayJob)_\(element)") && line.contains("ended, incomplete") && line.hasSuffix("0/1 done"), "\(status.stdout)")
        }

        // Resubmitting elements that are complete says so in one line and submits nothing.
        let submissionFile = dir.appendingPathComponent("slurm/submission.json")
        let recorded = try Data(contentsOf: submissionFile)
        let refused = try CLIRunner.run(["slurm", "resubmit", dir.path, "--elements", "0,2"], currentDirectory: cwd)
        #expect(refused.status == 1)
        #expect(refused.stderr == "Error: \(dir.path): elements 0,2 have nothing to run (every task has a result); nothing to resubmit\n",
                "\(refused.stderr)")
        #expect(refused.stdout.isEmpty, "\(refused.stdout)")
        #expect(try Data(contentsOf: submissionFile) == recorded, "submission.json changed")
        #expect(SlurmTestCluster.jobs(submittedFrom: cwd) == [], "a refused resubmit queued jobs")

        // The printed command, run as a user would, completes the sweep.
        let resubmit = try runInShell(command, in: cwd)
        #expect(resubmit.status == 0, "\(resubmit.stdout)\(resubmit.stderr)")
        #expect(resubmit.stdout.contains("elements 3-4 of 5"), "\(resubmit.stdout)")
        #expect(resubmit.stderr.isEmpty, "\(resubmit.stderr)")
        try waitForAll(dir)
        let finalCollect = try jobFields(try latestCollectJob(dir))
        #expect(finalCollect["JobState"] == "COMPLETED" && finalCollect["ExitCode"] == "0:0", "\(finalCollect)")
        #expect(try latestCollectLog(dir).contains("collected 8 of 8 tasks from 5 shards"))
        try expectSameResults(dir, as: reference, "after resubmitting the cancelled elements")
    }

    /// Configuration 1's tasks (array elements 2 and 3 of 4) diverge in a test tool passed with
    /// SPIKESWEEP_BIN through sbatch. collect lists them with their errors, exits 4 and prints a
    /// `--retry-failed` command. A resubmit of elements 1-2 runs only element 2 (a note names
    /// element 1, which has nothing to run); the command collect prints next, run in a shell,
    /// completes the sweep, and folds.csv shows attempt 2 for the retried tasks.
    @Test func failedTasksAreRetriedByTheCommandCollectPrints() throws {
        let reference = try Self.reference.get()
        let cwd = try SharedData.makeTemporaryDirectory(); defer { try? FileManager.default.removeItem(at: cwd) }
        let plannedIDs = SweepPlan(spec: try SweepSpec.load(path: Self.smoke.path), datasetFingerprint: 0).configIDs
        _ = try submit([Self.smoke.path, "--mode", "array", "--array-size", "4"], in: cwd,
                       environment: ["SPIKESWEEP_BIN": CLIRunner.testTool.path, "SPIKESWEEP_TEST_FAIL_CONFIGS": plannedIDs[1]])
        let dir = cwd.appendingPathComponent("results/smoke")
        try waitForAll(dir)
        let plan = try SweepPlan.load(resultsDirectory: dir)
        #expect(plan.tasks[2].configID == plannedIDs[1] && plan.tasks[3].configID == plannedIDs[1])

        let arrayJob = try #require(try SlurmTestCluster.submittedJobs(dir).first { $0.kind == "array" }).id
        for element in [2, 3] {
            let fields = try jobFields("\(arrayJob)_\(element)")
            #expect(fields["JobState"] == "FAILED" && fields["ExitCode"] == "4:0", "element \(element): \(fields)")
        }
        let collectJob = try jobFields(try latestCollectJob(dir))
        #expect(collectJob["JobState"] == "FAILED" && collectJob["ExitCode"] == "4:0", "\(collectJob)")
        let collect = try latestCollectLog(dir)
        #expect(collect.contains("collected 6 of 8 tasks"), "\(collect)")
        #expect(collect.contains("failed: 2 tasks") && !collect.contains("missing:"), "\(collect)")
        let listed = listedTasks(collect)
        #expect(listed.count == 2, "\(collect)")
        for index in [2, 3] {
            let task = plan.tasks[index]
            #expect(listed.contains { $0.hasPrefix("  \(task.id) task \(index), config \(task.configID) ") && $0.contains("(array element \(index)): ")
                        && $0.contains("diverged") }, "task \(index) not listed with its error:\n\(collect)")
        }
        let command = try resubmitCommand(collect)
        #expect(command.hasSuffix(" slurm resubmit \(dir.path) --elements 2-3 --retry-failed"), "\(command)")

        // Without --retry-failed a failure is a result: nothing to resubmit.
        let withoutRetry = try CLIRunner.run(["slurm", "resubmit", dir.path, "--elements", "2"], currentDirectory: cwd)
        #expect(withoutRetry.status == 1 && withoutRetry.stderr == "Error: \(dir.path): every task has a result; nothing to resubmit\n",
                "\(withoutRetry.stderr)")

        // A mix: element 1 is complete and left out with a note, element 2 is submitted alone.
        let mixed = try CLIRunner.run(["slurm", "resubmit", dir.path, "--elements", "1,2", "--retry-failed"],
                                      environment: ["SPIKESWEEP_BIN": "", "SPIKESWEEP_TEST_FAIL_CONFIGS": ""], currentDirectory: cwd)
        #expect(mixed.status == 0, "\(mixed.stderr)")
        #expect(mixed.stderr == "spikesweep: leaving out element 1: nothing to run\n", "\(mixed.stderr)")
        #expect(mixed.stdout.contains(": elements 2 of 4 (array indices 2)"), "\(mixed.stdout)")
        let jobs = try SlurmTestCluster.submittedJobs(dir)
        #expect(jobs.map(\.kind) == ["array", "collect", "array", "collect"] && jobs[2].elements == [2], "\(jobs)")
        try waitForAll(dir)
        let second = try latestCollectLog(dir)
        #expect(second.contains("collected 7 of 8 tasks") && second.contains("failed: 1 task"), "\(second)")
        let next = try resubmitCommand(second)
        #expect(next.hasSuffix(" slurm resubmit \(dir.path) --elements 3 --retry-failed"), "\(next)")

        // The printed command, with the fault gone, completes the sweep.
        let retry = try runInShell(next, in: cwd)
        #expect(retry.status == 0, "\(retry.stdout)\(retry.stderr)")
        try waitForAll(dir)
        let finalCollect = try jobFields(try latestCollectJob(dir))
        #expect(finalCollect["JobState"] == "COMPLETED" && finalCollect["ExitCode"] == "0:0", "\(finalCollect)")
        #expect(try latestCollectLog(dir).contains("collected 8 of 8 tasks"))

        // Attempt 2 for the retried tasks (the last column), 1 for the others; otherwise the
        // local run's results.
        let rows = ResultFiles.rows(dir.appendingPathComponent("folds.csv"))
        #expect(rows.count == 8)
        let retried = Set([plan.tasks[2].id, plan.tasks[3].id])
        for row in rows {
            #expect(row.last == (retried.contains(row[0]) ? "2" : "1") && row[3] == "ok" && row[row.count - 2].isEmpty, "\(row)")
        }
        func withoutAttempt(_ rows: [String]) -> [String] { rows.map { String($0[..<$0.lastIndex(of: ",")!]) } }
        #expect(withoutAttempt(ResultFiles.folds(dir)) == withoutAttempt(ResultFiles.folds(reference)), "folds.csv differs from the local run")
        #expect(ResultFiles.epochs(dir) == ResultFiles.epochs(reference), "epochs.csv differs from the local run")
        #expect(try ResultFiles.leaderboard(dir) == ResultFiles.leaderboard(reference), "leaderboard differs from the local run")
    }
}
