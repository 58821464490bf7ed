import Foundation
import SpikeEvents
import Sweeps

/// What an MPI sweep needs from the command line.
public struct MPISweepOptions: Sendable {
    public var specPath: String
    public var resultsRoot: URL
    /// Move existing results of a different spec aside (rank 0 only touches the folder).
    public var fresh: Bool
    /// No progress lines from rank 0 and no `[rank N]` lines from the others.
    public var quiet: Bool
    /// Test hook: tasks of these configurations diverge (see `SweepSession.testFailingConfigIDs`).
    public var failingConfigIDs: Set<String>
    /// The launch detected from the environment, if any (checked against MPI's own view).
    public var launch: MPILaunch?
    /// Bounds of the sleep between polls, in seconds: back to the lower bound after a message,
    /// doubling up to the upper bound while nothing arrives. An idle poll (`MPI_Iprobe`, which
    /// runs Open MPI's progress engine, plus a `nanosleep`) measured about 15 µs of CPU here, so
    /// 4 ms keeps an idle coordinator under 0.5% of a core while delaying a hand-out by at most 4 ms.
    public var poll: ClosedRange<Double>

    public init(specPath: String, resultsRoot: URL, fresh: Bool = false, quiet: Bool = false,
                failingConfigIDs: Set<String> = [], launch: MPILaunch? = MPIEnvironment.detect(),
                poll: ClosedRange<Double> = 0.000_25...0.004) {
        self.specPath = specPath
        self.resultsRoot = resultsRoot
        self.fresh = fresh
        self.quiet = quiet
        self.failingConfigIDs = failingConfigIDs
        self.launch = launch
        self.poll = poll
    }
}

/// What rank 0 reports when an MPI sweep ends.
public struct MPISweepReport: Sendable {
    public var name: String
    public var directory: URL
    public var leaderboard: Leaderboard
    public var ranks: Int
    public var tasksTotal: Int
    public var tasksRun: Int
    public var tasksSkipped: Int
    public var tasksFailed: Int
    /// Tasks each rank ran in this run (index = rank).
    public var tasksPerRank: [Int]
    /// Wall time of the coordinator loop (from the first task handed out to the last result).
    public var seconds: Double
    /// CPU time of rank 0's coordinator loop: its own thread only.
    public var coordinatorCPUSeconds: Double
    /// CPU time of rank 0 apart from its training thread over the same span: the coordinator
    /// plus Open MPI's and Foundation's own threads.
    public var rankZeroOverheadCPUSeconds: Double

    /// e.g. `coordinator: 0.41 s CPU over 312 s (0.13% of a core); rank 0 besides training: 0.52 s (0.17%)`.
    public var coordinatorLine: String {
        func percent(_ cpu: Double) -> String { String(format: "%.2f%%", seconds > 0 ? cpu / seconds * 100 : 0) }
        return String(format: "coordinator: %.2f s CPU over %.1f s (", coordinatorCPUSeconds, seconds) + percent(coordinatorCPUSeconds)
            + " of a core); rank 0 besides training: " + String(format: "%.2f s (", rankZeroOverheadCPUSeconds)
            + percent(rankZeroOverheadCPUSeconds) + ")"
    }
}

/// A problem of the MPI sweep itself (a refused rank, a broken exchange), not of a task.
public struct ClusterError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// A sweep run by every rank of an MPI job.
///
/// Rank 0 coordinates and trains: its main thread runs the coordinator loop (the only thread
/// that calls MPI, as `MPI_THREAD_FUNNELED` requires) and a second thread trains tasks from the
/// same queue. Ranks ≥ 1 load the same spec and data, say hello, and then run one task at a
/// time as rank 0 hands them out, longest expected first. Every outcome is recorded by rank 0
/// in the results store the moment it arrives, so a dead rank (which ends the whole job: MPI's
/// contract) loses only the tasks in flight, and re-running the sweep resumes.
///
/// Nobody spins while waiting: Open MPI's blocking receive busy-polls a core, so every wait is
/// `MPI_Iprobe` and a short sleep.
public enum MPISweep {
    /// Message tag of every sweep message (the envelope says what it is).
    static let tag = 7

