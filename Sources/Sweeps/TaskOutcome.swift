import SpikeNet

/// Metrics of one epoch of one task.
package struct EpochRecord: Codable, Sendable, Equatable {
    package var epoch: Int
    package var trainLoss: Double
    package var trainAccuracy: Double
    package var validationAccuracy: Double
    package var seconds: Double

    package init(epoch: Int, trainLoss: Double, trainAccuracy: Double, validationAccuracy: Double, seconds: Double) {
        self.epoch = epoch
        self.trainLoss = trainLoss
        self.trainAccuracy = trainAccuracy
        self.validationAccuracy = validationAccuracy
        self.seconds = seconds
    }
}

/// What running one task produced: a fold accuracy, or a failure with its error.
package struct TaskOutcome: Codable, Sendable, Equatable {
    /// `interrupted`: stopped on a signal with its checkpoint saved; never written to the
    /// results, the task runs (and resumes) again.
    package enum Status: String, Codable, Sendable { case ok, failed, interrupted }

    package var taskID: String
    package var configID: String
    package var fold: Int
    package var status: Status
    /// Final validation accuracy (accuracy_rate on the held-out fold); nil when failed.
    package var validationAccuracy: Double?
    package var trainAccuracy: Double?
    package var trainLoss: Double?
    package var epochs: [EpochRecord]
    /// Wall time of the task.
    package var seconds: Double
    /// Training throughput.
    package var recordingsPerSecond: Double
    /// Who ran it: "local/2", "rank 3", "array 4", …
    package var worker: String
    /// One-line error of a failed task.
    package var error: String?

    package init(taskID: String, configID: String, fold: Int, status: Status, validationAccuracy: Double?,
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
    package static func failure(_ task: SweepTask, error: String, seconds: Double, worker: String) -> TaskOutcome {
        let oneLine = error.split(whereSeparator: \.isNewline).joined(separator: " ")
        return TaskOutcome(taskID: task.id, configID: task.configID, fold: task.fold, status: .failed,
                           validationAccuracy: nil, trainAccuracy: nil, trainLoss: nil, epochs: [], seconds: seconds,
                           recordingsPerSecond: 0, worker: worker, error: oneLine)
    }
}

extension TaskOutcome {
    /// A task stopped on request before it finished (its checkpoint holds the progress).
    package static func interrupted(_ task: SweepTask, seconds: Double, worker: String) -> TaskOutcome {
        TaskOutcome(taskID: task.id, configID: task.configID, fold: task.fold, status: .interrupted,
                    validationAccuracy: nil, trainAccuracy: nil, trainLoss: nil, epochs: [], seconds: seconds,
                    recordingsPerSecond: 0, worker: worker, error: nil)
    }
}

/// Runs one task to its outcome. The local executor and the MPI worker both drive a runner
/// through this protocol; a runner never throws for a task's own failure (that becomes a
/// `failed` outcome) and must be safe to call from several threads at once.
package protocol TaskRunner: Sendable {
    func run(_ task: SweepTask, worker: String) -> TaskOutcome
}
