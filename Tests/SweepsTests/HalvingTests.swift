import Foundation
import Testing
import SpikeEvents
import SpikeNet
import Sweeps

/// Successive halving: the schedule, the plan's rungs and which configurations each rung
/// promotes, as pure functions of the spec and the recorded results.
@Suite struct HalvingTests {
    static func spec(_ search: String = "search: {scheduler: halving, min_epochs: 1, max_epochs: 15, eta: 3}",
                     grid: String = "grid: {beta: [0.7, 0.9, 0.95], hidden: [100, 200, 400, 800], window_us: [500, 1000, 2000], target_ratio: [\"0.8/0.2\", \"0.95/0.05\"]}") throws -> SweepSpec {
        try SweepSpec.parse("name: h\ndata: {synthetic: {count: 100}}\ncv: {folds: 5}\n\(grid)\n\(search)\n", file: "h.yaml")
    }

    @Test func budgetsAndSurvivors() {
        #expect(HalvingSchedule(minEpochs: 1, maxEpochs: 15, eta: 3).budgets == [1, 3, 9, 15])
        #expect(HalvingSchedule(minEpochs: 1, maxEpochs: 9, eta: 3).budgets == [1, 3, 9])
        #expect(HalvingSchedule(minEpochs: 2, maxEpochs: 8, eta: 2).budgets == [2, 4, 8])
        #expect(HalvingSchedule(minEpochs: 3, maxEpochs: 4, eta: 4).budgets == [3, 4])
        let h = HalvingSchedule(minEpochs: 1, maxEpochs: 15, eta: 3)
        #expect([72, 24, 8, 2, 1].map(h.survivors(of:)) == [24, 8, 2, 1, 1])
    }

    /// The Table 1 grid under halving: 72 → 24 → 8 → 2 configurations; the last rung's task
    /// ids are those of a plain sweep trained for max_epochs (its results are the same runs),
    /// every rung of one (configuration, fold) shares its seed and checkpoint.
    @Test func planRungsIdsAndLineages() throws {
        let spec = try Self.spec()
        #expect(spec.epochs == 15)
        let plan = SweepPlan(spec: spec, datasetFingerprint: 7)
        #expect(plan.rungs.map(\.epochs) == [1, 3, 9, 15])
        #expect(plan.rungs.map(\.configurations) == [72, 24, 8, 2])
        #expect(plan.plannedTaskCount == (72 + 24 + 8 + 2) * 5)
        #expect(plan.tasks.count == 72 * 5 * 4)
        #expect(Set(plan.tasks.map(\.id)).count == plan.tasks.count)
        let c = 17, fold = 3
        let lineage = (0..<4).map { plan.tasks(ofConfig: c, rung: $0)[plan.tasks(ofConfig: c, rung: $0).startIndex + fold] }
        #expect(Set(lineage.map(\.lineage)).count == 1 && lineage[0].lineage == lineage[0].id)
        #expect(Set(lineage.map(\.seed)).count == 1)
        #expect(lineage.map(\.epochs) == [1, 3, 9, 15] && lineage.map(\.priorEpochs) == [0, 1, 3, 9])
        #expect(lineage.map(\.keepsCheckpoint) == [true, true, true, false])

        var plainSpec = spec
        plainSpec.search.halving = nil
        let plain = SweepPlan(spec: plainSpec, datasetFingerprint: 7)
        #expect(plain.rungs.count == 1 && plain.tasks.count == 360)
        #expect(plain.tasks.map(\.id) == Array(plan.tasks.suffix(360)).map(\.id))
        #expect(plain.tasks.map(\.seed) == Array(plan.tasks.suffix(360)).map(\.seed))
        #expect(plain.tasks.allSatisfy { $0.lineage == $0.id && !$0.keepsCheckpoint && $0.priorEpochs == 0 })
    }

    static func ok(_ task: SweepTask, _ accuracy: Double) -> TaskOutcome {
        TaskOutcome(taskID: task.id, configID: task.configID, fold: task.fold, status: .ok, validationAccuracy: accuracy,
                    trainAccuracy: 0.5, trainLoss: 1, epochs: [], seconds: 1, recordingsPerSecond: 100, worker: "t", error: nil)
    }

