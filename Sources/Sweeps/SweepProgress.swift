import SpikeEvents

/// The progress lines every executor prints for a sweep, so local and MPI runs read alike.
public struct SweepProgress {
    public let reporter: ProgressReporter
    public let plan: SweepPlan
    public let store: ResultsStore
    public let recordings: Int
    /// A part of the sweep this run covers ("array element 2 of 3") and its task count.
    public let part: (label: String, tasks: Int)?

    public init(plan: SweepPlan, store: ResultsStore, recordings: Int, enabled: Bool, part: (label: String, tasks: Int)? = nil) {
        reporter = ProgressReporter("sweep \(plan.spec.name)", enabled: enabled)
        self.plan = plan
        self.store = store
        self.recordings = recordings
        self.part = part
    }

    private var total: Int { part?.tasks ?? plan.tasks.count }

    /// The start line (`executor` says who runs the tasks, e.g. "2 workers"), and a note on
    /// how many tasks a previous run already finished.
    public func started(executor: String, skipped: Int) {
        reporter.note("sweep \(plan.spec.name): \(plan.configurations.count) configurations x \(plan.spec.folds) folds = \(plan.tasks.count) tasks, "
            + "\(plan.spec.epochs) epochs each, \(executor), \(recordings) recordings")
        if let part { reporter.note("sweep \(plan.spec.name): \(part.label) runs \(part.tasks) of them") }
        if skipped > 0 { reporter.note("sweep \(plan.spec.name): \(skipped) of \(total) tasks already done, running \(total - skipped)") }
    }

    /// A task finished: tasks done of all, the best configuration so far, failures.
    public func taskFinished(done: Int, failed: Int) {
        let best = store.leaderboard.rows.first
        let detail = (best?.meanAccuracy).map { "best \(String(format: "%.4f", $0)) (\(best!.label))" } ?? ""
        reporter.update(done, of: total, unit: "tasks", detail: detail + (failed > 0 ? ", \(failed) failed" : ""))
    }
}
