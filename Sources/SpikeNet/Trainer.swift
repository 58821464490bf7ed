import Foundation
import SpikeEvents
import SpikeSupport

/// Settings of one training run that are not hyper-parameters of the study.
package struct TrainingOptions: Sendable {
    /// Epochs to train in total (a resumed run continues up to this many).
    package var epochs: Int
    /// Seeds the initialisation and the per-epoch shuffling.
    package var seed: UInt64
    /// Threads for one batch (see `SpikeEngine`: the result does not depend on it).
    package var threads: Int
    /// When set, a checkpoint is written here at every epoch end and, if the file exists when
    /// the run starts, the run resumes from it.
    package var checkpointPath: String?
    /// Whether the last epoch writes a checkpoint too. A sweep task returns its result at once
    /// and deletes its checkpoint when the result is recorded, so it skips that write (a task
    /// killed in between reruns its last epoch from the checkpoint before it); `train` keeps it,
    /// so that a later run with more epochs continues from the end.
    package var checkpointsLastEpoch = true
    /// Test hook: make the run diverge at a given batch, so that callers can exercise failures.
    package var faultInjection: FaultInjection?
    /// Asked after every training batch; when it returns true the run writes a checkpoint that
    /// includes the partial epoch (if `checkpointPath` is set) and throws `TrainingError.stopped`.
    /// After the last batch of an epoch the epoch is finished first (validation, checkpoint,
    /// progress); after the last batch of the run the request is ignored.
    package var stopRequested: (@Sendable () -> Bool)?
    /// How the engine lays out its work and memory (speed only: results do not depend on it).
    package var tuning: EngineTuning

    package init(epochs: Int, seed: UInt64, threads: Int = 1, checkpointPath: String? = nil,
                faultInjection: FaultInjection? = nil, stopRequested: (@Sendable () -> Bool)? = nil,
                tuning: EngineTuning = EngineTuning()) {
        self.epochs = epochs
        self.seed = seed
        self.threads = threads
        self.checkpointPath = checkpointPath
        self.faultInjection = faultInjection
        self.stopRequested = stopRequested
        self.tuning = tuning
    }
}

/// A deliberate failure for tests of the layers above the engine.
package enum FaultInjection: Sendable, Equatable {
    /// The loss of this batch (1-based epoch and batch) is replaced by NaN.
    case nonFiniteLoss(epoch: Int, batch: Int)
}

/// Metrics of one epoch. Deterministic: equal for equal seeds, data and hyper-parameters.
package struct EpochMetrics: Sendable, Codable, Equatable {
    /// 1-based epoch number.
    package var epoch: Int
    /// Mean over the epoch's batches of the total loss (MSE spike-count loss + L2 term).
    package var trainLoss: Double
    /// Fraction of training recordings classified correctly during the epoch (each batch
    /// scored before its update, like `accuracy_rate` in the usual snnTorch loop).
    package var trainAccuracy: Double
    /// Accuracy on the validation set after the epoch, if there is one.
    package var validationAccuracy: Double?

    package init(epoch: Int, trainLoss: Double, trainAccuracy: Double, validationAccuracy: Double?) {
        self.epoch = epoch
        self.trainLoss = trainLoss
        self.trainAccuracy = trainAccuracy
        self.validationAccuracy = validationAccuracy
    }
}

/// The outcome of training one configuration on one fold.
package struct FoldResult: Sendable, Codable, Equatable {
    package var epochs: [EpochMetrics]
    /// Validation accuracy after the last epoch (nil without a validation set).
    package var finalValidationAccuracy: Double?
    /// Training accuracy of the last epoch.
    package var finalTrainAccuracy: Double
    /// Wall time of the epochs run by this process (not those restored from a checkpoint).
    package var wallSeconds: Double
    /// Training recordings per second over those epochs (validation excluded).
    package var recordingsPerSecond: Double
}

/// Why a run failed.
package enum TrainingError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The loss or the parameters became NaN or infinite.
    case diverged(epoch: Int, batch: Int)
    /// A checkpoint could not be used.
    case checkpoint(path: String, problem: String)
    /// Inputs that cannot be trained on.
    case invalidInput(String)
    /// `TrainingOptions.stopRequested` asked the run to stop after batch `batchesDone` of `epoch`.
    case stopped(epoch: Int, batchesDone: Int)

    package var description: String {
        switch self {
        case .diverged(let epoch, let batch):
            return "training diverged: loss or parameters became NaN/infinite at epoch \(epoch), batch \(batch) (try a smaller learning rate)"
        case .checkpoint(let path, let problem):
            return "checkpoint \(path): \(problem)"
        case .invalidInput(let message):
            return message
        case .stopped(let epoch, let batchesDone):
            return "stopped on request at epoch \(epoch) after \(batchesDone) batches"
        }
    }
}

