import SpikeEvents

/// The progress lines every executor prints for a sweep, so local and MPI runs read alike.
public struct SweepProgress {
    public let reporter: ProgressReporter
    public let plan: SweepPlan
    public let store: ResultsStore
    public let recordings: Int

    public init(plan: SweepPlan, store: ResultsStore, recordings: Int, enabled: Bool) {
        reporter = ProgressReporter("sweep \(plan.spec.name)", enabled: enabled)
        self.plan = plan
        self.store = store
        self.recordings = recordings
    }

    /// The start line (`executor` says who runs the tasks, e.g. "2 workers"), and a note on
    /// how many tasks a previous run already finished.
    public func started(executor: String, skipped: Int) {
        let total = plan.tasks.count
        reporter.note("sweep \(plan.spec.name): \(plan.configurations.count) configurations x \(plan.spec.folds) folds = \(total) tasks, "
            + "\(plan.spec.epochs) epochs each, \(executor), \(recordings) recordings")
        if skipped > 0 { reporter.note("sweep \(plan.spec.name): \(skipped) of \(total) tasks already done, running \(total - skipped)") }
    }

    /// A task finished: tasks done of all, the best configuration so far, failures.
    public func taskFinished(done: Int, failed: Int) {
        let best = store.leaderboard.rows.first
        let detail = (best?.meanAccuracy).map { "best \(String(format: "%.4f", $0)) (\(best!.label))" } ?? ""
        reporter.update(done, of: plan.tasks.count, unit: "tasks", detail: detail + (failed > 0 ? ", \(failed) failed" : ""))
    }
}
