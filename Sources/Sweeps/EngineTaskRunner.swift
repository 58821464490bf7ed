import Foundation
import SpikeEvents
import SpikeNet
import SpikeSupport

/// Chooses, per task, a deliberate failure for tests of failure handling (see `FaultInjection`).
package typealias FaultInjector = @Sendable (SweepTask) -> FaultInjection?

/// Runs sweep tasks with the SNN engine: frames for the task's (window, denoise) are made once
/// and shared by every worker, the fold's recordings are split off, and one single-threaded
/// `TrainingRun` trains and validates. Checkpoints go to `checkpointDirectory/<lineage>.ckpt`
/// (`SweepTask.lineage`: the task's own id, or its first rung's in a halving sweep) at every
/// epoch end and are removed when the task is done, so a killed or preempted task resumes where
/// it stopped; a halving rung's checkpoint stays for the next rung to continue from.
package final class EngineTaskRunner: TaskRunner, @unchecked Sendable {
    package let dataset: EventDataset
    package let folds: StratifiedFolds
    package let firstSaccadeOnly: Bool
    /// Seeds the training shares of a `resource: data` halving sweep (the sweep's seed).
    let sweepSeed: UInt64
    package let checkpointDirectory: URL?
    /// Where frame cache files are kept (shared by every process of the sweep); nil frames in memory.
    package let frameDirectory: URL?
    /// Makes chosen tasks diverge on purpose: a test double, nil in the shipped tool.
    package let faultInjection: FaultInjector?
    /// Called after every epoch of every task (from worker threads).
    package var epochObserver: (@Sendable (SweepTask, EpochMetrics) -> Void)?
    /// When set, tasks stop between batches once it is requested, checkpoint (mid-epoch) and
    /// return `interrupted`; the next run resumes them.
    package var stopSignal: StopSignal?
    /// Told when a task resumes from or stops at a checkpoint.
    package var reporter: Reporter = SilentReporter()

    private let cache: FrameCache
    /// `checkpointDirectory` as a path ending in "/" (building paths per task with URLs costs more).
    private let checkpointFolder: String?
    /// Ids of tasks that may have checkpoint files: those with a file in the folder when the
    /// runner was made, and those this runner started with more than one epoch (a one-epoch
    /// task writes one only when stopped, and is then not recorded). `recorded` looks for files
    /// of these alone, so that short tasks cost no file-system lookups.
    private var mayHaveCheckpoint: Set<String>
    private let checkpointLock = NSLock()

    package init(dataset: EventDataset, spec: SweepSpec, checkpointDirectory: URL?, frameDirectory: URL? = nil,
                 faultInjection: FaultInjector? = nil) throws {
        self.frameDirectory = frameDirectory
        cache = FrameCache(capacity: frameDirectory == nil ? 2 : 64)
        checkpointFolder = checkpointDirectory.map { $0.path.hasSuffix("/") ? $0.path : $0.path + "/" }
        self.dataset = dataset
        folds = try StratifiedFolds(labels: dataset.labels, folds: spec.folds, seed: spec.seed, stratified: spec.stratified)
        firstSaccadeOnly = spec.firstSaccadeOnly
        sweepSeed = spec.seed
        self.checkpointDirectory = checkpointDirectory
        self.faultInjection = faultInjection
        if let checkpointDirectory {
            try? FileManager.default.createDirectory(at: checkpointDirectory, withIntermediateDirectories: true)
        }
        let names = checkpointDirectory.flatMap { try? FileManager.default.contentsOfDirectory(atPath: $0.path) } ?? []
        mayHaveCheckpoint = Set(names.map(Self.taskID(ofCheckpointFile:)))
    }

    package func run(_ task: SweepTask, worker: String) -> TaskOutcome {
        let started = Date()
        var outcome = train(task, worker: worker, started: started)
        // The task's time includes releasing what it allocated (the run is gone by now).
        outcome.seconds = Date().timeIntervalSince(started)
        return outcome
    }

    private func train(_ task: SweepTask, worker: String, started: Date) -> TaskOutcome {
        let h = task.hyperparameters
        let options = Framing.Options(windowMicros: h.windowMicros, denoiseMicros: h.denoiseMicros, firstSaccadeOnly: firstSaccadeOnly)
        let frames: FrameSet
        do {
            frames = try cache.frames(for: options) {
                guard let frameDirectory else { return dataset.frames(options) }
                return try FrameCacheFile.frames(of: dataset, options: options, directory: frameDirectory)
            }
        } catch {
            return .unfinished(task, error: "\(error)", seconds: Date().timeIntervalSince(started), worker: worker)
        }
        let training = frames.subset(task.dataFraction < 1
            ? folds.trainingIndices(fold: task.fold, fraction: task.dataFraction, labels: dataset.labels, seed: sweepSeed)
            : folds.trainingIndices(fold: task.fold))
        let validation = frames.subset(folds.validationIndices(fold: task.fold))
        let checkpoint = checkpointPath(of: task)
        if checkpoint != nil && (task.epochs > 1 || task.keepsCheckpoint) {
            checkpointLock.lock(); mayHaveCheckpoint.insert(task.lineage); checkpointLock.unlock()
        }
        var lastEpochEnd = started
        var epochSeconds: [Int: Double] = [:]
        let stop = stopSignal
        var trainingOptions = TrainingOptions(epochs: task.epochs, seed: task.seed, threads: 1, checkpointPath: checkpoint,
                                              faultInjection: faultInjection?(task),
                                              stopRequested: stop.map { s -> @Sendable () -> Bool in { s.isRequested } })
        trainingOptions.checkpointsLastEpoch = task.keepsCheckpoint
        func elapsed() -> Double { Date().timeIntervalSince(started) }
        let run: TrainingRun
        do {
            run = try makeRun(task, h, training, validation, trainingOptions)
        } catch let error as TrainingError {
            if case .checkpoint = error { return .unfinished(task, error: "\(error)", seconds: elapsed(), worker: worker) }
            return .failure(task, error: "\(error)", seconds: elapsed(), worker: worker)
        } catch let error as HyperparameterError {
            return .failure(task, error: "\(error)", seconds: elapsed(), worker: worker)
        } catch {
            return .unfinished(task, error: "\(error)", seconds: elapsed(), worker: worker)
        }
        // A later rung continuing from the previous rung's end is the plan, not a resume.
        if let at = run.resumedFrom, !(at.epoch == task.priorEpochs + 1 && at.batchesDone == 0) {
            reporter.warn("task \(task.id) (config \(task.configID), fold \(task.fold)): resuming from its checkpoint at epoch \(at.epoch), batch \(at.batchesDone + 1)")
        }
        do {
            let result = try run.run { metrics in
                let now = Date()
                epochSeconds[metrics.epoch] = now.timeIntervalSince(lastEpochEnd)
                lastEpochEnd = now
                self.epochObserver?(task, metrics)
            }
            // A later rung records its own epochs (the earlier ones are the previous rung's rows).
            let records = result.epochs.filter { $0.epoch > task.priorEpochs }.map {
                EpochRecord(epoch: $0.epoch, trainLoss: $0.trainLoss, trainAccuracy: $0.trainAccuracy,
                            validationAccuracy: $0.validationAccuracy ?? .nan, seconds: epochSeconds[$0.epoch] ?? 0)
            }
            return TaskOutcome(taskID: task.id, configID: task.configID, fold: task.fold, status: .ok,
                               validationAccuracy: result.finalValidationAccuracy, trainAccuracy: result.finalTrainAccuracy,
                               trainLoss: result.epochs.last?.trainLoss, epochs: records, seconds: elapsed(),
                               recordingsPerSecond: result.recordingsPerSecond, worker: worker, error: nil)
        } catch TrainingError.stopped(let epoch, let batches) {
            reporter.warn("task \(task.id) (config \(task.configID), fold \(task.fold)): stopped at epoch \(epoch) after batch \(batches)"
                + (checkpoint != nil ? "; checkpoint saved" : ""))
            return .interrupted(task, by: stop?.signal, seconds: elapsed(), worker: worker)
        } catch TrainingError.diverged(let epoch, let batch) {
            // A result: the same task diverges again wherever it runs.
            return .failure(task, error: "\(TrainingError.diverged(epoch: epoch, batch: batch))", seconds: elapsed(), worker: worker)
        } catch {
            // The environment failed it (a checkpoint could not be written): not a result, and
            // the last good checkpoint stays for the rerun.
            return .unfinished(task, error: "\(error)", seconds: elapsed(), worker: worker)
        }
    }

    /// The run of `task`, resumed from its checkpoint when there is a usable one. A checkpoint
    /// that cannot be used (truncated, bit-flipped, of another run) is set aside with a warning
    /// and the task starts from scratch: runs are deterministic, so only time is lost.
    private func makeRun(_ task: SweepTask, _ h: Hyperparameters, _ training: FrameSet, _ validation: FrameSet,
                         _ options: TrainingOptions) throws -> TrainingRun {
        do {
            let run = try TrainingRun(hyperparameters: h, training: training, validation: validation, options: options)
            if run.epochsDone > task.epochs, let path = options.checkpointPath {
                throw TrainingError.checkpoint(path: path, problem: "holds \(run.epochsDone) epochs, more than the task's \(task.epochs)")
            }
            return run
        } catch TrainingError.checkpoint(let path, let problem) where FileManager.default.fileExists(atPath: path) {
            let aside = FileSystem.unusedName(path + ".unusable")
            try FileSystem.move(path, to: aside)
            reporter.warn("task \(task.id) (config \(task.configID), fold \(task.fold)): its checkpoint \(problem); set aside as "
                + "\((aside as NSString).lastPathComponent), starting the task again")
            return try TrainingRun(hyperparameters: h, training: training, validation: validation, options: options)
        }
    }

    /// The task's result is recorded: its checkpoint (and the temporary file a killed writer
    /// may have left beside it, `.<lineage>.ckpt.tmp`) is no longer needed, unless the next
    /// rung continues from it. Only the process running a task touches its files while it runs.
    package func recorded(_ task: SweepTask) {
        guard !task.keepsCheckpoint else { return }
        checkpointLock.lock()
        let present = mayHaveCheckpoint.remove(task.lineage) != nil
        checkpointLock.unlock()
        if present { removeCheckpointFiles(lineage: task.lineage) }
    }

    private func removeCheckpointFiles(lineage: String) {
        guard let folder = checkpointFolder else { return }
        let path = folder + lineage + ".ckpt"
        unlink(path)
        unlink(AtomicFile.singleWriterTemporary(of: path))
    }

    /// Removes the checkpoint files of every run but `lineages` (`RungScheduler` says which
    /// are needed whenever it works out the sweep's progress): a process killed between
    /// recording a result and dropping its checkpoint leaves one behind, and a halving rung
    /// leaves those of the configurations it did not promote. Set-aside `.unusable` files of
    /// finished runs go too.
    package func keepCheckpoints(of lineages: Set<String>) {
        guard let directory = checkpointDirectory,
              let names = try? FileManager.default.contentsOfDirectory(atPath: directory.path) else { return }
        for name in names where !lineages.contains(Self.taskID(ofCheckpointFile: name)) {
            unlink(directory.appendingPathComponent(name).path)
        }
        checkpointLock.lock()
        mayHaveCheckpoint.formIntersection(lineages)
        checkpointLock.unlock()
    }

    /// `<id>.ckpt`, `.<id>.ckpt.tmp`, `<id>.ckpt.unusable…` → `<id>`.
    static func taskID(ofCheckpointFile name: String) -> String {
        let bare = name.hasPrefix(".") ? name.dropFirst() : Substring(name)
        return String(bare.prefix { $0 != "." })
    }

    func checkpointPath(of task: SweepTask) -> String? {
        checkpointFolder.map { $0 + task.lineage + ".ckpt" }
    }
}

/// Frames per framing options, made once and shared by the runner's workers; keeps the most
/// recent `capacity` (frames mapped from cache files cost no memory of their own).
final class FrameCache: @unchecked Sendable {
    private let condition = NSCondition()
    private var entries: [(Framing.Options, FrameSet)] = []
    private var inProgress: Set<Framing.Options> = []
    let capacity: Int

    init(capacity: Int) { self.capacity = capacity }

    func frames(for options: Framing.Options, make: () throws -> FrameSet) throws -> FrameSet {
        condition.lock()
        while true {
            if let i = entries.firstIndex(where: { $0.0 == options }) {
                let hit = entries.remove(at: i)
                entries.append(hit)
                condition.unlock()
                return hit.1
            }
            if !inProgress.contains(options) { break }
            condition.wait()
        }
        inProgress.insert(options)
        condition.unlock()
        let made: FrameSet
        do { made = try make() } catch {
            condition.lock()
            inProgress.remove(options)
            condition.broadcast()
            condition.unlock()
            throw error
        }
        condition.lock()
        inProgress.remove(options)
        entries.append((options, made))
        if entries.count > capacity { entries.removeFirst() }
        condition.broadcast()
        condition.unlock()
        return made
    }
}
