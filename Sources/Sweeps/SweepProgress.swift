import Foundation
import SpikeSupport

/// The progress lines every executor prints for a sweep, so local and MPI runs read alike:
/// a start line, then `sweep x: 174/360 tasks (48%), …, best 0.7580 (b0.7 H800 …)` as tasks
/// finish and, while long tasks run, every `heartbeat` seconds with their epochs.
///
/// "best" is the best *complete* configuration (every fold has a result), so it never goes
/// down; before any configuration is complete it names the best partial one and says so.
/// Bookkeeping is O(1) per finished task: per-configuration tallies, not a leaderboard.
package final class SweepProgress: @unchecked Sendable {
    package let reporter: Reporter
    package let plan: SweepPlan
    package let recordings: Int
    /// A part of the sweep this run covers ("array element 2 of 3") and its task count.
    package let part: (label: String, tasks: Int)?

    private let lock = NSLock()
    /// Per configuration and rung: index `rung * configurations + config`.
    private var tally: [Tally]
    private var bestComplete: (rung: Int, mean: Double, config: Int)?
    private var rung: (index: Int, tasks: Int)?
    private var done = 0, failed = 0
    /// Epochs finished by the tasks running now.
    private var running: [String: Int] = [:]
    private var timer: DispatchSourceTimer?
    private var lastShown = Date.distantPast

    /// One configuration's fold results so far.
    struct Tally {
        var sum = 0.0
        var ok = 0
        var mean: Double? { ok > 0 ? sum / Double(ok) : nil }
    }

    /// - Parameter known: the outcome that counts for each task the results already hold.
    package init(plan: SweepPlan, known: [String: TaskOutcome], recordings: Int, reporter: Reporter,
                 part: (label: String, tasks: Int)? = nil) {
        self.reporter = reporter
        self.plan = plan
        self.recordings = recordings
        self.part = part
        tally = Array(repeating: Tally(), count: plan.configurations.count * plan.rungs.count)
        let taskOf = Dictionary(uniqueKeysWithValues: plan.tasks.map { ($0.id, $0) })
        for outcome in known.values where outcome.status == .ok {
            guard let task = taskOf[outcome.taskID], let accuracy = outcome.validationAccuracy else { continue }
            tally[slot(task)].sum += accuracy
            tally[slot(task)].ok += 1
        }
        for t in tally.indices { noteIfComplete(t) }
    }

    private func slot(_ task: SweepTask) -> Int { task.rung * plan.configurations.count + task.configIndex }

    deinit { timer?.cancel() }

    private var total: Int { part?.tasks ?? plan.plannedTaskCount }

    /// The start line (`executor` says who runs the tasks, e.g. "2 workers"), a note on how many
    /// tasks a previous run already finished, and the heartbeat.
    package func started(executor: String, skipped: Int, heartbeat: TimeInterval = 10) {
        if let halving = plan.spec.search.halving {
            reporter.note("sweep \(plan.spec.name): \(plan.configurations.count) configurations x \(plan.spec.folds) folds, "
                + (halving.hyperband ? "hyperband" : "successive halving") + " over \(halving.summary): " + plan.rungs.map { "\($0.configurations)" }.joined(separator: " → ")
                + " configurations, \(plan.plannedTaskCount) tasks, \(executor), \(recordings) recordings")
        } else {
            reporter.note("sweep \(plan.spec.name): \(plan.configurations.count) configurations x \(plan.spec.folds) folds = \(plan.tasks.count) tasks, "
                + "\(plan.spec.epochs) epochs each, \(executor), \(recordings) recordings")
        }
        if let part { reporter.note("sweep \(plan.spec.name): \(part.label) runs \(part.tasks) of them") }
        if skipped > 0 { reporter.note("sweep \(plan.spec.name): \(skipped) of \(total) tasks already done, running \(total - skipped)") }
        lock.lock()
        done = skipped
        lock.unlock()
        let timer = DispatchSource.makeTimerSource(queue: .global())
        timer.schedule(deadline: .now() + heartbeat, repeating: heartbeat)
        timer.setEventHandler { [weak self] in self?.show() }
        timer.resume()
        self.timer = timer
    }

    /// A rung of a halving sweep started handing out `tasks` tasks here.
    package func rungStarted(_ progress: RungProgress, rung r: Int, tasks: Int) {
        guard plan.isHalving else { return }
        lock.lock()
        rung = (r, tasks)
        lock.unlock()
        let budget = plan.spec.search.halving?.minFraction != nil
            ? "on " + (plan.spec.search.halving?.budgetText(rung: r) ?? "") + ", \(Format.count(plan.rungs[r].epochs, "epoch"))"
            : "to \(Format.count(plan.rungs[r].epochs, "epoch"))" + (r == 0 ? "" : " from \(plan.rungs[r - 1].epochs)")
        reporter.note("sweep \(plan.spec.name): rung \(r + 1) of \(plan.rungs.count): \(Format.count(progress.entering[r].count, "configuration")) x "
            + "\(plan.spec.folds) folds \(budget), \(Format.count(tasks, "task")) to run")
    }

    /// A task finished epoch `epoch` (shown with the next progress line).
    package func epochFinished(_ task: SweepTask, epoch: Int) {
        lock.lock(); defer { lock.unlock() }
        running[task.id] = epoch
    }

    /// A task's result was recorded.
    package func taskFinished(_ outcome: TaskOutcome, task: SweepTask) {
        lock.lock()
        running[task.id] = nil
        done += 1
        if outcome.status == .failed { failed += 1 }
        if outcome.status == .ok, let accuracy = outcome.validationAccuracy {
            tally[slot(task)].sum += accuracy
            tally[slot(task)].ok += 1
            noteIfComplete(slot(task))
        }
        lock.unlock()
        show()
    }

    /// The run ended: no more heartbeats.
    package func finished() {
        timer?.cancel()
        timer = nil
    }

    /// Notes a complete configuration (in a later rung, or better in the same one) as the best.
    private func noteIfComplete(_ t: Int) {
        guard tally[t].ok == plan.spec.folds, let mean = tally[t].mean else { return }
        let (r, c) = t.quotientAndRemainder(dividingBy: plan.configurations.count)
        if bestComplete.map({ r > $0.rung || (r == $0.rung && mean > $0.mean) }) ?? true { bestComplete = (r, mean, c) }
    }

    /// Builds the line at most every 0.1 s (and for the last task): its cost is bounded by
    /// time, whatever the number of tasks or configurations.
    private func show() {
        lock.lock()
        let now = Date()
        guard now.timeIntervalSince(lastShown) >= 0.1 || done == total else { lock.unlock(); return }
        lastShown = now
        var detail = ""
        if let best = bestComplete {
            detail = "best \(String(format: "%.4f", best.mean)) (\(plan.label(ofConfig: best.config))"
                + (plan.isHalving ? ", " + (plan.spec.search.halving?.budgetText(rung: best.rung) ?? "") + ")" : ")")
        } else if let t = tally.indices.filter({ tally[$0].ok > 0 }).max(by: { tally[$0].mean! < tally[$1].mean! }) {
            detail = "best so far \(String(format: "%.4f", tally[t].mean!)) (\(plan.label(ofConfig: t % plan.configurations.count)), partial: "
                + "\(tally[t].ok)/\(plan.spec.folds) folds)"
        }
        if let rung { detail = "rung \(rung.index + 1)/\(plan.rungs.count), " + detail }
        if failed > 0 { detail += (detail.isEmpty ? "" : ", ") + "\(failed) failed" }
        if !running.isEmpty {
            let epochs = running.values.sorted().map { "\($0)/\(rung.map { plan.rungs[$0.index].epochs } ?? plan.spec.epochs)" }
            detail += (detail.isEmpty ? "" : ", ") + "running: epochs done " + epochs.prefix(8).joined(separator: " ")
                + (epochs.count > 8 ? " …" : "")
        }
        let (d, t) = (done, total)
        lock.unlock()
        reporter.progress("sweep \(plan.spec.name)", done: d, total: t, unit: "tasks", detail: detail)
    }
}
