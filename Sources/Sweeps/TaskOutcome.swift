import SpikeNet

/// Metrics of one epoch of one task.
public struct EpochRecord: Codable, Sendable, Equatable {
    public var epoch: Int
    public var trainLoss: Double
    public var trainAccuracy: Double
    public var validationAccuracy: Double
    public var seconds: Double

    public init(epoch: Int, trainLoss: Double, trainAccuracy: Double, validationAccuracy: Double, seconds: Double) {
        self.epoch = epoch
        self.trainLoss = trainLoss
        self.trainAccuracy = trainAccuracy
        self.validationAccuracy = validationAccuracy
        self.seconds = seconds
    }
}

/// What running one task produced: a fold accuracy, or a failure with its error.
public struct TaskOutcome: Codable, Sendable, Equatable {
    /// `interrupted`: stopped on a signal with its checkpoint saved; never written to the
    /// results, the task runs (and resumes) again.
    public enum Status: String, Codable, Sendable { case ok, failed, interrupted }

    public var taskID: String
    public var configID: String
    public var fold: Int
    public var status: Status
    /// Final validation accuracy (accuracy_rate on the held-out fold); nil when failed.
    public var validationAccuracy: Double?
    public var trainAccuracy: Double?
    public var trainLoss: Double?
    public var epochs: [EpochRecord]
    /// Wall time of the task.
    public var seconds: Double
    /// Training throughput.
    public var recordingsPerSecond: Double
    /// Who ran it: "local/2", "rank 3", "array 4", …
    public var worker: String
    /// One-line error of a failed task.
    public var error: String?

    public init(taskID: String, configID: String, fold: Int, status: Status, validationAccuracy: Double?,
                trainAccuracy: Double?, trainLoss: Double?, epochs: [EpochRecord], seconds: Double,
                recordingsPerSecond: Double, worker: String, error: String?) {
        self.taskID = taskID
        self.configID = configID
        self.fold = fold
        self.status = status
        self.validationAccuracy = validationAccuracy
        self.trainAccuracy = trainAccuracy
        self.trainLoss = trainLoss
        self.epochs = epochs
        self.seconds = seconds
        self.recordingsPerSecond = recordingsPerSecond
        self.worker = worker
        self.error = error
    }

    /// A failed outcome for `task`.
    public static func failure(_ task: SweepTask, error: String, seconds: Double, worker: String) -> TaskOutcome {
        let oneLine = error.split(whereSeparator: \.isNewline).joined(separator: " ")
        return TaskOutcome(taskID: task.id, configID: task.configID, fold: task.fold, status: .failed,
                           validationAccuracy: nil, trainAccuracy: nil, trainLoss: nil, epochs: [], seconds: seconds,
                           recordingsPerSecond: 0, worker: worker, error: oneLine)
    }
}

extension TaskOutcome {
    /// A task stopped on request before it finished (its checkpoint holds the progress).
    public static func interrupted(_ task: SweepTask, seconds: Double, worker: String) -> TaskOutcome {
        TaskOutcome(taskID: task.id, configID: task.configID, fold: task.fold, status: .interrupted,
                    validationAccuracy: nil, trainAccuracy: nil, trainLoss: nil, epochs: [], seconds: seconds,
                    recordingsPerSecond: 0, worker: worker, error: nil)
    }
}

/// Runs one task to its outcome. The local executor and the MPI worker both drive a runner
/// through this protocol; a runner never throws for a task's own failure (that becomes a
/// `failed` outcome) and must be safe to call from several threads at once.
public protocol TaskRunner: Sendable {
    func run(_ task: SweepTask, worker: String) -> TaskOutcome
}