    /// Runs this process's part of the sweep, from `MPI_Init` to `MPI_Finalize`.
    /// - Returns: the report on rank 0, nil on other ranks.
    /// - Throws: with a single rank, any error; with several, a rank that fails prints its error
    ///   and ends the job with `MPI_Abort` instead, since the others would wait for it forever.
    public static func run(_ options: MPISweepOptions) throws -> MPISweepReport? {
        let mpi = try MPICommunicator.initializeWorld()
        do {
            if let launch = options.launch, let expected = launch.size, expected > 1, mpi.size == 1 {
                throw ClusterError("started as one of \(expected) tasks by \(launch.launcher), but MPI sees a single process: "
                    + "this Open MPI does not talk to that launcher (under Slurm use srun --mpi=pmix, or mpirun)")
            }
            let report: MPISweepReport?
            if mpi.rank == 0 {
                report = try Coordinator(mpi: mpi, options: options).run()
            } else {
                try Worker(mpi: mpi, options: options).run()
                report = nil
            }
            try mpi.finalize()
            return report
        } catch {
            if mpi.size == 1 {
                try? mpi.finalize()
                throw error
            }
            let prefix = mpi.rank == 0 ? "" : "[rank \(mpi.rank)] "
            FileHandle.standardError.write(Data("\(prefix)Error: \(error)\n".utf8))
            mpi.abort(code: 1)
        }
    }

    static func send(_ message: SweepMessage, to rank: Int, over mpi: MPICommunicator) throws {
        try mpi.send(try MessageEnvelope.encode(message), to: rank, tag: tag)
    }
}

// MARK: - Rank 0

/// Rank 0's coordinator loop and its own training thread.
final class Coordinator {
    let mpi: MPICommunicator
    let options: MPISweepOptions

    init(mpi: MPICommunicator, options: MPISweepOptions) {
        self.mpi = mpi
        self.options = options
    }

    func run() throws -> MPISweepReport {
        let session = try SweepSession(specPath: options.specPath, resultsRoot: options.resultsRoot)
        let store = try session.openStore(fresh: options.fresh)
        let runner = try session.makeRunner(failingConfigIDs: options.failingConfigIDs)
        if !options.quiet { runner.notice = { FileHandle.standardError.write(Data("spikesweep: \($0)\n".utf8)) } }
        let plan = session.plan
        let pending = LocalExecutor.schedule(plan, skipping: store.finishedTaskIDs)
        let total = plan.tasks.count
        let skipped = total - pending.count
        let launcher = options.launch?.launcher ?? "MPI"
        let progress = SweepProgress(plan: plan, store: store, recordings: session.dataset.count, enabled: !options.quiet)
        progress.started(executor: "\(mpi.size) rank\(mpi.size == 1 ? "" : "s") (\(launcher))", skipped: skipped)

        let queue = TaskQueue(pending)
        let inbox = LocalOutcomes()
        let trainer = Thread {
            let cpuStart = threadCPUSeconds()
            while let task = queue.next() {
                inbox.add(task, runner.run(task, worker: "rank 0"))
            }
            inbox.finish(cpuSeconds: threadCPUSeconds() - cpuStart)
        }
        trainer.stackSize = 8 << 20

        var state = LoopState(ranks: mpi.size, done: skipped)
        let record = { (task: SweepTask, outcome: TaskOutcome, rank: Int) throws in
            try store.record(outcome, task: task)
            state.tasksPerRank[rank] += 1
            state.done += 1
            if outcome.status == .failed { state.failed += 1 }
            progress.taskFinished(done: state.done, failed: state.failed)
        }

        let wallStart = Date()
        let coordinatorCPUStart = threadCPUSeconds()
        let processCPUStart = processCPUSeconds()
        trainer.start()
        var pause = options.poll.lowerBound
        while true {
            var didWork = false
            let (outcomes, trainerFinished) = inbox.drain()
            for (task, outcome) in outcomes {
                try record(task, outcome, 0)
                didWork = true
            }
            if let pendingMessage = try mpi.pendingMessage() {
                didWork = true
                let source = pendingMessage.source
                let message = try Self.decode(try mpi.receive(pendingMessage), from: source)
                switch message {
                case .hello(let hello):
                    guard hello.rank == source, state.awaitingHello.remove(source) != nil else {
                        throw ClusterError("rank \(source) said hello twice or as rank \(hello.rank)")
                    }
                    if let mismatch = hello.mismatch(with: plan) {
                        throw ClusterError("refusing rank \(source): \(mismatch); every rank must load the same spec and data")
                    }
                    try handOut(queue, to: source, state: &state)
                case .result(let outcome):
                    guard let task = state.inFlight.removeValue(forKey: source), task.id == outcome.taskID else {
                        throw ClusterError("rank \(source) sent a result for task \(outcome.taskID), which it was not running")
                    }
                    try record(task, outcome, source)
                    try handOut(queue, to: source, state: &state)
                case .failure(let why):
                    throw ClusterError("rank \(source) cannot run: \(why)")
                case .task, .shutdown:
                    throw ClusterError("rank \(source) sent a \(message.kind) message, which only rank 0 sends")
                }
            }
            if trainerFinished && state.shutDown == mpi.size - 1 { break }
            if didWork {
                pause = options.poll.lowerBound
            } else {
                sleepSeconds(pause)
                pause = min(pause * 2, options.poll.upperBound)
            }
        }
        let coordinatorCPU = threadCPUSeconds() - coordinatorCPUStart
        let processCPU = processCPUSeconds() - processCPUStart
        let seconds = Date().timeIntervalSince(wallStart)
        let board = try store.writeLeaderboards()
        return MPISweepReport(name: plan.spec.name, directory: session.directory, leaderboard: board, ranks: mpi.size,
                              tasksTotal: total, tasksRun: pending.count, tasksSkipped: skipped, tasksFailed: state.failed,
                              tasksPerRank: state.tasksPerRank, seconds: seconds, coordinatorCPUSeconds: coordinatorCPU,
                              rankZeroOverheadCPUSeconds: max(0, processCPU - inbox.trainerCPUSeconds))
    }

