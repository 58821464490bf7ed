import Foundation
import SpikeSupport

/// `search: {scheduler: halving, min_epochs: 1, max_epochs: 15, eta: 3}`: successive halving
/// over epochs. Rung 0 trains every configuration on every fold for `minEpochs`; each later
/// rung keeps the best 1/eta (by mean fold accuracy) and trains them on, from the previous
/// rung's checkpoints, to eta times the epochs, the last rung to `maxEpochs`.
///
/// `scheduler: hyperband` hedges against stopping slow starters too early: the configurations
/// are dealt (in a seeded shuffle) into brackets, one per rung; bracket b starts at rung b with
/// its own share and halves from there, so the last bracket trains its few configurations for
/// `maxEpochs` straight away. Shares follow Hyperband's n_s = ⌈(s_max+1)/(s+1)·eta^s⌉ for a
/// bracket of s halvings. Every bracket moves on at the same rungs, so a rung is still one
/// barrier.
package struct HalvingSchedule: Sendable, Equatable {
    package var minEpochs: Int
    package var maxEpochs: Int
    package var eta: Int
    /// Hyperband's brackets (false: one bracket, plain successive halving).
    package var hyperband = false
    /// `resource: data`: the rungs grow the share of each fold's training data instead of the
    /// epochs (every rung trains `epochs` epochs, from scratch, on a larger share), starting
    /// at this share; nil for epochs.
    package var minFraction: Double?

    package init(minEpochs: Int, maxEpochs: Int, eta: Int, hyperband: Bool = false, minFraction: Double? = nil) {
        self.minEpochs = minEpochs
        self.maxEpochs = maxEpochs
        self.eta = eta
        self.hyperband = hyperband
        self.minFraction = minFraction
    }

    package var name: String { hyperband ? "hyperband" : "halving" }

    /// How many configurations each bracket trains in each rung (`sizes[b][r]`, 0 before the
    /// bracket's first rung b), for `n` configurations. Shares of `n` are Hyperband's bracket
    /// sizes scaled to n (largest remainders), each bracket keeping at least one when n allows.
    package func bracketSizes(configurations n: Int) -> [[Int]] {
        let rungs = budgets.count
        var shares = [n]
        if hyperband {
            let weights = (0..<rungs).map { b -> Double in
                let s = Double(rungs - 1 - b)
                return (Double(rungs) / (s + 1) * pow(Double(eta), s)).rounded(.up)
            }
            let total = weights.reduce(0, +)
            let exact = weights.map { $0 / total * Double(n) }
            shares = exact.map { Int($0.rounded(.down)) }
            let order = exact.indices.sorted { (exact[$0] - Double(shares[$0]), -$0) > (exact[$1] - Double(shares[$1]), -$1) }
            for b in order.prefix(n - shares.reduce(0, +)) { shares[b] += 1 }
        }
        return shares.enumerated().map { b, share in
            var sizes = [Int](repeating: 0, count: rungs)
            guard share > 0 else { return sizes }
            sizes[b] = share
            for r in (b + 1)..<max(b + 1, rungs) { sizes[r] = survivors(of: sizes[r - 1]) }
            return sizes
        }
    }

    /// Each rung's epochs: minEpochs·eta^k while below maxEpochs, then maxEpochs
    /// (1, 3, 9, 15 for 1…15 with eta 3); with `resource: data`, `maxEpochs` in every rung.
    package var budgets: [Int] {
        if minFraction != nil { return fractions.map { _ in maxEpochs } }
        var budgets: [Int] = []
        var epochs = minEpochs
        while epochs < maxEpochs {
            budgets.append(epochs)
            epochs *= eta
        }
        return budgets + [maxEpochs]
    }

    /// Each rung's share of the training data: 1 in every rung, or with `resource: data`
    /// minFraction·eta^k while below 1 (to 3 significant digits), then 1.
    package var fractions: [Double] {
        guard let minFraction else { return budgets.map { _ in 1 } }
        var fractions: [Double] = []
        var f = minFraction
        while f < 0.9995 {
            fractions.append(Double(String(format: "%.3g", f)) ?? f)
            f *= Double(eta)
        }
        return fractions + [1]
    }

    /// How a rung's budget reads: "3 epochs" or "33.3% of the data".
    package func budgetText(rung r: Int) -> String {
        minFraction == nil ? "\(budgets[r]) epoch\(budgets[r] == 1 ? "" : "s")" : Self.percent(fractions[r]) + " of the data"
    }

    /// A share as a percentage to 0.1: `33.3%`.
    package static func percent(_ fraction: Double) -> String { Format.shortest((fraction * 1000).rounded() / 10) + "%" }

    /// How many of `n` configurations go on to the next rung: the best n/eta, at least one.
    package func survivors(of n: Int) -> Int { max(1, n / eta) }

    /// `1 → 3 → 9 → 15 epochs, eta 3` (`…, 4 hyperband brackets`), or
    /// `11.1% → 33.3% → 100% of the data, 15 epochs each, eta 3`.
    package var summary: String {
        (minFraction == nil ? budgets.map(String.init).joined(separator: " → ") + " epochs"
            : fractions.map(Self.percent).joined(separator: " → ") + " of the data, \(maxEpochs) epochs each")
            + ", eta \(eta)" + (hyperband ? ", \(budgets.count) hyperband brackets" : "")
    }
}

