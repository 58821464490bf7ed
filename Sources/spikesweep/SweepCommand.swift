import ArgumentParser
import Cluster
import Foundation
import SpikeEvents
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

                SIGUSR1, SIGTERM or Ctrl-C stop a local run cleanly: running tasks save a checkpoint \
                mid-epoch and the run exits with status 75; running it again resumes them.

                Examples:
                  spikesweep sweep sweeps/smoke.yaml
                  spikesweep sweep sweeps/nmnist-small-table1.yaml --workers 2
                  mpirun -np 4 spikesweep sweep sweeps/smoke.yaml
                """)

        @Argument(help: "The sweep spec (YAML).")
        var spec: String

        @Option(help: "In-process workers, each training one task single-threaded (default: the number of cores).")
        var workers: Int?

        @Option(help: "Results root folder; the sweep writes to RESULTS/<name>/.")
        var results = "results"

        @Flag(help: "Move existing results of a different spec (same name) aside and start over.")
        var fresh = false

        @Flag(help: "No progress lines.")
        var quiet = false

        @Flag(help: "Run on MPI even when no launcher (mpirun, srun) is detected.")
        var mpi = false

        @Option(help: ArgumentHelp("Split the sweep into N array elements (with --array-element).", valueName: "N"))
        var arraySize: Int?

        @Option(help: ArgumentHelp("Run only array element I (0 ≤ I < N): the tasks whose index is I mod N.", valueName: "I"))
        var arrayElement: Int?

        func validate() throws {
            if let workers, workers < 1 { throw ValidationError("--workers must be >= 1, got \(workers)") }
            switch (arraySize, arrayElement) {
            case (nil, nil): break
            case let (n?, i?):
                if n < 1 { throw ValidationError("--array-size must be >= 1, got \(n)") }
                if i < 0 || i >= n { throw ValidationError("--array-element must be in 0..<\(n), got \(i)") }
                if fresh { throw ValidationError("--fresh cannot be used by an array element (submit with --fresh instead)") }
                if mpi { throw ValidationError("--mpi and --array-element do not go together") }
            default: throw ValidationError("--array-size and --array-element go together")
            }
        }

        func run() throws {
            let launch = MPIEnvironment.detect()
            if mpi || launch != nil {
                try runMPI(launch: launch)
                return
            }
            let stop = StopSignal.install([SIGUSR1, SIGTERM, SIGINT])
            let session = try SweepSession(specPath: spec, resultsRoot: URL(fileURLWithPath: results))
            let store: ResultsStore
            if let arrayElement {
                guard FileManager.default.fileExists(atPath: session.directory.appendingPathComponent("manifest.json").path) else {
                    throw ResultsError("\(session.directory.path): no manifest.json; array elements write into a folder that "
                        + "`spikesweep slurm submit` (or a plain `spikesweep sweep`) created")
                }
                store = try ResultsStore(directory: session.directory, plan: session.plan, shard: arrayElement)
            } else {
                store = try session.openStore(fresh: fresh)
            }
            let runner = try session.makeRunner(failingConfigIDs: SweepSession.testFailingConfigIDs)
            runner.stopSignal = stop
            runner.notice = { line in FileHandle.standardError.write(Data("spikesweep: \(line)\n".utf8)) }
            let count = workers ?? ProcessInfo.processInfo.activeProcessorCount
            var selected: ((SweepTask) -> Bool)?
            var part: (label: String, tasks: Int)?
            var prefix = "local/"
            if let n = arraySize, let i = arrayElement {
                selected = { $0.index % n == i }
                part = ("array element \(i) of \(n)", session.plan.tasks.filter { $0.index % n == i }.count)
                prefix = "element \(i)/"
            }
            let progress = SweepProgress(plan: session.plan, store: store, recordings: session.dataset.count, enabled: !quiet, part: part)
            let summary = try LocalExecutor(workers: count, workerPrefix: prefix)
                .run(plan: session.plan, store: store, runner: runner, progress: progress, selected: selected, stop: stop)
            let counts = "\(summary.tasksRun) tasks run (\(summary.tasksSkipped) already done, \(summary.tasksFailed) failed"
                + (summary.tasksInterrupted > 0 ? ", \(summary.tasksInterrupted) checkpointed" : "") + ") in "
                + "\(ProgressReporter.duration(summary.seconds))"
            if arrayElement == nil {
                let board = try store.writeLeaderboards()
                print(board.top(10).table, terminator: "")
                print("\(counts); results in \(session.directory.path)/")
            } else {
                print("\(part!.label): \(counts); rows in \(store.directory.path)/shards/")
            }
            if summary.tasksFailed > 0 {
                FileHandle.standardError.write(Data("spikesweep: \(summary.tasksFailed) tasks failed; their errors are in the results\n".utf8))
            }
            if let signal = stop.signal {
                FileHandle.standardError.write(Data(("spikesweep: stopped on \(StopSignal.name(signal)); \(summary.tasksInterrupted) running "
                    + "task\(summary.tasksInterrupted == 1 ? "" : "s") saved a checkpoint; run the same command again to resume\n").utf8))
                throw ExitCode(75)
            }
        }

        /// One rank of an MPI sweep; only rank 0 gets a report to print.
        func runMPI(launch: MPILaunch?) throws {
            if workers != nil && launch?.rank ?? 0 == 0 {
                FileHandle.standardError.write(Data("spikesweep: --workers is ignored under MPI (every rank trains one task at a time)\n".utf8))
            }
            let options = MPISweepOptions(specPath: spec, resultsRoot: URL(fileURLWithPath: results), fresh: fresh, quiet: quiet,
                                          failingConfigIDs: SweepSession.testFailingConfigIDs, launch: launch)
            guard let report = try MPISweep.run(options) else { return }
            print(report.leaderboard.top(10).table, terminator: "")
            print("\(report.tasksRun) tasks run (\(report.tasksSkipped) already done, \(report.tasksFailed) failed) in "
                + "\(ProgressReporter.duration(report.seconds)) on \(report.ranks) rank\(report.ranks == 1 ? "" : "s") (tasks per rank: "
                + report.tasksPerRank.map(String.init).joined(separator: " ") + "); results in \(report.directory.path)/")
            print(report.coordinatorLine)
            if report.tasksFailed > 0 {
                FileHandle.standardError.write(Data("spikesweep: \(report.tasksFailed) tasks failed; their errors are in folds.csv\n".utf8))
            }
        }
    }

    struct LeaderboardCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "leaderboard",
            abstract: "Show a sweep's configurations ranked by mean fold accuracy.")

        enum Format: String, ExpressibleByArgument, CaseIterable { case table, csv, md, json }

        @Argument(help: "A sweep results folder (results/<name>).")
        var resultsDirectory: String

        @Option(help: "Show only the best N configurations.")
        var top: Int?

        @Option(help: "table, csv, md or json.")
        var format: Format = .table

        func run() throws {
            let directory = URL(fileURLWithPath: resultsDirectory)
            let plan = try SweepPlan.load(resultsDirectory: directory)
            let outcomes = try ResultsStore.readOutcomes(directory: directory)
            var board = Leaderboard(plan: plan, outcomes: outcomes)
            if let top { board = board.top(top) }
            switch format {
            case .table: print(board.table, terminator: "")
            case .csv: print(board.csv, terminator: "")
            case .md: print(board.markdown, terminator: "")
            case .json:
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys]
                print(String(decoding: try encoder.encode(board), as: UTF8.self))
            }
        }
    }
}