    /// Sends `rank` its next task, or shutdown when none is left.
    private func handOut(_ queue: TaskQueue, to rank: Int, state: inout LoopState) throws {
        if let task = queue.next() {
            state.inFlight[rank] = task
            try MPISweep.send(.task(task), to: rank, over: mpi)
        } else {
            state.shutDown += 1
            try MPISweep.send(.shutdown, to: rank, over: mpi)
        }
    }

    static func decode(_ bytes: [UInt8], from source: Int) throws -> SweepMessage {
        do {
            return try MessageEnvelope.decode(bytes)
        } catch MessageError.versionMismatch(let tool, let format) {
            throw ClusterError("refusing rank \(source): it runs spikesweep \(tool) (message format \(format)), rank 0 runs spikesweep "
                + "\(MessageEnvelope.toolVersion) (message format \(MessageEnvelope.formatVersion)); run the same build on every rank")
        } catch {
            throw ClusterError("rank \(source) sent an unreadable message: \(error)")
        }
    }
}

/// The coordinator loop's bookkeeping.
struct LoopState {
    var awaitingHello: Set<Int>
    var inFlight: [Int: SweepTask] = [:]
    var shutDown = 0
    var tasksPerRank: [Int]
    var done: Int
    var failed = 0

    init(ranks: Int, done: Int) {
        awaitingHello = Set(1..<max(1, ranks))
        tasksPerRank = Array(repeating: 0, count: ranks)
        self.done = done
    }
}

/// The tasks not yet handed out, shared by the coordinator and rank 0's training thread.
final class TaskQueue: @unchecked Sendable {
    private let lock = NSLock()
    private let tasks: [SweepTask]
    private var nextIndex = 0

    init(_ tasks: [SweepTask]) { self.tasks = tasks }

    func next() -> SweepTask? {
        lock.lock(); defer { lock.unlock() }
        guard nextIndex < tasks.count else { return nil }
        nextIndex += 1
        return tasks[nextIndex - 1]
    }
}

