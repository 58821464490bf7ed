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
///
/// Only `ok` and `failed` are results, written to `folds.csv`. The other two say the task did
/// not finish and runs again: `interrupted` (stopped on request, its checkpoint saved) and
/// `unfinished` (the environment failed it: a checkpoint or result could not be written, a
/// full disk; its last good checkpoint is kept).
package struct TaskOutcome: Codable, Sendable, Equatable {
    package enum Status: String, Codable, Sendable {
        case ok, failed, interrupted, unfinished

        /// Whether the outcome is a result that the results files keep.
        package var isResult: Bool { self == .ok || self == .failed }
    }

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
    /// One-line error of a failed or unfinished task.
    package var error: String?
    /// 1 for a task's first recorded run, n for its n-th (`--retry-failed` runs failed tasks again).
    package var attempt: Int = 1
    /// The signal that stopped an `interrupted` task (carried to MPI rank 0; never written).
    package var stoppedBy: Int32?

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
    /// A task the environment kept from finishing (see `Status.unfinished`).
    package static func unfinished(_ task: SweepTask, error: String, seconds: Double, worker: String) -> TaskOutcome {
        var outcome = failure(task, error: error, seconds: seconds, worker: worker)
        outcome.status = .unfinished
        return outcome
    }

    /// A task stopped on request before it finished (its checkpoint holds the progress).
    package static func interrupted(_ task: SweepTask, by signal: Int32?, seconds: Double, worker: String) -> TaskOutcome {
        var outcome = TaskOutcome(taskID: task.id, configID: task.configID, fold: task.fold, status: .interrupted,
                                  validationAccuracy: nil, trainAccuracy: nil, trainLoss: nil, epochs: [], seconds: seconds,
                                  recordingsPerSecond: 0, worker: worker, error: nil)
        outcome.stoppedBy = signal
        return outcome
    }
}

/// Which tasks a run skips, given what the results already hold: the one rule for local
/// runs, MPI and Slurm array elements. A task with an `ok` result is done. A `failed` one is a
/// result too (training diverged: running it again gives the same), so it runs again only when
/// asked (`--retry-failed`). Anything else runs.
package struct RerunPolicy: Sendable, Equatable {
    package var retryFailed: Bool

    package init(retryFailed: Bool = false) { self.retryFailed = retryFailed }

    /// Whether a task whose outcome that counts is `latest` is skipped.
    package func skips(_ latest: TaskOutcome?) -> Bool {
        switch latest?.status {
        case .ok?: return true
        case .failed?: return !retryFailed
        default: return false
        }
    }

    /// The tasks to skip among `latest` (see `Leaderboard.latestOutcomes`).
    package func skippedTaskIDs(_ latest: [String: TaskOutcome]) -> Set<String> {
        Set(latest.filter { skips($0.value) }.keys)
    }
}

/// Runs one task to its outcome. The local executor and the MPI worker both drive a runner
/// through this protocol; a runner never throws: a task's own failure becomes a `failed`
/// outcome, the environment's an `unfinished` one. It must be safe to call from several
/// threads at once.
package protocol TaskRunner: Sendable {
    func run(_ task: SweepTask, worker: String) -> TaskOutcome
    /// The task's result is safely recorded: drop what was kept to resume it (its checkpoint),
    /// unless the next rung continues from it.
    func recorded(_ task: SweepTask)
    /// Only the runs named (`SweepTask.lineage`) still need their checkpoints: drop the others'.
    func keepCheckpoints(of lineages: Set<String>)
}

extension TaskRunner {
    package func recorded(_ task: SweepTask) {}
    package func keepCheckpoints(of lineages: Set<String>) {}
}
