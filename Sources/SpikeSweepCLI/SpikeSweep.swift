import ArgumentParser
import Foundation
import SpikeSupport
import Sweeps

/// The `spikesweep` command tree. The executable's `main.swift` calls `start(dependencies:)`.
package struct SpikeSweep: ParsableCommand {
    package static let configuration = CommandConfiguration(
        commandName: "spikesweep",
        abstract: "Hyper-parameter sweeps of spiking neural networks on N-MNIST.",
        discussion: """
            Prepare data once, train and benchmark the engine, run sweeps locally, under \
            mpirun or as Slurm jobs, and read ranked leaderboards.
            """,
        version: ToolVersion.string,
        subcommands: [DataCommand.self, Train.self, Evaluate.self, Bench.self, Sweep.self, LeaderboardCommand.self, Collect.self,
                      SlurmCommand.self, Final.self, Report.self, Plan.self, Doctor.self])

    package init() {}

    /// The path of this binary: for Slurm jobs to run, and for `bench` to measure each case
    /// in a process of its own.
    static var executablePath: String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
            ?? URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL.path
    }

    /// What the shipped tool leaves at its defaults and a test tool may replace.
    nonisolated(unsafe) static var dependencies = CLIDependencies()

    /// Parses the command line, runs the command and exits. This is the one place where errors
    /// reach the user, each as one line on stderr (`Error: …`): a wrong command line with
    /// status 64 (help and version print as usual), any error of a command with status 1; an
    /// `ExitCode` ends with that status.
    package static func start(dependencies: CLIDependencies = CLIDependencies()) -> Never {
        Self.dependencies = dependencies
        var command: ParsableCommand
        do { command = try parseAsRoot() } catch {
            // --help and --version as ArgumentParser prints them; a wrong command line as one line.
            let status = exitCode(for: error)
            if status == .success { exit(withError: error) }
            Console.error("Error: \(OneLine.clean(message(for: error))) (see spikesweep help)")
            Foundation.exit(status.rawValue)
        }
        do {
            try command.run()
            Foundation.exit(0)
        } catch let code as ExitCode {
            Foundation.exit(code.rawValue)
        } catch let error as UserFacingError {
            Console.error("Error: \(error.oneLine)")
        } catch where String(reflecting: type(of: error)).hasPrefix("ArgumentParser.") {
            exit(withError: error)  // e.g. `--help`, which ArgumentParser answers from `run`
        } catch {
            Console.error("Error: \(OneLine.clean("\(error)"))")
        }
        Foundation.exit(1)
    }
}

/// What the command line can be given from outside. The shipped binary uses the defaults; the
/// test tool (`Tests/TestTool`) injects its doubles here.
package struct CLIDependencies: Sendable {
    /// Makes chosen sweep tasks diverge on purpose (nil: never).
    package var faultInjection: FaultInjector?
    /// The build version MPI ranks announce to each other.
    package var toolVersion: String
    /// Called when a sweep's rung starts handing out tasks (nil: nothing).
    package var rungOpened: (@Sendable (Int) -> Void)?

    package init(faultInjection: FaultInjector? = nil, toolVersion: String = ToolVersion.string) {
        self.faultInjection = faultInjection
        self.toolVersion = toolVersion
    }
}