    /// A rung promotes the best n/eta by mean fold accuracy (complete configurations before
    /// ones with a failed fold, ties in plan order), and the leaderboard ranks by rung reached.
    @Test func rungsPromoteTheBestAndTheLeaderboardRanksByRungReached() throws {
        let spec = try Self.spec("search: {scheduler: halving, min_epochs: 1, max_epochs: 4, eta: 2}",
                                 grid: "grid: {beta: [0.5, 0.6, 0.7, 0.8, 0.9]}")
        let plan = SweepPlan(spec: spec, datasetFingerprint: 1)
        #expect(plan.rungs.map(\.configurations) == [5, 2, 1] && plan.rungs.map(\.epochs) == [1, 2, 4])
        var latest: [String: TaskOutcome] = [:]
        #expect(plan.progress(latest: latest).current == 0)
        // Rung 0: config 3 best, configs 1 and 4 tie for second (1 wins: plan order), config 0
        // would be best but one fold failed.
        let means = [0.9, 0.6, 0.3, 0.8, 0.6]
        for c in 0..<5 {
            for task in plan.tasks(ofConfig: c, rung: 0) {
                latest[task.id] = c == 0 && task.fold == 2 ? .failure(task, error: "diverged", seconds: 1, worker: "t") : Self.ok(task, means[c])
            }
        }
        var progress = plan.progress(latest: latest)
        #expect(progress.current == 1 && progress.entering[1] == [3, 1])
        #expect(progress.currentTasks.map(\.id) == Array(plan.tasks(ofConfig: 3, rung: 1).map(\.id) + plan.tasks(ofConfig: 1, rung: 1).map(\.id)))
        #expect(progress.liveLineages { latest[$0.id] != nil } == Set(progress.currentTasks.map(\.lineage)))
        #expect(SweepExitStatus.of(plan: plan, latest: latest, stop: nil) == .tasksMissing)
        // Rung 1: config 1 overtakes config 3.
        for task in plan.tasks(ofConfig: 3, rung: 1) { latest[task.id] = Self.ok(task, 0.82) }
        for task in plan.tasks(ofConfig: 1, rung: 1) { latest[task.id] = Self.ok(task, 0.85) }
        progress = plan.progress(latest: latest)
        #expect(progress.current == 2 && progress.entering[2] == [1])
        for task in plan.tasks(ofConfig: 1, rung: 2) { latest[task.id] = Self.ok(task, 0.88) }
        progress = plan.progress(latest: latest)
        #expect(progress.isFinished && progress.tasks.count == plan.plannedTaskCount)
        #expect(progress.liveLineages { _ in true }.isEmpty)
        #expect(SweepExitStatus.of(plan: plan, latest: latest, stop: nil) == .tasksFailed)

        let board = Leaderboard(plan: plan, outcomes: Array(latest.values))
        #expect(board.rows.map(\.configID) == [1, 3, 4, 2, 0].map { plan.configIDs[$0] })
        #expect(board.rows.map(\.rung) == [2, 1, 0, 0, 0] && board.rows.map(\.epochs) == [4, 2, 1, 1, 1])
        #expect(abs(board.rows[0].meanAccuracy! - 0.88) < 1e-12 && abs(board.rows[1].meanAccuracy! - 0.82) < 1e-12)
        // Time per fold adds up every rung it ran: 3 rungs of 1 s.
        #expect(board.rows[0].meanTrainSeconds == 3)
        // Only configurations of the best's rung are compared with it.
        #expect(board.comparedWithBest == 0)
        let header = board.csv.split(separator: "\n")[0]
        #expect(header.hasSuffix(",p_vs_best,within_noise_of_best,rung,epochs"))
        #expect(board.csv.split(separator: "\n")[1].hasSuffix(",best,3,4"))
        #expect(board.markdown.contains("successive halving over 1 → 2 → 4 epochs") && board.markdown.contains("| 4 (3) |"))
    }

