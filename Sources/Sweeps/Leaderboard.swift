import Foundation
import SpikeNet
import SpikeSupport

/// Mean, spread and range of a configuration's fold accuracies: the one place the statistics
/// of a leaderboard row are computed. The standard deviation is the population one (ddof = 0,
/// numpy's default, as the study reports), and missing below two folds.
package struct FoldStatistics: Sendable, Equatable {
    package var mean: Double?
    package var standardDeviation: Double?
    package var min: Double?
    package var max: Double?

    package init(_ accuracies: [Double]) {
        guard !accuracies.isEmpty else { return }
        let n = Double(accuracies.count)
        let mean = accuracies.reduce(0, +) / n
        self.mean = mean
        if accuracies.count >= 2 {
            standardDeviation = (accuracies.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / n).squareRoot()
        }
        min = accuracies.min()
        max = accuracies.max()
    }
}

/// Configurations ranked by mean fold validation accuracy, like the study's Tables 1–2:
/// complete configurations (every fold has a result) first, then incomplete ones, marked.
package struct Leaderboard: Codable, Sendable, Equatable {
    package struct Row: Codable, Sendable, Equatable {
        package var rank: Int
        package var configID: String
        package var label: String
        /// Every sweep parameter's value, canonical names.
        package var parameters: [String: String]
        package var meanAccuracy: Double?
        /// Population standard deviation over folds (numpy's default, ddof = 0).
        package var stdAccuracy: Double?
        package var minAccuracy: Double?
        package var maxAccuracy: Double?
        package var foldsDone: Int
        package var foldsTotal: Int
        package var foldsFailed: Int
        /// Training seconds per fold, summed over the rungs it ran (one rung in a plain sweep).
        package var meanTrainSeconds: Double?
        /// The rung the configuration reached (0-based; 0 in a plain sweep) and its epochs:
        /// its accuracies are those of that rung.
        package var rung = 0
        package var epochs: Int
        /// The share of each fold's training data of that rung (1 unless the budget is the data).
        package var dataFraction = 1.0
        /// Validation accuracy of each fold (index = fold), nil where the fold has no `ok` result.
        package var foldAccuracies: [Double?]
        /// Holm-adjusted two-sided p of the paired t-test over folds against the best row
        /// (`PairedTest`); nil for the best row itself, incomplete rows and single folds.
        package var pVersusBest: Double?
        /// True for the best row and the rows whose `pVersusBest` is at least `PairedTest.alpha`
        /// (not distinguishable from the best on these folds); nil where there is no comparison.
        package var withinNoiseOfBest: Bool?

        /// Every fold has an `ok` result: only then does the mean compare with other complete rows.
        package var isComplete: Bool { foldsDone == foldsTotal }

        /// "5/5", "2/4 incomplete", "3/5 (2 failed)".
        package var foldsText: String {
            "\(foldsDone)/\(foldsTotal)" + (foldsFailed > 0 ? " (\(foldsFailed) failed)" : isComplete ? "" : " incomplete")
        }
    }

    package var name: String
    package var swept: [String]
    package var fixed: [String: String]
    package var folds: Int
    package var epochs: Int
    /// Each rung's epochs when the sweep trains in rungs (successive halving), else empty.
    package var rungEpochs: [Int] = []
    /// Each rung's share of the training data when that is the budget (`resource: data`), else empty.
    package var rungFractions: [Double] = []
    package var rows: [Row]
    /// The configuration with the smallest mean training time per fold among those within
    /// noise of the best (nil without a complete best row).
    package var cheapestWithinNoise: String?
    /// How many rows were compared with the best, and how many (the best included) are within noise of it.
    package var comparedWithBest = 0, withinNoise = 0

    /// Builds the leaderboard of `plan` from outcomes; for a task seen more than once, an
    /// `ok` outcome wins over a failure and a later row over an earlier one.
    package init(plan: SweepPlan, outcomes: [TaskOutcome]) {
        let byTask = Self.latestOutcomes(outcomes)
        name = plan.spec.name
        swept = plan.spec.sweptParameters.map(\.key)
        let sweptSet = Set(plan.spec.sweptParameters)
        var fixed: [String: String] = [:]
        if let first = plan.configurations.first {
            for p in Hyperparameter.all where !sweptSet.contains(p) { fixed[p.key] = p.value(in: first).description }
        }
        self.fixed = fixed
        folds = plan.spec.folds
        epochs = plan.spec.epochs
        if plan.isHalving { rungEpochs = plan.rungs.map(\.epochs) }
        if plan.spec.search.halving?.minFraction != nil { rungFractions = plan.rungs.map(\.fraction) }
        var rows: [Row] = []
        for (c, config) in plan.configurations.enumerated() {
            // Its row is that of the furthest rung it has results in.
            let reached = plan.rungs.indices.last { r in plan.tasks(ofConfig: c, rung: r).contains { byTask[$0.id] != nil } } ?? 0
            let tasks = plan.tasks(ofConfig: c, rung: reached)
            let done = tasks.compactMap { byTask[$0.id] }
            let ok = done.filter { $0.status == .ok }
            let stats = FoldStatistics(ok.compactMap(\.validationAccuracy))
            var byFold = [Double?](repeating: nil, count: tasks.count)
            for o in ok where o.fold >= 0 && o.fold < byFold.count { byFold[o.fold] = o.validationAccuracy }
            // Training time per fold: the time of every rung up to this one.
            let seconds = (0...reached).flatMap { r in plan.tasks(ofConfig: c, rung: r).compactMap { byTask[$0.id] } }
                .filter { $0.status == .ok }.map(\.seconds)
            rows.append(Row(rank: 0, configID: plan.configIDs[c], label: plan.label(ofConfig: c),
                            parameters: Dictionary(uniqueKeysWithValues: Hyperparameter.all.map { ($0.key, $0.value(in: config).description) }),
                            meanAccuracy: stats.mean, stdAccuracy: stats.standardDeviation, minAccuracy: stats.min, maxAccuracy: stats.max,
                            foldsDone: ok.count, foldsTotal: tasks.count, foldsFailed: done.count - ok.count,
                            meanTrainSeconds: ok.isEmpty ? nil : seconds.reduce(0, +) / Double(ok.count),
                            rung: reached, epochs: plan.rungs[reached].epochs, dataFraction: plan.rungs[reached].fraction,
                            foldAccuracies: byFold))
        }
        // By `Standing`: further rungs first, then complete configurations, then those with
        // some folds, then those with none; each group by mean accuracy, equal means in grid order.
        let standings = rows.enumerated().map { i, r in
            Standing(rung: r.rung, okFolds: r.foldsDone, folds: r.foldsTotal, mean: r.meanAccuracy, index: i)
        }
        let order = rows.indices.sorted { Standing.precedes(standings[$0], standings[$1]) }
        self.rows = order.enumerated().map { rank, i in var r = rows[i]; r.rank = rank + 1; return r }
        compareWithBest()
    }

    /// Fills `pVersusBest` and `withinNoiseOfBest`: each complete row against the first (when
    /// it is complete), paired over folds, Holm-adjusted over all those comparisons. Not with
    /// 2 folds: a t-test with one degree of freedom separates almost nothing, and every row
    /// would be "within noise".
    private mutating func compareWithBest() {
        guard let best = rows.first, best.isComplete, folds >= PairedTest.minimumFolds else { return }
        let bestFolds = best.foldAccuracies.compactMap { $0 }
        rows[0].withinNoiseOfBest = true
        var compared: [(row: Int, p: Double)] = []
        // Only configurations trained as long as the best compare with it.
        for i in rows.indices.dropFirst() where rows[i].isComplete && rows[i].rung == best.rung {
            if let result = PairedTest.compare(bestFolds, rows[i].foldAccuracies.compactMap { $0 }) { compared.append((i, result.p)) }
        }
        for (c, adjusted) in PairedTest.holm(compared.map(\.p)).enumerated() {
            rows[compared[c].row].pVersusBest = adjusted
            rows[compared[c].row].withinNoiseOfBest = adjusted >= PairedTest.alpha
        }
        comparedWithBest = compared.count
        withinNoise = rows.filter { $0.withinNoiseOfBest == true }.count
        cheapestWithinNoise = rows.filter { $0.withinNoiseOfBest == true && $0.meanTrainSeconds != nil }
            .min { $0.meanTrainSeconds! < $1.meanTrainSeconds! }?.configID
    }

    /// "best", "≈ 0.214" (within noise), "0.0440" or "" (no comparison).
    static func versusBest(_ r: Row) -> String {
        guard let within = r.withinNoiseOfBest else { return "" }
        guard let p = r.pVersusBest else { return "best" }
        return (within ? "≈ " : "") + Self.pValue(p)
    }

    static func pValue(_ p: Double) -> String { p >= 0.001 ? String(format: "%.3f", p) : String(format: "%.1e", p) }

    /// The outcome that counts for each task among repeated rows: an `ok` one wins over a
    /// failure, and otherwise the later row over the earlier one.
    package static func latestOutcomes(_ outcomes: [TaskOutcome]) -> [String: TaskOutcome] {
        var byTask: [String: TaskOutcome] = [:]
        for o in outcomes where counts(o, over: byTask[o.taskID]) { byTask[o.taskID] = o }
        return byTask
    }

    /// Whether a task's `later` row replaces its `earlier` one: always, but for a failure after an `ok`.
    package static func counts(_ later: TaskOutcome, over earlier: TaskOutcome?) -> Bool {
        !(earlier?.status == .ok && later.status == .failed)
    }

    /// The first `n` rows.
    package func top(_ n: Int) -> Leaderboard {
        var copy = self
        copy.rows = Array(rows.prefix(max(0, n)))
        return copy
    }

    static func number(_ v: Double?, _ digits: Int = 6) -> String {
        guard let v else { return "" }
        return String(format: "%.\(digits)f", v)
    }

    /// `leaderboard.csv`: every parameter, the accuracy statistics and mean training time.
    package var csv: String {
        let parameterNames = Hyperparameter.all.map(\.key)
        var out = CSV.line(["rank", "config_id", "mean_accuracy", "std_accuracy", "min_accuracy", "max_accuracy",
                            "folds_done", "folds_total", "folds_failed", "mean_train_seconds"] + parameterNames
                            + ["p_vs_best", "within_noise_of_best"] + (rungEpochs.isEmpty ? [] : ["rung", "epochs"])
                            + (rungFractions.isEmpty ? [] : ["data_fraction"]))
        for r in rows {
            out += CSV.line([String(r.rank), r.configID, Self.number(r.meanAccuracy), Self.number(r.stdAccuracy),
                             Self.number(r.minAccuracy), Self.number(r.maxAccuracy), String(r.foldsDone),
                             String(r.foldsTotal), String(r.foldsFailed), Self.number(r.meanTrainSeconds, 2)]
                            + parameterNames.map { r.parameters[$0] ?? "" }
                            + [r.pVersusBest.map { "\($0)" } ?? "",
                               r.withinNoiseOfBest.map { $0 ? (r.pVersusBest == nil ? "best" : "yes") : "no" } ?? ""]
                            + (rungEpochs.isEmpty ? [] : [String(r.rung + 1), String(r.epochs)])
                            + (rungFractions.isEmpty ? [] : ["\(r.dataFraction)"]))
        }
        return out
    }

    /// `leaderboard.md`: laid out like the study's tables (Accuracy, then the swept parameters).
    package var markdown: String {
        let sweptParameters = swept.compactMap(Hyperparameter.named)
        var out = "# \(name): \(folds)-fold cross-validation, " + (rungEpochs.isEmpty ? "\(epochs) epoch\(epochs == 1 ? "" : "s")"
            : rungFractions.isEmpty ? "successive halving over " + rungEpochs.map(String.init).joined(separator: " → ") + " epochs"
            : "successive halving over " + rungFractions.map(HalvingSchedule.percent).joined(separator: " → ") + " of the training data, \(epochs) epochs") + "\n\n"
        if !fixed.isEmpty {
            out += "Fixed: " + Hyperparameter.all.compactMap { p in fixed[p.key].map { "\(p.key) = \($0)" } }
                .joined(separator: ", ") + ".\n\n"
        }
        let rungColumn = !rungEpochs.isEmpty
        out += "| Rank | Accuracy | ± std | " + sweptParameters.map(\.header).joined(separator: " | ")
            + (rungColumn ? (rungFractions.isEmpty ? " | Epochs (rung)" : " | Data (rung)") : "")
            + " | Folds | p vs best |\n"
        out += "|---:|---:|---:|" + String(repeating: "---:|", count: sweptParameters.count + (rungColumn ? 1 : 0)) + "---:|---:|\n"
        for r in rows {
            let accuracy = r.meanAccuracy.map { String(format: "%.2f%%", $0 * 100) } ?? "—"
            let std = r.stdAccuracy.map { String(format: "%.2f", $0 * 100) } ?? "—"
            let folds = r.foldsText
            out += "| \(r.rank) | \(accuracy) | \(std) | " + sweptParameters.map { r.parameters[$0.key] ?? "" }.joined(separator: " | ")
                + (rungColumn ? " | \(rungFractions.isEmpty ? "\(r.epochs)" : HalvingSchedule.percent(r.dataFraction)) (\(r.rung + 1))" : "")
                + " | \(folds) | \(Self.versusBest(r)) |\n"
        }
        if let note = noiseNote { out += "\n" + note + "\n" }
        return out
    }

    /// A plain-text table for terminals.
    package var table: String {
        let sweptParameters = swept.compactMap(Hyperparameter.named)
        let header = ["rank", "accuracy", "std", "min", "max"] + sweptParameters.map(\.key)
            + (rungEpochs.isEmpty ? [] : [rungFractions.isEmpty ? "epochs" : "data"])
            + ["folds", "s/fold", "vs best", "config"]
        var lines: [[String]] = [header]
        for r in rows {
            var line: [String] = [String(r.rank), Self.f4(r.meanAccuracy), Self.f4(r.stdAccuracy), Self.f4(r.minAccuracy), Self.f4(r.maxAccuracy)]
            for p in sweptParameters { line.append(r.parameters[p.key] ?? "") }
            if !rungEpochs.isEmpty { line.append(rungFractions.isEmpty ? "\(r.epochs)" : HalvingSchedule.percent(r.dataFraction)) }
            line.append(r.foldsText)
            line.append(r.meanTrainSeconds.map { String(format: "%.1f", $0) } ?? "-")
            line.append(Self.versusBest(r))
            line.append(r.configID)
            lines.append(line)
        }
        return TextTable.render(lines) + (noiseNote.map { $0 + "\n" } ?? "")
    }

    /// What "vs best" means, and the cheapest configuration within noise of the best.
    package var noiseNote: String? {
        guard comparedWithBest > 0 else { return nil }
        var note = "vs best: paired t-test over the \(folds) folds against rank 1"
            + (rungEpochs.isEmpty ? "" : " (configurations of its rung, "
                + (rungFractions.isEmpty ? "\(rows[0].epochs) epochs)" : "\(HalvingSchedule.percent(rows[0].dataFraction)) of the data)"))
            + ", p adjusted (Holm) for its \(comparedWithBest) comparisons; ≈ marks p ≥ \(PairedTest.alpha): \(withinNoise) configurations, the best included, are not distinguishable from it."
        if let id = cheapestWithinNoise {
            note += " Cheapest of them: \(id)"
            if let row = rows.first(where: { $0.configID == id }) {
                note += " (rank \(row.rank), \(row.meanTrainSeconds.map { String(format: "%.1f", $0) } ?? "-") s per fold)"
            }
            note += "."
        }
        return note
    }
}