/// Where a sweep stands, a pure function of its plan and its recorded results: which
/// configurations entered each rung reached so far, and the rung that runs now.
package struct RungProgress: Sendable {
    /// The configurations entering each rung reached (index = rung), best first after rung 0.
    package var entering: [[Int]]
    /// The rung whose tasks are not all done, or nil when the last rung is done.
    package var current: Int?
    /// The tasks of every rung reached, rung by rung.
    package var tasks: [SweepTask]
    /// The tasks of the current rung (empty when done).
    package var currentTasks: [SweepTask]

    package var isFinished: Bool { current == nil }

    /// The runs whose checkpoints are still needed: tasks of the current rung without a result,
    /// and those with one that continue in the next rung.
    package func liveLineages(hasResult: (SweepTask) -> Bool) -> Set<String> {
        Set(currentTasks.filter { !hasResult($0) || $0.keepsCheckpoint }.map(\.lineage))
    }
}

/// How configurations rank, in the leaderboard and when a rung promotes: further rungs first,
/// then complete configurations (every fold `ok`), then those with some folds, then none;
/// within each, higher mean fold accuracy; equal means in plan order.
package struct Standing: Sendable {
    package var rung: Int
    /// 0 complete, 1 some folds, 2 no fold.
    package var group: Int
    package var mean: Double?
    package var index: Int

    package init(rung: Int, okFolds: Int, folds: Int, mean: Double?, index: Int) {
        self.rung = rung
        group = okFolds == folds ? 0 : okFolds > 0 ? 1 : 2
        self.mean = mean
        self.index = index
    }

    package static func precedes(_ a: Standing, _ b: Standing) -> Bool {
        if a.rung != b.rung { return a.rung > b.rung }
        if a.group != b.group { return a.group < b.group }
        if let x = a.mean, let y = b.mean, x != y { return x > y }
        return a.index < b.index
    }
}

extension SweepPlan {
    /// The sweep's rungs given the outcome that counts per task: rung by rung, a rung is done
    /// when `done` holds for all its tasks, and then its best `rungs[r + 1].configurations`
    /// (by `Standing`) enter the next. A plain sweep is one rung.
    package func progress(latest: [String: TaskOutcome], done: (SweepTask) -> Bool) -> RungProgress {
        // Per bracket, the configurations in its current rung (a bracket joins at its first rung).
        var inBracket = brackets.map { _ in [Int]() }
        var entering: [[Int]] = []
        var all: [SweepTask] = []
        for r in rungs.indices {
            if r < brackets.count { inBracket[r] = brackets[r] }
            let configs = inBracket.flatMap { $0 }
            entering.append(configs)
            let tasks = configs.flatMap { self.tasks(ofConfig: $0, rung: r) }
            all += tasks
            if tasks.contains(where: { !done($0) }) {
                return RungProgress(entering: entering, current: r, tasks: all, currentTasks: tasks)
            }
            if r + 1 == rungs.count { break }
            for b in inBracket.indices where !inBracket[b].isEmpty {
                let standings = inBracket[b].map { standing(ofConfig: $0, rung: r, latest: latest) }
                let ranked = standings.indices.sorted { Standing.precedes(standings[$0], standings[$1]) }.map { inBracket[b][$0] }
                inBracket[b] = Array(ranked.prefix(bracketSizes[b][r + 1]))
            }
        }
        return RungProgress(entering: entering, current: nil, tasks: all, currentTasks: [])
    }

    /// The progress by what the results hold: a task is done once it has a result (`ok` or `failed`).
    package func progress(latest: [String: TaskOutcome]) -> RungProgress {
        progress(latest: latest) { latest[$0.id]?.status.isResult == true }
    }

    /// Configuration c's standing in rung r.
    func standing(ofConfig c: Int, rung r: Int, latest: [String: TaskOutcome]) -> Standing {
        let ok = tasks(ofConfig: c, rung: r).compactMap { latest[$0.id] }.filter { $0.status == .ok }
        return Standing(rung: r, okFolds: ok.count, folds: spec.folds,
                        mean: FoldStatistics(ok.compactMap(\.validationAccuracy)).mean, index: c)
    }
}