/// Outcomes of rank 0's training thread, waiting for the coordinator to record them.
final class LocalOutcomes: @unchecked Sendable {
    private let lock = NSLock()
    private var outcomes: [(SweepTask, TaskOutcome)] = []
    private var isFinished = false
    private var cpuSeconds = 0.0

    func add(_ task: SweepTask, _ outcome: TaskOutcome) {
        lock.lock(); defer { lock.unlock() }
        outcomes.append((task, outcome))
    }

    func finish(cpuSeconds: Double) {
        lock.lock(); defer { lock.unlock() }
        isFinished = true
        self.cpuSeconds = cpuSeconds
    }

    /// Takes the waiting outcomes; `finished` means the thread is done and these are its last.
    func drain() -> (outcomes: [(SweepTask, TaskOutcome)], finished: Bool) {
        lock.lock(); defer { lock.unlock() }
        let taken = outcomes
        outcomes.removeAll()
        return (taken, isFinished)
    }

    var trainerCPUSeconds: Double {
        lock.lock(); defer { lock.unlock() }
        return cpuSeconds
    }
}

// MARK: - Ranks ≥ 1

/// A worker rank: hello, then task → result until shutdown.
final class Worker {
    let mpi: MPICommunicator
    let options: MPISweepOptions

    init(mpi: MPICommunicator, options: MPISweepOptions) {
        self.mpi = mpi
        self.options = options
    }

    func say(_ line: String) {
        guard !options.quiet else { return }
        FileHandle.standardError.write(Data("[rank \(mpi.rank)] \(line)\n".utf8))
    }

    func run() throws {
        let session: SweepSession
        do {
            session = try SweepSession(specPath: options.specPath, resultsRoot: options.resultsRoot)
        } catch {
            try giveUp("\(error)")
        }
        let plan = session.plan
        try MPISweep.send(.hello(WorkerHello(rank: mpi.rank, plan: plan)), to: 0, over: mpi)
        say("spikesweep \(MessageEnvelope.toolVersion), pid \(getpid()) on \(ProcessInfo.processInfo.hostName): sweep \(plan.spec.name), "
            + "\(plan.tasks.count) tasks, \(session.dataset.count) recordings")
        // The runner (which creates the checkpoint folder) is made only once rank 0 has opened
        // the results folder, i.e. after the first task arrives.
        var runner: EngineTaskRunner?
        while true {
            switch try receive() {
            case .task(let task):
                guard plan.tasks.indices.contains(task.index), plan.tasks[task.index].id == task.id else {
                    throw ClusterError("rank 0 sent task \(task.id), which is not in this rank's plan")
                }
                if runner == nil {
                    do { runner = try session.makeRunner(failingConfigIDs: options.failingConfigIDs) } catch { try giveUp("\(error)") }
                    let say = self.say
                    runner?.notice = { say($0) }
                }
                let outcome = runner!.run(task, worker: "rank \(mpi.rank)")
                let what = outcome.status == .ok
                    ? "ok, val \(String(format: "%.4f", outcome.validationAccuracy ?? .nan))"
                    : "failed: \(outcome.error ?? "")"
                say("task \(task.id) (\(plan.label(ofConfig: task.configIndex)), fold \(task.fold)): \(what) in "
                    + String(format: "%.1fs", outcome.seconds))
                try MPISweep.send(.result(outcome), to: 0, over: mpi)
            case .shutdown:
                return
            case let other:
                throw ClusterError("rank 0 sent a \(other.kind) message, which only workers send")
            }
        }
    }

    private func receive() throws -> SweepMessage {
        let pending = try mpi.waitForMessage(from: 0, tag: MPISweep.tag, poll: options.poll)
        let bytes = try mpi.receive(pending)
        do {
            return try MessageEnvelope.decode(bytes)
        } catch {
            throw ClusterError("refusing rank 0's message: \(error)")
        }
    }

    /// Tells rank 0 this rank cannot work, and waits for it to end the job.
    private func giveUp(_ why: String) throws -> Never {
        try MPISweep.send(.failure(why), to: 0, over: mpi)
        _ = try mpi.waitForMessage(from: 0, poll: options.poll)
        throw ClusterError(why)
    }
}
