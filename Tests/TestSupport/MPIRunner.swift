import Foundation
import SpikeEvents
import SpikeSupport

/// Runs the built `spikesweep` under the real `mpirun`, for integration tests.
///
/// Tests that need `mpirun` skip with `skipMessage` when it is missing, unless `CI` is set:
/// then they run and fail with `missingMessage` (CI installs Open MPI with `scripts/install-deps`).
package enum MPIRunner {
    /// `mpirun` on the PATH, or nil.
    package static let mpirun: URL? = {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for directory in path.split(separator: ":") {
            let candidate = URL(fileURLWithPath: String(directory)).appendingPathComponent("mpirun")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        }
        return nil
    }()

    /// Whether a missing `mpirun` is a failure rather than a skip (the `CI` variable is set).
    package static var isRequired: Bool { !(ProcessInfo.processInfo.environment["CI"] ?? "").isEmpty }

    /// Whether MPI tests should run: `mpirun` is here, or CI requires it.
    package static var shouldRun: Bool { mpirun != nil || isRequired }

    package static let skipMessage = "skipped: mpirun not found (install openmpi-bin; set CI=1 to make this a failure)"
    package static let missingMessage = "mpirun not found but CI is set: install openmpi-bin and libopenmpi-dev (scripts/install-deps)"

    /// What every test run of `mpirun` needs here: running as root in a container is allowed,
    /// and the ob1 messaging layer starts about twice as fast as the default.
    package static let environment = ["OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1", "OMPI_MCA_pml": "ob1"]

    /// `mpirun` arguments for `ranks` copies of `spikesweep arguments…`; `options` (e.g.
    /// `--mca NAME VALUE`) go to mpirun itself.
    package static func arguments(ranks: Int, oversubscribe: Bool = false, options: [String] = [], _ arguments: [String],
                                  executable: URL = CLIRunner.executable) -> [String] {
        ["-np", String(ranks)] + (oversubscribe ? ["--oversubscribe"] : []) + options + [executable.path] + arguments
    }

    /// Runs `mpirun -np ranks spikesweep arguments…` and waits at most `timeout` seconds
    /// (then kills it and reports status -1 with "timed out" appended to stderr).
    /// `executable` may be `CLIRunner.testTool` (test doubles injected).
    package static func run(ranks: Int, oversubscribe: Bool = false, _ arguments: [String], environment: [String: String] = [:],
                            executable: URL = CLIRunner.executable, timeout: TimeInterval = 300) throws -> CLIRunner.Result {
        try runMPI(Self.arguments(ranks: ranks, oversubscribe: oversubscribe, arguments, executable: executable),
                   environment: environment, timeout: timeout)
    }

    /// Runs `mpirun rawArguments…` (for MPMD launches with `:`), bounded by `timeout` seconds.
    package static func runMPI(_ rawArguments: [String], environment: [String: String] = [:],
                              timeout: TimeInterval = 300) throws -> CLIRunner.Result {
        guard let mpirun else { throw MPIRunnerError(missingMessage) }
        var result = try Subprocess.run(mpirun, rawArguments, environment: Self.environment.merging(environment) { $1 },
                                        timeout: timeout)
        if result.timedOut {
            result.status = -1
            result.stderr += "\nmpirun timed out after \(timeout) s\n"
        }
        return result
    }

    /// A configured, not yet started `mpirun` process (output discarded), for tests that
    /// interfere with a running job.
    package static func makeProcess(ranks: Int, _ arguments: [String], environment: [String: String] = [:]) throws -> Process {
        guard let mpirun else { throw MPIRunnerError(missingMessage) }
        let process = makeProcess(Self.arguments(ranks: ranks, arguments), environment: environment, mpirun: mpirun)
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        return process
    }

    /// Starts `mpirun -np ranks [options…] spikesweep arguments…` with its output captured, for
    /// tests that signal it mid-run; `wait` collects the output and the status.
    package static func start(ranks: Int, options: [String] = [], _ arguments: [String],
                              environment: [String: String] = [:]) throws -> Job {
        guard let mpirun else { throw MPIRunnerError(missingMessage) }
        let job = Job(makeProcess(Self.arguments(ranks: ranks, options: options, arguments), environment: environment, mpirun: mpirun))
        try job.start()
        return job
    }

    /// A running `mpirun` whose stdout and stderr are drained while it runs.
    package final class Job: @unchecked Sendable {
        /// How it ended: exit status (128 + N when killed by signal N), and its output.
        package struct Ended: Sendable {
            package var status: Int32
            package var stdout: String
            package var stderr: String
        }

        package let process: Process
        private let out = Pipe(), err = Pipe()
        private let drained = DispatchGroup()
        private var stdout = Data(), stderr = Data()

        init(_ process: Process) {
            self.process = process
            process.standardOutput = out
            process.standardError = err
        }

        /// Spawns mpirun from a thread that blocks no signal. A child inherits the signal mask
        /// of the thread that spawns it (Foundation's `Process` does not reset it), and the test
        /// runner's threads block SIGHUP, SIGINT, SIGTERM, SIGUSR1…: mpirun, whose handlers are
        /// plain `sigaction`s, would never see the signals the tests send it.
        func start() throws {
            final class Outcome: @unchecked Sendable { var error: Error? }
            let outcome = Outcome()
            let spawned = DispatchSemaphore(value: 0)
            let spawner = Thread { [process] in
                var none = sigset_t()
                sigemptyset(&none)
                pthread_sigmask(SIG_SETMASK, &none, nil)
                do { try process.run() } catch { outcome.error = error }
                spawned.signal()
            }
            spawner.start()
            spawned.wait()
            if let error = outcome.error { throw error }
            drained.enter()
            DispatchQueue.global().async { self.stdout = self.out.fileHandleForReading.readDataToEndOfFile(); self.drained.leave() }
            drained.enter()
            DispatchQueue.global().async { self.stderr = self.err.fileHandleForReading.readDataToEndOfFile(); self.drained.leave() }
        }

        package var pid: pid_t { process.processIdentifier }
        package var isRunning: Bool { process.isRunning }

        /// Sends `signal` to mpirun (not to its ranks).
        package func signal(_ signal: Int32) { kill(process.processIdentifier, signal) }

        /// Waits at most `timeout` seconds for mpirun to end; past that, kills it and its ranks
        /// and reports status -1 with "timed out" appended to stderr.
        package func wait(timeout: TimeInterval) -> Ended {
            let deadline = Date().addingTimeInterval(timeout)
            while process.isRunning && Date() < deadline { usleep(20_000) }
            var timedOut = false
            if process.isRunning {
                timedOut = true
                for rank in MPIRunner.children(of: pid) { kill(rank, SIGKILL) }
                kill(pid, SIGKILL)
            }
            process.waitUntilExit()
            drained.wait()
            var result = Ended(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
                               stderr: String(decoding: stderr, as: UTF8.self))
            if process.terminationReason == .uncaughtSignal { result.status = 128 + process.terminationStatus }
            if timedOut {
                result.status = -1
                result.stderr += "\nmpirun timed out after \(timeout) s\n"
            }
            return result
        }
    }

    private static func makeProcess(_ arguments: [String], environment: [String: String], mpirun: URL) -> Process {
        let process = Process()
        process.executableURL = mpirun
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        for (k, v) in Self.environment { env[k] = v }
        for (k, v) in environment { env[k] = v }
        process.environment = env
        process.standardInput = FileHandle.nullDevice
        return process
    }

    /// Pids of the processes whose parent is `parent` (from /proc).
    package static func children(of parent: pid_t) -> [pid_t] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { pid_t($0) }.filter { pid in
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { return false }
            // Fields after "(comm)": state ppid …
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            return fields.count > 1 && pid_t(fields[1]) == parent
        }
    }

    /// The environment variable `name` of process `pid`, or nil.
    package static func environmentVariable(_ name: String, of pid: pid_t) -> String? {
        guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/environ") else { return nil }
        for entry in data.split(separator: 0) {
            let text = String(decoding: entry, as: UTF8.self)
            if text.hasPrefix(name + "=") { return String(text.dropFirst(name.count + 1)) }
        }
        return nil
    }

    /// The pid of MPI rank `rank` among the children of `mpirun` process `launcher`, or nil.
    package static func rankProcess(_ rank: Int, of launcher: pid_t) -> pid_t? {
        children(of: launcher).first { environmentVariable("OMPI_COMM_WORLD_RANK", of: $0) == String(rank) }
    }

    /// Pids of live processes whose command line contains `text` (zombies excluded).
    package static func processes(commandLineContaining text: String) -> [pid_t] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { pid_t($0) }.filter { pid in
            guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline"), !data.isEmpty else { return false }
            let line = String(decoding: data.map { $0 == 0 ? 32 : $0 }, as: UTF8.self)
            return line.contains(text)
        }
    }
}

package struct MPIRunnerError: Error, CustomStringConvertible {
    package var description: String
    package init(_ description: String) { self.description = description }
}
