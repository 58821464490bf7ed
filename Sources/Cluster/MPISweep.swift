import Foundation
import SpikeEvents
import SpikeSupport
import Sweeps

/// What an MPI sweep needs from the command line: the common settings and how the ranks work
/// together.
package struct MPISweepOptions: Sendable, CarriesSweepSettings {
    package var settings: SweepSettings
    /// Where each rank's progress and notices go, given its rank (the command line prefixes
    /// ranks ≥ 1 with `[rank N]`, and `--quiet` silences them all).
    package var reporter: @Sendable (_ rank: Int) -> Reporter = { _ in SilentReporter() }
    /// The build version this rank announces to the others (a test tool may pose as another build).
    package var toolVersion = ToolVersion.string
    /// The launch detected from the environment, if any (checked against MPI's own view).
    package var launch: MPILaunch? = MPIEnvironment.detect()
    /// Bounds of the sleep between polls, in seconds: back to the lower bound after a message,
    /// doubling up to the upper bound while nothing arrives. An idle poll (`MPI_Iprobe`, which
    /// runs Open MPI's progress engine, plus a `nanosleep`) measured about 15 µs of CPU here, so
    /// 4 ms keeps an idle coordinator under 0.5% of a core while delaying a hand-out by at most 4 ms.
    package var poll: ClosedRange<Double> = 0.000_25...0.004

    package init(_ settings: SweepSettings) {
        self.settings = settings
    }
}

