import Foundation
import SpikeEvents
import SpikeNet
import SpikeSupport

/// Chooses, per task, a deliberate failure for tests of failure handling (see `FaultInjection`).
package typealias FaultInjector = @Sendable (SweepTask) -> FaultInjection?

/// Runs sweep tasks with the SNN engine: frames for the task's (window, denoise) are made once
/// and shared by every worker, the fold's recordings are split off, and one single-threaded
/// `TrainingRun` trains and validates. Checkpoints go to `checkpointDirectory/<task id>.ckpt`
/// at every epoch end and are removed when the task is done, so a killed or preempted task
/// resumes where it stopped.
package final class EngineTaskRunner: TaskRunner, @unchecked Sendable {
    package let dataset: EventDataset
    package let folds: StratifiedFolds
    package let epochs: Int
    package let firstSaccadeOnly: Bool
    package let checkpointDirectory: URL?
    /// Makes chosen tasks diverge on purpose: a test double, nil in the shipped tool.
    package let faultInjection: FaultInjector?
    /// Called after every epoch of every task (from worker threads).
    package var epochObserver: (@Sendable (SweepTask, EpochMetrics) -> Void)?
    /// When set, tasks stop between batches once it is requested, checkpoint (mid-epoch) and
    /// return `interrupted`; the next run resumes them.
    package var stopSignal: StopSignal?
    /// Told when a task resumes from or stops at a checkpoint.
    package var reporter: Reporter = SilentReporter()

    private let cache = FrameCache(capacity: 2)

    package init(dataset: EventDataset, spec: SweepSpec, checkpointDirectory: URL?, faultInjection: FaultInjector? = nil) throws {
        self.dataset = dataset
        folds = try StratifiedFolds(labels: dataset.labels, folds: spec.folds, seed: spec.seed, stratified: spec.stratified)
        epochs = spec.epochs
        firstSaccadeOnly = spec.firstSaccadeOnly
        self.checkpointDirectory = checkpointDirectory
        self.faultInjection = faultInjection
        if let checkpointDirectory {
            try? FileManager.default.createDirectory(at: checkpointDirectory, withIntermediateDirectories: true)
        }
    }

    package func run(_ task: SweepTask, worker: String) -> TaskOutcome {
        let started = Date()
        let h = task.hyperparameters
        let options = Framing.Options(windowMicros: h.windowMicros, denoiseMicros: h.denoiseMicros, firstSaccadeOnly: firstSaccadeOnly)
        let frames = cache.frames(for: options) { dataset.frames(options) }
        let training = frames.subset(folds.trainingIndices(fold: task.fold))
        let validation = frames.subset(folds.validationIndices(fold: task.fold))
        let checkpoint = checkpointDirectory?.appendingPathComponent("\(task.id).ckpt").path
        var lastEpochEnd = started
        var epochSeconds: [Int: Double] = [:]
        let stop = stopSignal
        do {
            let run = try TrainingRun(
                hyperparameters: h, training: training, validation: validation,
                options: TrainingOptions(epochs: epochs, seed: task.seed, threads: 1, checkpointPath: checkpoint,
                                         faultInjection: faultInjection?(task),
                                         stopRequested: stop.map { s -> @Sendable () -> Bool in { s.isRequested } }))
            if let at = run.resumedFrom {
                reporter.warn("task \(task.id) (config \(task.configID), fold \(task.fold)): resuming from its checkpoint at epoch \(at.epoch), batch \(at.batchesDone + 1)")
            }
            let result = try run.run { metrics in
                let now = Date()
                epochSeconds[metrics.epoch] = now.timeIntervalSince(lastEpochEnd)
                lastEpochEnd = now
                self.epochObserver?(task, metrics)
            }
            removeCheckpoint(of: task)
            let records = result.epochs.map {
                EpochRecord(epoch: $0.epoch, trainLoss: $0.trainLoss, trainAccuracy: $0.trainAccuracy,
                            validationAccuracy: $0.validationAccuracy ?? .nan, seconds: epochSeconds[$0.epoch] ?? 0)
            }
            return TaskOutcome(taskID: task.id, configID: task.configID, fold: task.fold, status: .ok,
                               validationAccuracy: result.finalValidationAccuracy, trainAccuracy: result.finalTrainAccuracy,
                               trainLoss: result.epochs.last?.trainLoss, epochs: records,
                               seconds: Date().timeIntervalSince(started), recordingsPerSecond: result.recordingsPerSecond,
                               worker: worker, error: nil)
        } catch TrainingError.stopped(let epoch, let batches) {
            reporter.warn("task \(task.id) (config \(task.configID), fold \(task.fold)): stopped at epoch \(epoch) after batch \(batches)"
                + (checkpoint != nil ? "; checkpoint saved" : ""))
            return .interrupted(task, seconds: Date().timeIntervalSince(started), worker: worker)
        } catch {
            removeCheckpoint(of: task)
            return .failure(task, error: "\(error)", seconds: Date().timeIntervalSince(started), worker: worker)
        }
    }
}

extension EngineTaskRunner {
    /// Removes a finished task's checkpoint and any temporary file a killed writer left
    /// beside it (`.<id>.ckpt.tmp-<pid>`). Only the rank running a task touches its files.
    func removeCheckpoint(of task: SweepTask) {
        guard let directory = checkpointDirectory else { return }
        let fm = FileManager.default
        try? fm.removeItem(at: directory.appendingPathComponent("\(task.id).ckpt"))
        let stalePrefix = ".\(task.id).ckpt.tmp-"
        for name in (try? fm.contentsOfDirectory(atPath: directory.path)) ?? [] where name.hasPrefix(stalePrefix) {
            try? fm.removeItem(at: directory.appendingPathComponent(name))
        }
    }
}

/// Frames per framing options, computed once and shared; keeps the most recent `capacity`.
final class FrameCache: @unchecked Sendable {
    private let condition = NSCondition()
    private var entries: [(Framing.Options, FrameSet)] = []
    private var inProgress: Set<Framing.Options> = []
    let capacity: Int

    init(capacity: Int) { self.capacity = capacity }

    func frames(for options: Framing.Options, make: () -> FrameSet) -> FrameSet {
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
        let made = make()
        condition.lock()
        inProgress.remove(options)
        entries.append((options, made))
        if entries.count > capacity { entries.removeFirst() }
        condition.broadcast()
        condition.unlock()
        return made
    }
}