    /// Hyperband: the configurations dealt into one bracket per rung (Hyperband's shares),
    /// each bracket halving from its first rung, its runs starting there from scratch.
    @Test func hyperbandBracketsShareTheRungs() throws {
        let spec = try Self.spec("search: {scheduler: hyperband, min_epochs: 1, max_epochs: 15, eta: 3}")
        let sizes = try #require(spec.search.halving).bracketSizes(configurations: 72)
        #expect(sizes == [[40, 13, 4, 1], [0, 17, 5, 1], [0, 0, 9, 3], [0, 0, 0, 6]])
        let plan = SweepPlan(spec: spec, datasetFingerprint: 7)
        #expect(plan.rungs.map(\.configurations) == [40, 30, 18, 11] && plan.plannedTaskCount == 99 * 5)
        #expect(plan.brackets.map(\.count) == [40, 17, 9, 6])
        #expect(Set(plan.brackets.flatMap { $0 }) == Set(0..<72) && plan.brackets.flatMap { $0 }.count == 72)
        // Dealt in a shuffle: the first bracket is not the grid's first 40.
        #expect(plan.brackets[0] != Array(0..<40))
        let c = plan.brackets[2][0]
        let rung2 = plan.tasks(ofConfig: c, rung: 2).first!, rung3 = plan.tasks(ofConfig: c, rung: 3).first!
        #expect(rung2.priorEpochs == 0 && rung2.lineage == rung2.id && rung3.lineage == rung2.id && rung3.priorEpochs == 9)
        // Run it on made-up accuracies (higher for higher configuration index): every rung holds
        // the bracket survivors plus the new bracket, and each bracket keeps its best.
        var latest: [String: TaskOutcome] = [:]
        var progress = plan.progress(latest: latest)
        while let r = progress.current {
            #expect(progress.currentTasks.count == plan.rungs[r].configurations * 5)
            for task in progress.currentTasks { latest[task.id] = Self.ok(task, Double(task.configIndex) / 100 + Double(r)) }
            progress = plan.progress(latest: latest)
        }
        #expect(progress.entering[3].sorted() == ([plan.brackets[0].max()!, plan.brackets[1].max()!] + plan.brackets[2].sorted().suffix(3)
                                                   + plan.brackets[3]).sorted())
        let board = Leaderboard(plan: plan, outcomes: Array(latest.values))
        #expect(board.rows.prefix(11).allSatisfy { $0.epochs == 15 } && board.rows[11].epochs == 9)
        #expect(try SweepSpec.parse(spec.canonicalYAML, file: "s.yaml").search.halving?.hyperband == true)
    }

    /// `resource: data`: rungs on 11.1%, 33.3% and 100% of each fold's training data, each
    /// from scratch (no shared checkpoint) for `epochs` epochs; the last rung is the plain run.
    @Test func dataResourceRungsGrowTheTrainingShare() throws {
        let spec = try Self.spec("epochs: 4\nsearch: {scheduler: halving, resource: data, eta: 3}", grid: "grid: {beta: [0.5, 0.6, 0.7, 0.8, 0.9]}")
        let halving = try #require(spec.search.halving)
        #expect(halving.fractions == [0.111, 0.333, 1] && halving.budgets == [4, 4, 4] && spec.epochs == 4)
        #expect(halving.summary == "11.1% → 33.3% → 100% of the data, 4 epochs each, eta 3")
        let plan = SweepPlan(spec: spec, datasetFingerprint: 9)
        #expect(plan.rungs.map(\.configurations) == [5, 1, 1] && plan.rungs.map(\.fraction) == [0.111, 0.333, 1])
        #expect(plan.tasks.allSatisfy { $0.lineage == $0.id && $0.priorEpochs == 0 && !$0.keepsCheckpoint && $0.epochs == 4 })
        var plainSpec = spec
        plainSpec.search.halving = nil
        #expect(SweepPlan(spec: plainSpec, datasetFingerprint: 9).tasks.map(\.id) == Array(plan.tasks.suffix(25)).map(\.id))
        #expect(try SweepSpec.parse(spec.canonicalYAML, file: "s.yaml").search == spec.search)
    }

    /// A share of a fold's training data keeps the classes' proportions, is the same for every
    /// configuration (a function of fold and seed), and lies inside the fold's training set.
    @Test func trainingSharesAreStratifiedAndSeeded() throws {
        let labels = (0..<1000).map { UInt8($0 % 10) }
        let folds = try StratifiedFolds(labels: labels, folds: 5, seed: 1)
        let share = folds.trainingIndices(fold: 2, fraction: 0.25, labels: labels, seed: 1)
        #expect(share.count == 200 && Set(share).isSubset(of: Set(folds.trainingIndices(fold: 2))))
        #expect(Dictionary(grouping: share) { labels[$0] }.values.allSatisfy { $0.count == 20 })
        #expect(share == folds.trainingIndices(fold: 2, fraction: 0.25, labels: labels, seed: 1))
        #expect(share != folds.trainingIndices(fold: 2, fraction: 0.25, labels: labels, seed: 2))
        #expect(folds.trainingIndices(fold: 2, fraction: 1, labels: labels, seed: 1) == folds.trainingIndices(fold: 2))
    }

    /// A plain sweep's leaderboard and files keep their columns.
    @Test func plainSweepsHaveNoRungColumns() throws {
        var spec = try Self.spec("", grid: "grid: {beta: [0.5, 0.9]}\nepochs: 2")
        spec.search.halving = nil
        let plan = SweepPlan(spec: spec, datasetFingerprint: 1)
        let board = Leaderboard(plan: plan, outcomes: plan.tasks.map { Self.ok($0, 0.5) })
        #expect(board.csv.split(separator: "\n")[0].hasSuffix(",p_vs_best,within_noise_of_best"))
        #expect(!board.markdown.contains("rung"))
    }

    static let base = "name: s\ndata: {synthetic: {count: 100}}\ngrid: {beta: [0.8, 0.9]}\n"

    /// (spec text after the common head, expected one-line error).
    static let malformed: [(String, String)] = [
        ("search: {scheduler: asha, max_epochs: 9}\n", "s.yaml: line 4: search.scheduler: unknown scheduler 'asha'; one of: halving (successive halving over epochs), hyperband (its brackets)"),
        ("epochs: 3\nsearch: {scheduler: halving, max_epochs: 9}\n", "s.yaml: line 4: epochs: is 3 but search.max_epochs is 9: a halving sweep trains its last rung for max_epochs (drop epochs or make them equal)"),
        ("search: {scheduler: halving}\n", "s.yaml: line 4: search.max_epochs: missing (the epochs of the last rung, e.g. max_epochs: 15)"),
        ("search: {scheduler: halving, min_epochs: 3, max_epochs: 3}\n", "s.yaml: line 4: search.max_epochs: must be > min_epochs (3), got 3"),
        ("search: {scheduler: halving, min_epochs: 0, max_epochs: 3}\n", "s.yaml: line 4: search.min_epochs: must be >= 1, got 0"),
        ("search: {scheduler: halving, max_epochs: 9, eta: 1}\n", "s.yaml: line 4: search.eta: must be >= 2 (keep the best 1/eta of each rung), got 1"),
        ("search: {scheduler: halving, max_epochs: 9, eta: 2.5}\n", "s.yaml: line 4: search.eta: expected a whole number, got '2.5'"),
        ("epochs: 3\nsearch: {eta: 3}\n", "s.yaml: line 5: search.eta: only with scheduler: halving or hyperband"),
        ("epochs: 3\nsearch: {max_epochs: 9}\n", "s.yaml: line 5: search.max_epochs: only with scheduler: halving or hyperband"),
        ("search: {scheduler: [halving], max_epochs: 9}\n", "s.yaml: line 4: search.scheduler: expected a string, got a list"),
        ("search: {scheduler: halving, resource: time, max_epochs: 9}\n", "s.yaml: line 4: search.resource: unknown resource 'time'; one of: epochs, data (the share of each fold's training data)"),
        ("search: {scheduler: halving, resource: data}\n", "s.yaml: line 4: epochs: missing: with resource: data every rung trains this many epochs (e.g. epochs: 15)"),
        ("epochs: 5\nsearch: {scheduler: halving, resource: data, min_fraction: 1.5}\n", "s.yaml: line 5: search.min_fraction: must be in (0, 1), got 1.5"),
        ("epochs: 5\nsearch: {scheduler: halving, resource: data, max_epochs: 9}\n", "s.yaml: line 5: search.max_epochs: not with resource: data (every rung trains `epochs` epochs; min_fraction sets the first rung's share)"),
        ("epochs: 5\nsearch: {scheduler: halving, min_fraction: 0.1, max_epochs: 5, min_epochs: 1}\n", "s.yaml: line 5: search.min_fraction: only with resource: data"),
        ("search: {strategy: random, samples: 3}\n", "s.yaml: line 4: search.strategy: random samples distributions, but every grid parameter is a list; give at least one as e.g. lr: {loguniform: [1e-4, 2e-2]}"),
    ]

    @Test(arguments: malformed)
    func malformedHalvingSpecsAreOneLineErrorsNamingTheKeyPath(_ text: String, _ expected: String) {
        let error = #expect(throws: SpecError.self) { try SweepSpec.parse(Self.base + text, file: "s.yaml") }
        #expect(error?.description == expected)
        #expect(error?.description.contains("\n") == false)
    }

    /// The canonical spec (results/<name>/spec.yaml) keeps the schedule and reads back equal;
    /// a sampler and the halving scheduler combine in one `search`.
    @Test func canonicalYAMLRoundTrips() throws {
        let spec = try Self.spec("search: {strategy: sobol, samples: 6, seed: 2, scheduler: halving, max_epochs: 9, eta: 4}",
                                 grid: "grid: {beta: [0.8, 0.9], lr: {loguniform: [1e-4, 2e-2]}}")
        #expect(spec.search.halving == HalvingSchedule(minEpochs: 1, maxEpochs: 9, eta: 4) && spec.epochs == 9)
        #expect(spec.canonicalYAML.contains("search: {strategy: sobol, samples: 6, seed: 2, scheduler: halving, min_epochs: 1, max_epochs: 9, eta: 4}"))
        let again = try SweepSpec.parse(spec.canonicalYAML, file: "spec.yaml")
        #expect(again.canonicalYAML == spec.canonicalYAML && again.resultHash == spec.resultHash)
        #expect(again.search == spec.search && again.sampledPoints == spec.sampledPoints)
        #expect(SweepPlan(spec: spec, datasetFingerprint: 3).rungs.map(\.configurations) == [12, 3, 1])
    }
}
