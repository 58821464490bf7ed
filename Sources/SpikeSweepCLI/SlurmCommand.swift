import ArgumentParser
import Cluster
import Foundation
import SpikeEvents
import SpikeSupport
import Sweeps

extension SpikeSweep {
    struct SlurmCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "slurm",
            abstract: "Run a sweep as Slurm jobs: submit, follow, resubmit what is missing.",
            discussion: """
                Array mode: element i of N runs the tasks whose index is i mod N and writes its own \
                shard; a collect job (--dependency=afterany) merges the shards and writes the \
                leaderboard. MPI mode: one job, `srun --mpi=pmix spikesweep sweep`. Both request \
                --signal=B:USR1@<s> and --requeue: ahead of the time limit workers checkpoint and the \
                job requeues itself, resuming where it stopped.

                Examples:
                  spikesweep slurm submit sweeps/table1.yaml --array-size 40 --throttle 10
                  spikesweep slurm submit sweeps/smoke.yaml --mode mpi --profile local
                  spikesweep slurm status results/table1
                  spikesweep collect results/table1
                  spikesweep slurm resubmit results/table1 --elements 3,17
                """,
            subcommands: [Submit.self, Status.self, Resubmit.self])
    }
}

extension SpikeSweep.SlurmCommand {
    /// How to name this binary in a printed command: `spikesweep` when that is what PATH finds.
    static var displayName: String {
        let mine = SpikeSweep.executablePath
        if let found = Subprocess.which("spikesweep"),
           URL(fileURLWithPath: found).resolvingSymlinksInPath().path == URL(fileURLWithPath: mine).resolvingSymlinksInPath().path {
            return "spikesweep"
        }
        return mine
    }

    static func printReport(_ report: SlurmSubmitReport, dryRun: Bool) {
        let s = report.submission
        for note in report.notes { Console.error("spikesweep: \(note)") }
        if dryRun {
            print("dry run: scripts written to \(s.resultsDirectory)/slurm/; these commands would be run (the collect job "
                + "depends on the job ids the first ones print):")
            for command in report.commands { print("  " + Shell.command(["sbatch"] + command)) }
            return
        }
        let logs = "\(s.resultsDirectory)/slurm/logs"
        for job in report.submission.jobs.suffix(report.jobIDs.count) {
            let rung = job.rung.map { "rung \($0 + 1): " } ?? ""
            switch job.kind {
            case "array":
                let elements = job.elements ?? []
                let size = job.rung.flatMap { s.rungArraySizes?[$0] } ?? s.arraySize
                let after = (job.rung ?? 0) > 0 ? " (after the previous rung's collect)" : ""
                print("\(rung)submitted array job \(job.id)\(after): elements \(Collector.indexList(elements)) of \(size) "
                    + "(array indices \(Collector.indexList(elements.map { $0 - (job.offset ?? 0) }))); logs \(logs)/array-\(job.id)_<index>.out")
            case "mpi":
                print("submitted MPI job \(job.id); log \(logs)/mpi-\(job.id).out")
            default:
                print("\(rung)submitted collect job \(job.id) (runs when those end, whatever their state); log \(logs)/collect-\(job.id).out")
            }
        }
        print("follow it: \(Shell.command([displayName, "slurm", "status", s.resultsDirectory]))")
    }