/// What rank 0 reports when an MPI sweep ends.
package struct MPISweepReport: Sendable {
    package var name: String
    package var directory: URL
    package var leaderboard: Leaderboard
    package var ranks: Int
    package var tasksTotal: Int
    package var tasksRun: Int
    package var tasksSkipped: Int
    package var tasksFailed: Int
    /// Tasks each rank ran in this run (index = rank).
    package var tasksPerRank: [Int]
    /// Tasks stopped by a signal with a checkpoint, and tasks the environment kept from finishing.
    package var tasksInterrupted: Int
    package var tasksUnfinished: Int
    /// The signal or the environment failure that stopped the sweep early, if any.
    package var stoppedBy: Int32?
    package var failure: String?
    package var status: SweepExitStatus
    /// Wall time of the coordinator loop (from the first task handed out to the last result).
    package var seconds: Double
    /// CPU time of rank 0's coordinator loop: its own thread only.
    package var coordinatorCPUSeconds: Double
    /// CPU time of rank 0 apart from its training thread over the same span: the coordinator
    /// plus Open MPI's and Foundation's own threads.
    package var rankZeroOverheadCPUSeconds: Double

    /// e.g. `coordinator: 0.41 s CPU over 312 s (0.13% of a core); rank 0 besides training: 0.52 s (0.17%)`.
    package var coordinatorLine: String {
        func percent(_ cpu: Double) -> String { String(format: "%.2f%%", seconds > 0 ? cpu / seconds * 100 : 0) }
        return String(format: "coordinator: %.2f s CPU over %.1f s (", coordinatorCPUSeconds, seconds) + percent(coordinatorCPUSeconds)
            + " of a core); rank 0 besides training: " + String(format: "%.2f s (", rankZeroOverheadCPUSeconds)
            + percent(rankZeroOverheadCPUSeconds) + ")"
    }
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
package enum MPISweep {
    /// Message tag of every sweep message (the envelope says what it is).
    static let tag = 7

    /// Runs this process's part of the sweep, from `MPI_Init` to `MPI_Finalize`.
    /// - Returns: the report on rank 0, nil on other ranks.
    /// - Throws: with a single rank, any error; with several, `MPIRankFailure`, whose catcher
    ///   shows it and ends the job (the other ranks would wait for this one forever).
    package static func run(_ options: MPISweepOptions) throws -> MPISweepReport? {
        let mpi = try MPICommunicator.initializeWorld()
        do {
            if let launch = options.launch, let expected = launch.size, expected > 1, mpi.size == 1 {
                throw ToolError("started as one of \(expected) tasks by \(launch.launcher), but MPI sees a single process: "
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
            throw MPIRankFailure(rank: mpi.rank, underlying: error, communicator: mpi)
        }
    }

    static func send(_ message: SweepMessage, to rank: Int, over mpi: MPICommunicator, as toolVersion: String) throws {
        try mpi.send(try MessageEnvelope.encode(message, toolVersion: toolVersion), to: rank, tag: tag)
    }
}

/// A rank's failure in a job of several ranks. The other ranks would wait for this one forever,
/// so whoever catches it shows it and calls `endJob()`.
package struct MPIRankFailure: UserFacingError {
    package let rank: Int
    package let underlying: Error
    let communicator: MPICommunicator
    package var description: String { "\(underlying)" }

    /// Ends every process of the job (`MPI_Abort`, status 1).
    package func endJob() -> Never { communicator.abort(code: 1) }
}

// MARK: - Rank 0

/// Rank 0's coordinator loop and its own training thread.
struct Coordinator {
    let mpi: MPICommunicator
    let options: MPISweepOptions

    func run() throws -> MPISweepReport {
        let reporter = options.reporter(0)
        let session = try SweepSession(specPath: options.specPath, resultsRoot: options.resultsRoot, reporter: reporter,
                                       allowLarge: options.allowLarge)
        let store = try session.openStore(fresh: options.fresh)
        let runner = try session.makeRunner(faultInjection: options.faultInjection)
        let stop = options.stop
        runner.reporter = reporter
        runner.stopSignal = stop
        let plan = session.plan
        let progress = SweepProgress(plan: plan, known: store.latestOutcomes, recordings: session.dataset.count, reporter: reporter)
        // Rungs are barriers: a rank asking for work while the rung's last tasks are out waits
        // (parked) until the next rung opens.
        let queue = RungScheduler(plan: plan, results: store, policy: options.policy, stop: stop,
                                  keepCheckpoints: { runner.keepCheckpoints(of: $0) },
                                  onRung: { state, rung, count in
                                      progress.rungStarted(state, rung: rung, tasks: count)
                                      options.rungOpened?(rung)
                                  })
        let total = queue.total
        let skipped = queue.alreadyDone
        let launcher = options.launch?.launcher ?? "MPI"
        runner.epochObserver = { task, metrics in progress.epochFinished(task, epoch: metrics.epoch) }
        progress.started(executor: "\(Format.count(mpi.size, "rank")) (\(launcher))", skipped: skipped)

        let inbox = LocalOutcomes()
        let trainer = Thread {
            let cpuStart = ProcessClock.threadCPUSeconds()
            while let task = queue.next() {
                inbox.add(task, runner.run(task, worker: "rank 0"))
                // The coordinator records it and gives it back; the next task waits for that
                // only at a rung's barrier.
            }
            inbox.finish(cpuSeconds: ProcessClock.threadCPUSeconds() - cpuStart)
        }
        trainer.stackSize = 8 << 20

        var state = LoopState(ranks: mpi.size)
        /// Records a result; false when it could not be written (the sweep then stops).
        func handle(_ task: SweepTask, _ outcome: TaskOutcome, from rank: Int) -> Bool {
            switch outcome.status {
            case .interrupted:
                state.interrupted += 1
                if !stop.isRequested { stop.request(outcome.stoppedBy ?? SIGTERM) }
                return false
            case .unfinished:
                state.unfinished += 1
                stop.fail("task \(task.id) on rank \(rank): \(outcome.error ?? "did not finish")")
                return false
            case .ok, .failed:
                do { try store.record(outcome, task: task) } catch {
                    state.unfinished += 1
                    stop.fail("\(error)")
                    return false
                }
                state.tasksPerRank[rank] += 1
                if outcome.status == .failed { state.failed += 1 }
                progress.taskFinished(outcome, task: task)
                return true
            }
        }

        stop.arm()
        let wallStart = Date()
        let coordinatorCPUStart = ProcessClock.threadCPUSeconds()
        let processCPUStart = ProcessClock.processCPUSeconds()
        // Rank 0 trains only once every rank has proven it runs the same build, spec and data:
        // a job with a mismatched rank records nothing.
        var trainerStarted = false
        func startTrainerOnceAllSaidHello() {
            guard !trainerStarted, state.awaitingHello.isEmpty else { return }
            trainerStarted = true
            trainer.start()
        }
        startTrainerOnceAllSaidHello()
        var backoff = Backoff(options.poll)
        while true {
            var didWork = false
            let (outcomes, trainerFinished) = inbox.drain()
            for (task, outcome) in outcomes {
                if handle(task, outcome, from: 0) { runner.recorded(task) }
                queue.returned(task)
                didWork = true
            }
            if !outcomes.isEmpty { try handOutToParked(queue, state: &state) }
            if let pendingMessage = try mpi.pendingMessage() {
                didWork = true
                let source = pendingMessage.source
                let message = try decode(try mpi.receive(pendingMessage), from: source)
                switch message {
                case .hello(let hello):
                    guard hello.rank == source, state.awaitingHello.remove(source) != nil else {
                        throw ToolError("rank \(source) said hello twice or as rank \(hello.rank)")
                    }
                    if let mismatch = hello.mismatch(with: plan) {
                        throw ToolError("refusing rank \(source): \(mismatch); every rank must load the same spec and data")
                    }
                    try handOut(queue, to: source, state: &state)
                    startTrainerOnceAllSaidHello()
                case .result(let outcome):
                    guard let task = state.inFlight.removeValue(forKey: source), task.id == outcome.taskID else {
                        throw ToolError("rank \(source) sent a result for task \(outcome.taskID), which it was not running")
                    }
                    if handle(task, outcome, from: source) {
                        try MPISweep.send(.recorded(task.id), to: source, over: mpi, as: options.toolVersion)
                    }
                    queue.returned(task)
                    try handOut(queue, to: source, state: &state)
                    try handOutToParked(queue, state: &state)
                case .failure(let why):
                    throw ToolError("rank \(source) cannot run: \(why)")
                case .task, .shutdown, .recorded:
                    throw ToolError("rank \(source) sent a \(message.kind) message, which only rank 0 sends")
                }
            }
            if trainerFinished && state.shutDown == mpi.size - 1 { break }
            if didWork { backoff.reset() } else { backoff.wait() }
        }
        progress.finished()
        let coordinatorCPU = ProcessClock.threadCPUSeconds() - coordinatorCPUStart
        let processCPU = ProcessClock.processCPUSeconds() - processCPUStart
        let seconds = Date().timeIntervalSince(wallStart)
        do { try store.finish() } catch { stop.fail("\(error)") }
        var board = store.leaderboard
        if stop.failure == nil {
            do { board = try store.writeLeaderboards() } catch { stop.fail("\(error)") }
        }
        let recorded = state.tasksPerRank.reduce(0, +)
        return MPISweepReport(name: plan.spec.name, directory: session.directory, leaderboard: board, ranks: mpi.size,
                              tasksTotal: total, tasksRun: recorded, tasksSkipped: skipped, tasksFailed: state.failed,
                              tasksPerRank: state.tasksPerRank, tasksInterrupted: state.interrupted, tasksUnfinished: state.unfinished,
                              stoppedBy: stop.signal, failure: stop.failure,
                              status: .of(plan: plan, latest: store.latestOutcomes, stop: stop),
                              seconds: seconds, coordinatorCPUSeconds: coordinatorCPU,
                              rankZeroOverheadCPUSeconds: max(0, processCPU - inbox.trainerCPUSeconds))
    }

    /// Sends `rank` its next task, or shutdown when none is left; parks it while the current
    /// rung's last tasks are out.
    private func handOut(_ queue: RungScheduler, to rank: Int, state: inout LoopState) throws {
        switch queue.take() {
        case .task(let task):
            state.inFlight[rank] = task
            try MPISweep.send(.task(task), to: rank, over: mpi, as: options.toolVersion)
        case .wait:
            state.parked.append(rank)
        case .done:
            state.shutDown += 1
            try MPISweep.send(.shutdown, to: rank, over: mpi, as: options.toolVersion)
        }
    }

    /// Hands work (or shutdown) to the parked ranks once a rung has opened or the sweep ended.
    private func handOutToParked(_ queue: RungScheduler, state: inout LoopState) throws {
        guard !state.parked.isEmpty else { return }
        let parked = state.parked
        state.parked = []
        for rank in parked { try handOut(queue, to: rank, state: &state) }
    }

    func decode(_ bytes: [UInt8], from source: Int) throws -> SweepMessage {
        do {
            return try MessageEnvelope.decode(bytes, toolVersion: options.toolVersion)
        } catch MessageError.versionMismatch(let tool, let format) {
            throw ToolError("refusing rank \(source): it runs spikesweep \(tool) (message format \(format)), rank 0 runs spikesweep "
                + "\(options.toolVersion) (message format \(MessageEnvelope.formatVersion)); run the same build on every rank")
        } catch {
            throw ToolError("rank \(source) sent an unreadable message: \(error)")
        }
    }
}

/// The coordinator loop's bookkeeping.
struct LoopState {
    var awaitingHello: Set<Int>
    var inFlight: [Int: SweepTask] = [:]
    /// Ranks waiting for the next rung, in the order they asked.
    var parked: [Int] = []
    var shutDown = 0
    var tasksPerRank: [Int]
    var failed = 0
    var interrupted = 0
    var unfinished = 0

    init(ranks: Int) {
        awaitingHello = Set(1..<max(1, ranks))
        tasksPerRank = Array(repeating: 0, count: ranks)
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
struct Worker {
    let mpi: MPICommunicator
    let options: MPISweepOptions

    func say(_ line: String) { options.reporter(mpi.rank).note(line) }

    func run() throws {
        let session: SweepSession
        do {
            session = try SweepSession(specPath: options.specPath, resultsRoot: options.resultsRoot, allowLarge: options.allowLarge)
        } catch {
            try giveUp("\(error)")
        }
        let plan = session.plan
        try MPISweep.send(.hello(WorkerHello(rank: mpi.rank, plan: plan)), to: 0, over: mpi, as: options.toolVersion)
        say("spikesweep \(options.toolVersion), pid \(getpid()) on \(ProcessInfo.processInfo.hostName): sweep \(plan.spec.name), "
            + "\(plan.tasks.count) tasks, \(session.dataset.count) recordings")
        // The runner (which creates the checkpoint folder) is made only once rank 0 has opened
        // the results folder, i.e. after the first task arrives.
        options.stop.arm()
        var runner: EngineTaskRunner?
        var lastTask: SweepTask?
        while true {
            switch try receive() {
            case .task(let task):
                lastTask = task
                guard plan.tasks.indices.contains(task.index), plan.tasks[task.index].id == task.id else {
                    throw ToolError("rank 0 sent task \(task.id), which is not in this rank's plan")
                }
                if runner == nil {
                    do { runner = try session.makeRunner(faultInjection: options.faultInjection) } catch { try giveUp("\(error)") }
                    runner?.reporter = options.reporter(mpi.rank)
                    runner?.stopSignal = options.stop
                }
                let outcome = runner!.run(task, worker: "rank \(mpi.rank)")
                let what: String
                switch outcome.status {
                case .ok: what = "ok, val \(String(format: "%.4f", outcome.validationAccuracy ?? .nan))"
                case .failed: what = "failed: \(outcome.error ?? "")"
                case .interrupted: what = "stopped, checkpoint kept"
                case .unfinished: what = "not finished: \(outcome.error ?? "")"
                }
                say("task \(task.id) (\(plan.label(ofConfig: task.configIndex)), fold \(task.fold)): \(what) in "
                    + String(format: "%.1fs", outcome.seconds))
                try MPISweep.send(.result(outcome), to: 0, over: mpi, as: options.toolVersion)
            case .recorded(let id):
                // Rank 0 wrote the result: the checkpoint is no longer needed.
                if let task = lastTask, task.id == id { runner?.recorded(task) }
            case .shutdown:
                return
            case let other:
                throw ToolError("rank 0 sent a \(other.kind) message, which only workers send")
            }
        }
    }

    private func receive() throws -> SweepMessage {
        let pending = try mpi.waitForMessage(from: 0, tag: MPISweep.tag, poll: options.poll)
        let bytes = try mpi.receive(pending)
        do {
            return try MessageEnvelope.decode(bytes, toolVersion: options.toolVersion)
        } catch {
            throw ToolError("refusing rank 0's message: \(error)")
        }
    }

    /// Tells rank 0 this rank cannot work, and waits for it to end the job.
    private func giveUp(_ why: String) throws -> Never {
        try MPISweep.send(.failure(why), to: 0, over: mpi, as: options.toolVersion)
        _ = try mpi.waitForMessage(from: 0, poll: options.poll)
        throw ToolError(why)
    }
}
