import SpikeEvents
import SpikeSupport

/// The progress lines every executor prints for a sweep, so local and MPI runs read alike.
package struct SweepProgress {
    package let reporter: Reporter
    package let plan: SweepPlan
    package let store: ResultsSink
    package let recordings: Int
    /// A part of the sweep this run covers ("array element 2 of 3") and its task count.
    package let part: (label: String, tasks: Int)?

    package init(plan: SweepPlan, store: ResultsSink, recordings: Int, reporter: Reporter, part: (label: String, tasks: Int)? = nil) {
        self.reporter = reporter
        self.plan = plan
        self.store = store
        self.recordings = recordings
        self.part = part
    }

    private var total: Int { part?.tasks ?? plan.tasks.count }

    /// The start line (`executor` says who runs the tasks, e.g. "2 workers"), and a note on
    /// how many tasks a previous run already finished.
    package func started(executor: String, skipped: Int) {
        reporter.note("sweep \(plan.spec.name): \(plan.configurations.count) configurations x \(plan.spec.folds) folds = \(plan.tasks.count) tasks, "
            + "\(plan.spec.epochs) epochs each, \(executor), \(recordings) recordings")
        if let part { reporter.note("sweep \(plan.spec.name): \(part.label) runs \(part.tasks) of them") }
        if skipped > 0 { reporter.note("sweep \(plan.spec.name): \(skipped) of \(total) tasks already done, running \(total - skipped)") }
    }

    /// A task finished: tasks done of all, the best configuration so far, failures.
    package func taskFinished(done: Int, failed: Int) {
        let best = store.leaderboard.rows.first
        let detail = (best?.meanAccuracy).map { "best \(String(format: "%.4f", $0)) (\(best!.label))" } ?? ""
        reporter.progress("sweep \(plan.spec.name)", done: done, total: total, unit: "tasks",
                          detail: detail + (failed > 0 ? ", \(failed) failed" : ""))
    }
}