/// One training run: PyTorch-default initialisation, then per epoch a seeded shuffle,
/// batches of `batchSize` (the last one may be smaller, like a DataLoader with
/// drop_last=False), forward, BPTT, one Adam step with `λ·(2W)` added to the weight gradients.
///
/// The run is deterministic: the same hyper-parameters, data, seed and thread count give
/// bit-identical parameters and metrics, and (because each gradient element is summed by one
/// thread in a fixed order) so does any other thread count. A run stopped after an epoch, or
/// between batches on request, and resumed from its checkpoint continues bit-identically.
package final class TrainingRun {
    package let hyperparameters: Hyperparameters
    package let options: TrainingOptions
    package let shape: NetworkShape
    package private(set) var parameters: NetworkParameters
    package private(set) var optimizer: Adam
    /// The shuffling generator (its state is saved in checkpoints).
    package private(set) var shuffler: Xoshiro256
    /// Metrics of the epochs finished so far.
    package private(set) var history: [EpochMetrics] = []
    /// Where a run restored from a checkpoint continues: the 1-based epoch after the finished
    /// ones and the batches of it already trained (0 when the checkpoint is at an epoch end).
    /// Nil when the run starts from scratch.
    package private(set) var resumedFrom: (epoch: Int, batchesDone: Int)?
    /// The epoch `run` continues inside (from a partial checkpoint or a stop on request).
    private var partialEpoch: Checkpoint.PartialEpoch?

    let training: FrameSet
    let validation: FrameSet?
    let engine: SpikeEngine

    /// Prepares a run (and restores its checkpoint when `options.checkpointPath` exists).
    package init(hyperparameters: Hyperparameters, training: FrameSet, validation: FrameSet? = nil,
                options: TrainingOptions) throws {
        try hyperparameters.validate()
        guard options.epochs >= 0 else { throw TrainingError.invalidInput("epochs must be >= 0, got \(options.epochs)") }
        guard options.threads >= 1 else { throw TrainingError.invalidInput("threads must be >= 1, got \(options.threads)") }
        guard training.count > 0 else { throw TrainingError.invalidInput("the training set is empty") }
        for set in [training] + (validation.map { [$0] } ?? []) {
            try SpikeEngine.check(set, shape: NetworkShape(hidden: hyperparameters.hidden))
        }
        self.hyperparameters = hyperparameters
        self.options = options
        self.training = training
        self.validation = validation
        shape = NetworkShape(hidden: hyperparameters.hidden)
        var initRNG = Xoshiro256(seed: deriveSeed(options.seed, [0x1A17]))
        let hugePages = options.tuning.hugePages
        parameters = NetworkParameters.pytorchDefault(shape: shape, rng: &initRNG, hugePages: hugePages)
        optimizer = Adam(shape: shape, learningRate: hyperparameters.learningRate, hugePages: hugePages)
        shuffler = Xoshiro256(seed: deriveSeed(options.seed, [0x5E0F]))
        engine = SpikeEngine(shape: shape, hyperparameters: hyperparameters, threads: options.threads,
                             tuning: options.tuning)
        if let path = options.checkpointPath, FileManager.default.fileExists(atPath: path) {
            let checkpoint = try Checkpoint.read(path: path, shape: shape)
            try checkpoint.checkCompatible(hyperparameters: hyperparameters, seed: options.seed,
                                          trainingFingerprint: Self.fingerprint(training), path: path)
            try checkpoint.checkPartialEpoch(trainingCount: training.count, batchSize: hyperparameters.batchSize, path: path)
            parameters = checkpoint.parameters
            optimizer = checkpoint.optimizer
            shuffler = checkpoint.shuffler
            history = checkpoint.history
            partialEpoch = checkpoint.partialEpoch
            resumedFrom = (epoch: history.count + 1, batchesDone: partialEpoch?.batchesDone ?? 0)
        }
    }

    /// Epochs already done (restored from a checkpoint or run by `run`).
    package var epochsDone: Int { history.count }

    /// Trains the remaining epochs. `progress` is called after every epoch.
    /// - Throws: `TrainingError.diverged` when the loss or the parameters stop being finite;
    ///   `TrainingError.stopped` when `options.stopRequested` asked to stop (calling `run`
    ///   again continues where it stopped).
    package func run(progress: ((EpochMetrics) -> Void)? = nil) throws -> FoldResult {
        return try run(stopAfter: options.epochs, progress: progress)
    }

    /// Like `run`, but stops after epoch `stopAfter` (to test checkpoint/resume).
    package func run(stopAfter lastEpoch: Int, progress: ((EpochMetrics) -> Void)? = nil) throws -> FoldResult {
        let start = DispatchTime.now().uptimeNanoseconds
        var trainedRecordings = 0
        var trainingNanos: UInt64 = 0
        let h = hyperparameters
        var gradients = NetworkParameters(zerosFor: shape, hugePages: options.tuning.hugePages)
        let finalEpoch = min(lastEpoch, options.epochs)
        while epochsDone < finalEpoch {
            let epoch = epochsDone + 1
            let epochStart = DispatchTime.now().uptimeNanoseconds
            var order = Array(0..<training.count)
            var lossSum = 0.0, correct = 0, batches = 0
            // A partial epoch draws its order again from the generator state before its shuffle.
            let beforeShuffle = partialEpoch?.shufflerBeforeShuffle ?? shuffler
            shuffler = beforeShuffle
            shuffler.shuffle(&order)
            if let partial = partialEpoch {
                (lossSum, correct, batches) = (partial.lossSum, partial.correct, partial.batchesDone)
                partialEpoch = nil
            }
            let starts = Array(stride(from: 0, to: order.count, by: h.batchSize))
            var stopAtEpochEnd = false
            for b in batches..<starts.count {
                let first = starts[b]
                let batch = Array(order[first..<min(first + h.batchSize, order.count)])
                let out = engine.forwardBackward(parameters, frames: training, batch: batch, gradients: &gradients)
                let summary = optimizer.update(&parameters, gradients: gradients, l2: h.l2, workers: engine.pool,
                                               kernel: engine.adamKernel)
                var loss = out.loss + summary.l2Term
                if options.faultInjection == .nonFiniteLoss(epoch: epoch, batch: b + 1) { loss = .nan }
                guard loss.isFinite, summary.isFinite else { throw TrainingError.diverged(epoch: epoch, batch: b + 1) }
                lossSum += loss
                correct += out.correct
                batches += 1
                trainedRecordings += batch.count
                guard options.stopRequested?() == true else { continue }
                if b + 1 < starts.count {
                    let partial = Checkpoint.PartialEpoch(shufflerBeforeShuffle: beforeShuffle, batchesDone: batches,
                                                          lossSum: lossSum, correct: correct)
                    partialEpoch = partial
                    try writeCheckpoint(partialEpoch: partial)
                    throw TrainingError.stopped(epoch: epoch, batchesDone: batches)
                }
                stopAtEpochEnd = epoch < finalEpoch
            }
            trainingNanos += DispatchTime.now().uptimeNanoseconds - epochStart
            let validationAccuracy = validation.map {
                Evaluation.run(parameters, hyperparameters: h, frames: $0, threads: options.threads,
                               tuning: options.tuning).accuracy
            }
            let metrics = EpochMetrics(epoch: epoch, trainLoss: lossSum / Double(batches),
                                       trainAccuracy: Double(correct) / Double(training.count),
                                       validationAccuracy: validationAccuracy)
            history.append(metrics)
            if epoch < options.epochs || options.checkpointsLastEpoch { try writeCheckpoint(partialEpoch: nil) }
            progress?(metrics)
            if stopAtEpochEnd { throw TrainingError.stopped(epoch: epoch, batchesDone: batches) }
        }
        let wall = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        return FoldResult(epochs: history, finalValidationAccuracy: history.last?.validationAccuracy,
                          finalTrainAccuracy: history.last?.trainAccuracy ?? 0, wallSeconds: wall,
                          recordingsPerSecond: trainingNanos > 0 ? Double(trainedRecordings) / (Double(trainingNanos) / 1e9) : 0)
    }

    /// Writes the run's state to `options.checkpointPath`, if set.
    private func writeCheckpoint(partialEpoch: Checkpoint.PartialEpoch?) throws {
        guard let path = options.checkpointPath else { return }
        try Checkpoint(hyperparameters: hyperparameters, seed: options.seed, trainingFingerprint: Self.fingerprint(training),
                       parameters: parameters, optimizer: optimizer, shuffler: shuffler, history: history,
                       partialEpoch: partialEpoch)
            .write(path: path)
    }

    /// A fingerprint of the training frames, so a checkpoint is not resumed on other data.
    static func fingerprint(_ frames: FrameSet) -> UInt64 { frames.fingerprint }
}
