/// How a sweep run (`sweep`, an array element, MPI rank 0) or `collect` ends: the process's
/// exit status, the same for every mode. Documented in `spikesweep sweep --help` and the README.
package enum SweepExitStatus: Int32, Sendable, CaseIterable {
    /// Every task of the run's scope has an `ok` result.
    case complete = 0
    /// The command could not run (bad spec, missing data, a folder in use, …): one line says why.
    case error = 1
    /// Some tasks have no result yet (a previous run stopped, array elements missing): run again.
    case tasksMissing = 3
    /// Every task has a result, and some of them failed (training diverged): see their errors;
    /// `--retry-failed` runs them again.
    case tasksFailed = 4
    /// Results or checkpoints could not be written (a full disk, an I/O error): the run stopped
    /// like on SIGTERM, running tasks kept their last good checkpoint; free space and run again.
    case writeFailed = 74
    /// Stopped by a signal (SIGTERM, SIGINT, SIGHUP, SIGUSR1): running tasks checkpointed; run
    /// the same command again to resume.
    case stopped = 75

    /// The status of a run that ended (`stop` tells whether it was cut short) given the outcome
    /// that counts for each of the `tasks` it covers.
    package static func of(tasks: [SweepTask], latest: [String: TaskOutcome], stop: StopSignal?) -> SweepExitStatus {
        if stop?.failure != nil { return .writeFailed }
        if stop?.signal != nil { return .stopped }
        var anyFailed = false
        for task in tasks {
            switch latest[task.id]?.status {
            case .ok?: continue
            case .failed?: anyFailed = true
            default: return .tasksMissing
            }
        }
        return anyFailed ? .tasksFailed : .complete
    }

    /// The status of a run of `plan` (of the tasks `scope` keeps, when given): a halving
    /// sweep is complete once its last rung is.
    package static func of(plan: SweepPlan, latest: [String: TaskOutcome], scope: ((SweepTask) -> Bool)? = nil,
                           stop: StopSignal?) -> SweepExitStatus {
        if let scope { return of(tasks: plan.tasks.filter(scope), latest: latest, stop: stop) }
        let progress = plan.progress(latest: latest)
        let status = of(tasks: progress.tasks, latest: latest, stop: stop)
        return (status == .complete || status == .tasksFailed) && !progress.isFinished ? .tasksMissing : status
    }

    /// One line per status, for `--help` and the README.
    package static var help: String {
        """
        Exit status: 0 every task has an ok result; 1 the command could not run; \
        3 some tasks have no result yet (run again); 4 some tasks failed (see their errors; \
        --retry-failed runs them again); 74 results or checkpoints could not be written (full \
        disk): stopped, rerun after freeing space; 75 stopped by a signal: rerun to resume.
        """
    }
}