    struct Submit: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a sweep's batch scripts under RESULTS/<name>/slurm/ and submit them with a collect job.",
            discussion: """
                The spec and its data are checked here, on the login node, before anything is queued. \
                Resources come from a profile (--profile habrok, the default, or local, or a KEY=VALUE \
                file like slurm/habrok.env); --time, --mem, --partition and --ntasks override it. Arrays \
                longer than the cluster's MaxArraySize are split into several array jobs.
                """)

        @Argument(help: "The sweep spec (YAML).")
        var spec: String

        @Option(help: "array (one element per slice of tasks) or mpi (one job).")
        var mode: SlurmMode = .array

        @Option(parsing: .unconditional, help: "Array elements (default: the profile's ARRAY_SIZE, at most one per task).")
        var arraySize: Int?

        @Option(parsing: .unconditional, help: "Run at most K array elements at a time (sbatch --array=…%K, per array job).")
        var throttle: Int?

        @Option(help: "Wall time per element or MPI job, e.g. 12:00:00 or 2-00:00:00.")
        var time: String?

        @Option(help: "Memory per element (array) or per rank (MPI), e.g. 8G.")
        var mem: String?

        @Option(help: "Partition.")
        var partition: String?

        @Option(parsing: .unconditional, help: "Ranks of an MPI-mode job.")
        var ntasks: Int?

        @Option(help: "Profile: habrok, local, or the path of a KEY=VALUE file.")
        var profile = "habrok"

        @Option(help: "Results root folder; the sweep writes to RESULTS/<name>/.")
        var results = "results"

        @Flag(help: "Write the scripts and print the sbatch commands without submitting.")
        var dryRun = false

        @Flag(help: "Move existing results of a different spec (same name) aside first.")
        var fresh = false

        @Flag(help: "Submit a sweep of more than \(SweepSpec.taskLimit) tasks.")
        var allowLarge = false

        func validate() throws {
            if let arraySize, arraySize < 1 { throw ToolError("--array-size must be >= 1, got \(arraySize)") }
            if let throttle, throttle < 1 { throw ToolError("--throttle must be >= 1, got \(throttle)") }
            if let ntasks, ntasks < 1 { throw ToolError("--ntasks must be >= 1, got \(ntasks)") }
            if let time, !SlurmProfile.isTime(time) { throw ToolError("--time must be a Slurm time like 12:00:00 or 1-00:00:00, got '\(time)'") }
            if let mem, !SlurmProfile.isMemory(mem) { throw ToolError("--mem must be a size like 8G or 4000M, got '\(mem)'") }
            if let partition, !SlurmProfile.isName(partition) { throw ToolError("--partition must be a partition name, got '\(partition)'") }
            if mode == .mpi && (arraySize != nil || throttle != nil) { throw ToolError("--array-size and --throttle are for --mode array") }
        }

        func run() throws {
            var p = try SlurmProfile.load(profile)
            if let time { p.time = time }
            if let mem { p.mem = mem }
            if let partition { p.partition = partition; p.collectPartition = partition }
            var options = SlurmSubmitOptions(specPath: spec, resultsRoot: URL(fileURLWithPath: results), mode: mode, profile: p,
                                             binary: SpikeSweep.executablePath)
            (options.arraySize, options.throttle, options.ntasks) = (arraySize, throttle, ntasks)
            (options.dryRun, options.fresh, options.allowLarge) = (dryRun, fresh, allowLarge)
            let report = try SlurmSubmitter.submit(options)
            SpikeSweep.SlurmCommand.printReport(report, dryRun: dryRun)
        }
    }

    struct Resubmit: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Submit again the array elements with missing or failed tasks (or the MPI job), plus a collect job.",
            discussion: """
                Uses the scripts and arguments recorded by `slurm submit`. Finished tasks are never run \
                again; interrupted ones resume from their checkpoints. `spikesweep collect` prints the \
                exact command for what is missing.
                """)

        @Argument(help: "A sweep results folder (results/<name>).")
        var resultsDirectory: String

        @Option(help: "Array elements to submit, e.g. 1,4-6 (default: every element with a task to run).")
        var elements: String?

        @Flag(help: "Run tasks whose recorded result is a failure again, too.")
        var retryFailed = false

        @Flag(help: "Print the sbatch commands without submitting.")
        var dryRun = false

        func run() throws {
            let list = try elements.map(Self.parseList)
            let report = try SlurmSubmitter.resubmit(resultsDirectory: URL(fileURLWithPath: resultsDirectory), elements: list,
                                                     policy: RerunPolicy(retryFailed: retryFailed), dryRun: dryRun)
            SpikeSweep.SlurmCommand.printReport(report, dryRun: dryRun)
        }

        static func parseList(_ text: String) throws -> [Int] {
            var out: [Int] = []
            for part in text.split(separator: ",") {
                let ends = part.split(separator: "-", omittingEmptySubsequences: false)
                guard (1...2).contains(ends.count), let a = Int(ends[0]), let b = Int(ends.last!), a <= b, a >= 0 else {
                    throw ToolError("--elements: '\(part)' is not an element or a range like 4-6")
                }
                out += Array(a...b)
            }
            guard !out.isEmpty else { throw ToolError("--elements is empty") }
            return out
        }
    }

    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Per array element: its Slurm state (squeue) and the tasks its shard holds.",
            discussion: "Needs no accounting database: jobs Slurm no longer lists are judged by their results.")

        @Argument(help: "A sweep results folder (results/<name>).")
        var resultsDirectory: String

        func run() throws {
            let report = try SlurmStatusReport.read(directory: URL(fileURLWithPath: resultsDirectory))
            if let problem = report.queueProblem { Console.error("spikesweep: \(problem); showing results only") }
            func tasksLine(_ t: SlurmStatusReport.TaskCounts) -> String {
                "\(t.ok)/\(t.total) done" + (t.failed > 0 ? ", \(t.failed) failed" : "")
            }
            print("sweep \(report.plan.spec.name): \(report.submission.mode.rawValue) mode, \(report.tasks.total) tasks, \(tasksLine(report.tasks))")
            if let rung = report.rung {
                print("rung \(rung + 1) of \(report.plan.rungs.count) (\(report.plan.rungs[rung].epochs) epochs): its array job's elements")
            }
            if report.submission.mode == .array {
                print("element  job          state                  elapsed    tasks")
                for e in report.elements {
                    print(pad(String(e.element), 9) + pad(e.jobID, 13) + pad(e.state, 23) + pad(e.elapsed ?? "-", 11) + tasksLine(e.tasks))
                }
            } else if let job = report.mpiJob {
                print("MPI job \(job.id): \(job.state) \(job.elapsed ?? "")")
            }
            if let collect = report.collectJob {
                print("collect job \(collect.id): \(collect.state ?? "ended; see \(resultsDirectory)/slurm/logs/collect-\(collect.id).out")")
            }
        }

        func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s + " " : s + String(repeating: " ", count: n - s.count) }
    }
}

