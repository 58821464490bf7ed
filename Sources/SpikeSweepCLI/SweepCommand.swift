import ArgumentParser
import Cluster
import Foundation
import SpikeEvents
import SpikeNet
import SpikeSupport
import Sweeps

extension SpikeSweep {
    struct Sweep: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run a hyper-parameter sweep: every (configuration, fold) task, ranked by mean fold accuracy.",
            discussion: """
                Results go to RESULTS/<name>/: spec.yaml, manifest.json, folds.csv and epochs.csv \
                (one row per finished task, written as it finishes), leaderboard.csv and leaderboard.md. \
                Re-running the same spec skips finished tasks, so an interrupted sweep resumes; a \
                different spec under the same name is refused unless --fresh.

                Under mpirun or srun (or with --mpi) the sweep runs on MPI: rank 0 hands out tasks, \
                trains too and writes the results; every rank trains one task at a time.

                With --array-size N --array-element I (what a Slurm array element runs; see \
                `spikesweep slurm submit`) only the tasks whose index is I mod N run, and their rows \
                go to RESULTS/<name>/shards/element-I.*.csv; `spikesweep collect` merges the shards.

                A spec with search: {scheduler: halving, min_epochs: 1, max_epochs: 15, eta: 3} runs \
                successive halving: rungs of 1, 3, 9 and 15 epochs, each keeping the best third by mean \
                fold accuracy and continuing their runs from the previous rung's checkpoints. A rung \
                is a barrier (for workers, ranks and Slurm arrays alike), so the leaderboard does not \
                depend on how the sweep ran or how often it was stopped; an array element runs its \
                share of the rung the results have reached.

                SIGUSR1, SIGTERM, SIGHUP or Ctrl-C stop a run cleanly: running tasks save a checkpoint \
                mid-epoch and the run exits with status 75; running it again resumes them. Under \
                mpirun, send SIGUSR1 to mpirun (it forwards it to every rank); mpirun turns SIGTERM, \
                SIGINT and SIGHUP into a kill of the ranks after odls_base_sigkill_timeout seconds \
                (default 1; give --mca odls_base_sigkill_timeout 8 for clean stops) and exits 1. A full \
                disk stops it the same way (status 74): no result is lost and no failure recorded.

                A task whose training diverges is a result (status failed, with its error): a rerun \
                skips it, --retry-failed runs it again (its attempt number is recorded).

                Examples:
                  spikesweep sweep sweeps/smoke.yaml
                  spikesweep sweep sweeps/nmnist-small-table1.yaml --workers 2
                  mpirun -np 4 spikesweep sweep sweeps/smoke.yaml

                """ + SweepExitStatus.help)

        @Argument(help: "The sweep spec (YAML).")
        var spec: String

        @Option(parsing: .unconditional, help: "In-process workers, each training one task single-threaded (default: the number of cores).")
        var workers: Int?

        @Option(help: "Results root folder; the sweep writes to RESULTS/<name>/.")
        var results = "results"

        @Flag(help: "Move existing results of a different spec (same name) aside and start over.")
        var fresh = false

        @Flag(help: "No progress lines.")
        var quiet = false

        @Flag(help: "Run on MPI even when no launcher (mpirun, srun) is detected.")
        var mpi = false

        @Flag(help: "Run tasks whose recorded result is a failure again (their attempt number is recorded).")
        var retryFailed = false

        @Flag(help: "Run a sweep of more than \(SweepSpec.taskLimit) tasks.")
        var allowLarge = false

        @Flag(help: "Print the run's summary as one JSON object on stdout (local runs), instead of the leaderboard.")
        var json = false

        @Option(parsing: .unconditional, help: ArgumentHelp("Split the sweep into N array elements (with --array-element).", valueName: "N"))
        var arraySize: Int?

        @Option(parsing: .unconditional, help: ArgumentHelp("Run only array element I (0 ≤ I < N): the tasks whose index is I mod N.", valueName: "I"))
        var arrayElement: Int?

        func validate() throws {
            if let workers, workers < 1 { throw ToolError("--workers must be >= 1, got \(workers)") }
            switch (arraySize, arrayElement) {
            case (nil, nil): break
            case let (n?, i?):
                if n < 1 { throw ToolError("--array-size must be >= 1, got \(n)") }
                if i < 0 || i >= n { throw ToolError("--array-element must be in 0..<\(n), got \(i)") }
                if fresh { throw ToolError("--fresh cannot be used by an array element (submit with --fresh instead)") }
                if mpi { throw ToolError("--mpi and --array-element do not go together") }
            default: throw ToolError("--array-size and --array-element go together")
            }
        }

        func run() throws {
            let launch = MPIEnvironment.detect()
            if mpi || launch != nil {
                try runMPI(launch: launch)
                return
            }
            var options = LocalSweepOptions(settings())
            options.workers = workers ?? ProcessInfo.processInfo.activeProcessorCount
            options.element = arraySize.map { (partition: ArrayPartition(size: $0), index: arrayElement!) }
            options.reporter = ConsoleReporter(quiet: quiet)
            let report = try LocalSweep.run(options)
            let summary = report.summary
            if json {
                struct Output: Encodable { var directory: String; var status: Int32; var summary: SweepRunSummary }
                try Console.json(Output(directory: report.directory.path, status: report.status.rawValue, summary: summary))
                if report.status != .complete { throw ExitCode(report.status.rawValue) }
                return
            }
            let counts = "\(Format.count(summary.tasksRun, "task")) run (\(summary.tasksSkipped) already done, \(summary.tasksFailed) failed"
                + (summary.tasksInterrupted > 0 ? ", \(summary.tasksInterrupted) checkpointed" : "") + ") in "
                + Format.duration(summary.seconds)
            if let board = report.leaderboard { print(board.top(10).table, terminator: "") }
            if let part = report.part {
                print("\(part): \(counts); rows in \(report.directory.path)/shards/")
            } else {
                print("\(counts); results in \(report.directory.path)/")
            }
            Self.explain(report.status, failed: summary.tasksFailed, interrupted: summary.tasksInterrupted,
                         signal: report.stoppedBy, failure: report.failure)
        }

        /// What a local run and an MPI rank both take from the command line (installs the stop signals).
        func settings() -> SweepSettings {
            var settings = SweepSettings(specPath: spec, resultsRoot: URL(fileURLWithPath: results))
            settings.fresh = fresh
            settings.faultInjection = SpikeSweep.dependencies.faultInjection
            settings.rungOpened = SpikeSweep.dependencies.rungOpened
            settings.stop = Self.installStop()
            settings.policy = RerunPolicy(retryFailed: retryFailed)
            settings.allowLarge = allowLarge
            return settings
        }

        /// The signals that stop a run cleanly (a second Ctrl-C ends it at once). While the run
        /// sets up (loading data, planning) nothing is running yet: a signal ends it right away.
        static func installStop() -> StopSignal {
            StopSignal.install([SIGUSR1, SIGTERM, SIGINT, SIGHUP]) { signal in
                Console.error("spikesweep: stopped on \(StopSignal.name(signal)) while setting up; no task had started")
                Foundation.exit(SweepExitStatus.stopped.rawValue)
            }
        }

        /// One line on stderr for anything but a complete run, then the exit status.
        static func explain(_ status: SweepExitStatus, failed: Int, interrupted: Int, signal: Int32?, failure: String?) {
            switch status {
            case .complete, .error:
                break
            case .tasksFailed:
                Console.error("spikesweep: \(Format.count(failed, "task")) failed; their errors are in folds.csv "
                    + "(--retry-failed runs them again)")
            case .tasksMissing:
                Console.error("spikesweep: some tasks have no result yet; run the same command again")
            case .writeFailed:
                Console.error("spikesweep: stopped: \(failure ?? "a write failed"); running tasks kept their last checkpoint, "
                    + "no result was lost; free space and run the same command again to resume")
            case .stopped:
                Console.error("spikesweep: stopped on \(StopSignal.name(signal ?? SIGTERM)); \(Format.count(interrupted, "running task")) "
                    + "saved a checkpoint; run the same command again to resume")
            }
            if status != .complete { Foundation.exit(status.rawValue) }
        }

        /// One rank of an MPI sweep; only rank 0 gets a report to print.
        func runMPI(launch: MPILaunch?) throws {
            if workers != nil && launch?.rank ?? 0 == 0 {
                Console.error("spikesweep: --workers is ignored under MPI (every rank trains one task at a time)")
            }
            let quiet = self.quiet
            var options = MPISweepOptions(settings())
            options.reporter = { rank in ConsoleReporter(prefix: rank == 0 ? "" : "[rank \(rank)] ", quiet: quiet) }
            options.toolVersion = SpikeSweep.dependencies.toolVersion
            options.launch = launch
            let report: MPISweepReport
            do {
                guard let rankZero = try MPISweep.run(options) else { return }
                report = rankZero
            } catch let failure as MPIRankFailure {
                Console.error((failure.rank == 0 ? "" : "[rank \(failure.rank)] ") + "Error: \(failure.oneLine)")
                failure.endJob()
            }
            print(report.leaderboard.top(10).table, terminator: "")
            print("\(Format.count(report.tasksRun, "task")) run (\(report.tasksSkipped) already done, \(report.tasksFailed) failed"
                + (report.tasksInterrupted > 0 ? ", \(report.tasksInterrupted) checkpointed" : "") + ") in "
                + "\(Format.duration(report.seconds)) on \(Format.count(report.ranks, "rank")) (tasks per rank: "
                + report.tasksPerRank.map(String.init).joined(separator: " ") + "); results in \(report.directory.path)/")
            print(report.coordinatorLine)
            Self.explain(report.status, failed: report.tasksFailed, interrupted: report.tasksInterrupted,
                         signal: report.stoppedBy, failure: report.failure)
        }
    }

    struct LeaderboardCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "leaderboard",
            abstract: "Show a sweep's configurations ranked by mean fold accuracy.",
            discussion: """
                Every configuration is trained on the same folds, so each complete one is compared with the \
                best fold by fold (paired t-test, p adjusted with Holm's method for the number of \
                comparisons): "vs best" shows that p, with ≈ where it is at least 0.05 — not distinguishable \
                from the best on these folds — and the note under the table names the cheapest such \
                configuration (least training time per fold). It takes 3 folds or more.

                Examples:
                  spikesweep leaderboard results/table1 --top 10
                  spikesweep leaderboard results/table1 --where 'hidden>=400 and beta==0.9'
                  spikesweep leaderboard results/table1 --by window_us
                  spikesweep leaderboard results/table1 --compare 3f2a91c0 b07d
                """)

        enum Format: String, ExpressibleByArgument, CaseIterable { case table, csv, md, json }

        @Argument(help: "A sweep results folder (results/<name>).")
        var resultsDirectory: String

        @Option(parsing: .unconditional, help: "Show only the best N configurations (after --where).")
        var top: Int?

        @Option(help: "table, csv, md or json.")
        var format: Format = .table

        @Option(name: .customLong("where"), help: ArgumentHelp("Only configurations matching a condition: KEY OP VALUE clauses joined by 'and', OP one of == != >= <= > <.", valueName: "condition"))
        var condition: String?

        @Option(help: ArgumentHelp("The mean accuracy per value of one parameter (over the configurations with it).", valueName: "parameter"))
        var by: String?

        @Option(parsing: .upToNextOption, help: ArgumentHelp("Two configurations (ids or unique prefixes) fold by fold, with the paired t-test.", valueName: "id id"))
        var compare: [String] = []

        func validate() throws {
            if let top, top < 1 { throw ToolError("--top must be >= 1, got \(top)") }
            if !compare.isEmpty && compare.count != 2 { throw ToolError("--compare takes two configuration ids, got \(compare.count)") }
            if let by, Hyperparameter.named(by) == nil {
                throw ToolError("--by: unknown parameter '\(by)'; parameters: \(Hyperparameter.all.map(\.key).joined(separator: ", "))")
            }
            if let condition { _ = try Leaderboard.Condition(condition) }
        }

        func run() throws {
            let directory = URL(fileURLWithPath: resultsDirectory)
            let plan = try SweepPlan.load(resultsDirectory: directory)
            let outcomes = try ResultsFiles.readAll(directory: directory)
            var board = Leaderboard(plan: plan, outcomes: outcomes)
            if compare.count == 2 {
                print(try board.comparison(compare[0], compare[1]), terminator: "")
                return
            }
            if let condition { board = board.filtered(try Leaderboard.Condition(condition)) }
            if let by, let parameter = Hyperparameter.named(by) {
                // Listed values in the spec's order; drawn ones in five groups by value.
                let effect = plan.spec.grid.first { $0.parameter == parameter }
                    .map { board.effect(of: parameter, values: $0.values.map(\.description)) } ?? board.binnedEffect(of: parameter)
                print(Leaderboard.table(effect), terminator: "")
                return
            }
            if let top { board = board.top(top) }
            switch format {
            case .table: print(board.table, terminator: "")
            case .csv: print(board.csv, terminator: "")
            case .md: print(board.markdown, terminator: "")
            case .json:
                try Console.json(board)
            }
        }
    }
}