/// Hands out a sweep's tasks rung by rung: the tasks of a rung, longest first (`TaskScheduler`);
/// once every one of them is back and recorded, the next rung's, chosen from the results. A
/// rung is a barrier, so which configurations go on never depends on timing or on how many
/// workers or ranks there are. A plain sweep is one rung.
///
/// Local workers call `next()` (which waits at the barrier); the MPI coordinator calls `take()`
/// (which says `wait` instead). Every task taken must be given back with `returned`, after its
/// outcome is recorded (or not, when it did not finish).
package final class RungScheduler: @unchecked Sendable {
    package enum Take { case task(SweepTask), wait, done }

    private let condition = NSCondition()
    package let plan: SweepPlan
    private let results: ResultsSink
    private let policy: RerunPolicy
    private let scope: ((SweepTask) -> Bool)?
    private let advances: Bool
    private let stop: StopSignal
    private let keepCheckpoints: (Set<String>) -> Void
    private var queue: TaskScheduler?
    private var outstanding = 0
    /// Tasks handed out by this scheduler: each runs at most once per run.
    private var attempted: Set<String> = []
    /// Told when a rung starts handing out tasks: the progress, the rung and its task count here.
    private let onRung: ((RungProgress, Int, Int) -> Void)?
    /// The rung handing out tasks now.
    package private(set) var rung: Int?
    /// The tasks the run covers (in scope) and how many were already done when it started.
    package let total: Int
    package let alreadyDone: Int

    /// - Parameters:
    ///   - policy: which recorded tasks count as done when the run starts (`--retry-failed`).
    ///   - scope: the tasks this run covers (one array element's), all when nil.
    ///   - advances: go on to later rungs (false for a Slurm array element, which runs one rung).
    ///   - keepCheckpoints: told, whenever the progress is worked out, which runs' checkpoints
    ///     are still needed (the others can go).
    package init(plan: SweepPlan, results: ResultsSink, policy: RerunPolicy = RerunPolicy(), scope: ((SweepTask) -> Bool)? = nil,
                 advances: Bool = true, stop: StopSignal, keepCheckpoints: @escaping (Set<String>) -> Void = { _ in },
                 onRung: ((RungProgress, Int, Int) -> Void)? = nil) {
        self.plan = plan
        self.results = results
        self.policy = policy
        self.scope = scope
        self.advances = advances
        self.stop = stop
        self.keepCheckpoints = keepCheckpoints
        self.onRung = onRung
        let latest = results.latestOutcomes
        let progress = plan.progress(latest: latest) { policy.skips(latest[$0.id]) }
        if let scope {
            total = progress.tasks.filter(scope).count
        } else {
            total = plan.isHalving ? plan.plannedTaskCount : plan.tasks.count
        }
        alreadyDone = progress.tasks.filter { (scope?($0) ?? true) && policy.skips(latest[$0.id]) }.count
    }

    /// Whether a task counts as done: by the policy when the run started, and once this run
    /// attempted it, as soon as it has a result.
    private func isDone(_ task: SweepTask, _ latest: [String: TaskOutcome]) -> Bool {
        attempted.contains(task.id) ? latest[task.id]?.status.isResult == true : policy.skips(latest[task.id])
    }

    /// Opens the next rung with tasks to run here; false when there is none (the sweep is
    /// done, a rung cannot finish in this run, or an array element's rung is over). Call with
    /// the lock held.
    private func open() -> Bool {
        let latest = results.latestOutcomes
        let progress = plan.progress(latest: latest) { isDone($0, latest) }
        keepCheckpoints(progress.isFinished ? [] : progress.liveLineages { latest[$0.id]?.status.isResult == true })
        guard let r = progress.current else { return false }
        if let opened = rung, opened != r, !advances { return false }
        let runnable = progress.currentTasks.filter { !isDone($0, latest) && !attempted.contains($0.id) && (scope?($0) ?? true) }
        guard !runnable.isEmpty else { return false }
        rung = r
        queue = TaskScheduler(tasks: runnable, in: plan, stop: stop)
        onRung?(progress, r, runnable.count)
        return true
    }

    /// The next task, `wait` while the rung's last tasks are still out, `done` when nothing is
    /// left to hand out (or a stop was requested).
    package func take() -> Take {
        condition.lock(); defer { condition.unlock() }
        while true {
            if stop.isRequested { return .done }
            if let task = queue?.next() {
                outstanding += 1
                attempted.insert(task.id)
                return .task(task)
            }
            if outstanding > 0 { return .wait }
            guard open() else { queue = nil; return .done }
        }
    }

    /// The next task, waiting at a rung's barrier; nil when nothing is left.
    package func next() -> SweepTask? {
        condition.lock()
        defer { condition.unlock() }
        while true {
            condition.unlock()
            let taken = take()
            condition.lock()
            switch taken {
            case .task(let task): return task
            case .done: return nil
            case .wait: _ = condition.wait(until: Date().addingTimeInterval(0.25))
            }
        }
    }

    /// A task taken is back (its outcome recorded, or not when it did not finish).
    package func returned(_ task: SweepTask) {
        condition.lock()
        outstanding -= 1
        condition.broadcast()
        condition.unlock()
    }
}