extension SlurmMode: ExpressibleByArgument {}

extension SpikeSweep {
    struct Collect: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Merge a sweep's shards into folds.csv, write the leaderboard, list what is missing.",
            discussion: """
                Rows of the same task are merged by task id (a result wins over a failure). Missing and \
                failed tasks are listed with the command that resubmits only their array elements. \
                Exits 0 when every task has an ok result, 3 when some have none, 4 when all have one \
                and some failed (the printed command then runs them again with --retry-failed). A \
                halving sweep whose rungs so far are all done exits 0 too (the next rung's array job \
                waits for that), and the lines say which configurations go on.
                """)

        @Argument(help: "A sweep results folder (results/<name>).")
        var resultsDirectory: String

        @Flag(help: "Only the summary lines (no leaderboard).")
        var quiet = false

        func run() throws {
            let directory = URL(fileURLWithPath: resultsDirectory).standardizedFileURL
            let report = try SweepCollection.collect(directory: directory, tool: SpikeSweep.SlurmCommand.displayName)
            let result = report.result, plan = result.plan
            if !quiet { print(result.leaderboard.top(10).table, terminator: "") }
            let ok = result.outcomes.filter { $0.status == .ok }.count
            print("collected \(ok) of \(plan.plannedTaskCount) tasks from \(Format.count(result.shards, "shard")); "
                + "folds.csv and leaderboard written to \(directory.path)/")
            if result.isBetweenRungs, let r = result.rungs.current {
                print("rung \(r) of \(plan.rungs.count) is done: \(Format.count(result.rungs.entering[r].count, "configuration")) go on to "
                    + "\(plan.rungs[r].epochs) epochs (\(Format.count(result.rungs.currentTasks.count, "task")))")
            }
            guard let next = report.nextCommand else { return }
            let errors = Dictionary(result.outcomes.map { ($0.taskID, $0.error) }, uniquingKeysWith: { a, _ in a })
            for (tasks, what) in [(result.missing, "missing"), (result.failed, "failed")] where !tasks.isEmpty {
                print("\(what): \(Format.count(tasks.count, "task"))")
                for t in tasks {
                    let element = report.partition.map { " (array element \($0.element(of: t)))" } ?? ""
                    let error = (errors[t.id] ?? nil).map { ": \($0)" } ?? ""
                    print("  \(t.id) task \(t.index), config \(t.configID) (\(plan.label(ofConfig: t.configIndex))), fold \(t.fold)\(element)\(error)")
                }
            }
            print((next[1] == "sweep" ? "run them: " : "resubmit them: ") + Shell.command(next))
            throw ExitCode((result.missing.isEmpty ? SweepExitStatus.tasksFailed : .tasksMissing).rawValue)
        }
    }
}
