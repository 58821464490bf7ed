import Foundation
import SpikeEvents
import SpikeNet
import SpikeSupport

/// `report.html`: one self-contained page (inline SVG and CSS, no scripts, no network) that
/// shows a sweep: the ranked table, the top configurations with their fold spread, the mean
/// accuracy for each value of each swept parameter, learning curves, the final model's
/// confusion matrix when there is one, and what the sweep cost.
package struct SweepReport {
    package let plan: SweepPlan
    package let outcomes: [TaskOutcome]
    package let leaderboard: Leaderboard
    package let final: FinalTraining.Metrics?

    static let palette = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"]

    package init(resultsDirectory: URL) throws {
        plan = try SweepPlan.load(resultsDirectory: resultsDirectory)
        outcomes = try ResultsFiles.readAll(directory: resultsDirectory)
        leaderboard = Leaderboard(plan: plan, outcomes: outcomes)
        final = FinalTraining.readMetrics(resultsDirectory: resultsDirectory)
    }

    /// Writes `report.html` into the results folder and returns its path.
    @discardableResult
    package static func write(resultsDirectory: URL) throws -> URL {
        let report = try SweepReport(resultsDirectory: resultsDirectory)
        let url = resultsDirectory.appendingPathComponent("report.html")
        try AtomicFile.write(Array(report.html.utf8), to: url.path)
        return url
    }

    // MARK: - Figures derived from the results

    /// Mean fold accuracy of each value of each swept parameter (over the configurations with
    /// that value), with the best and worst configuration mean; parameters sorted by how much
    /// their value moves the mean (max − min of the value means), the study's argument for which
    /// parameters matter.
    package var parameterEffects: [Leaderboard.Effect] {
        (plan.spec.grid.map { parameter, values in leaderboard.effect(of: parameter, values: values.map(\.description)) }
            + plan.spec.sampled.map { leaderboard.binnedEffect(of: $0.parameter) })
            .sorted { $0.spread > $1.spread }
    }

    /// Total task time in core-hours (each task ran on one core).
    package var coreHours: Double { outcomes.reduce(0) { $0 + $1.seconds } / 3600 }

    // MARK: - Page

    package var html: String {
        let ok = outcomes.filter { $0.status == .ok }
        let failed = Leaderboard.latestOutcomes(outcomes).values.filter { $0.status == .failed }.count
        let rate = ok.isEmpty ? 0 : ok.reduce(0) { $0 + $1.recordingsPerSecond } / Double(ok.count)
        let done = Set(outcomes.map(\.taskID)).count
        var page = """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8">
            <title>\(SVG.escape(plan.spec.name)) — SpikeSweep report</title>
            <style>
            body { font-family: Helvetica, Arial, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; line-height: 1.4; }
            h1 { margin-bottom: 0.2em; } h2 { margin-top: 1.8em; border-bottom: 1px solid #ddd; padding-bottom: 0.2em; }
            .sub { color: #666; margin-top: 0; }
            .cards { display: flex; gap: 1em; flex-wrap: wrap; margin: 1em 0; }
            .card { border: 1px solid #ddd; border-radius: 6px; padding: 0.6em 1em; min-width: 9em; }
            .card b { display: block; font-size: 1.5em; }
            table { border-collapse: collapse; font-size: 0.9em; }
            th, td { padding: 0.25em 0.7em; border-bottom: 1px solid #eee; text-align: right; }
            th { background: #f6f6f6; } tr:first-child td { font-weight: bold; }
            .note { color: #666; font-size: 0.9em; }
            .grid { display: flex; flex-wrap: wrap; gap: 1.2em; }
            </style></head><body>
            <h1>Sweep <code>\(SVG.escape(plan.spec.name))</code></h1>
            <p class="sub">\(plan.configurations.count) configurations × \(plan.spec.folds)-fold \(plan.spec.stratified ? "stratified " : "")cross-validation, \
            \(plan.spec.search.halving.map { "successive halving over \($0.summary)" } ?? "\(plan.spec.epochs) epoch\(plan.spec.epochs == 1 ? "" : "s") per fold"), seed \(plan.spec.seed); dataset fingerprint \
            \(String(plan.datasetFingerprint, radix: 16)); SpikeSweep \(ToolVersion.string).</p>
            <div class="cards">
            <div class="card">best mean accuracy<b>\(leaderboard.rows.first?.meanAccuracy.map { String(format: "%.2f%%", $0 * 100) } ?? "—")</b>\(SVG.escape(leaderboard.rows.first?.label ?? ""))</div>
            <div class="card">tasks done<b>\(done) / \(plan.plannedTaskCount)</b>\(failed) failed</div>
            <div class="card">cost<b>\(coreHours >= 1 ? String(format: "%.1f core-hours", coreHours) : String(format: "%.1f core-minutes", coreHours * 60))</b>sum of task wall times</div>
            <div class="card">engine speed<b>\(String(format: "%.0f", rate)) rec/s</b>mean per task, one core</div>
            \(final.map { "<div class=\"card\">final test accuracy<b>\(String(format: "%.2f%%", $0.testAccuracy * 100))</b>\($0.testRecordings) recordings</div>" } ?? "")
            </div>

            """
        page += "<h2>Ranking</h2>\n" + rankingTable(limit: 20)
        if plan.isHalving { page += "<h2>Rungs</h2>\n" + rungSection() }
        page += "<h2>Top configurations and their folds</h2>\n<p class=\"note\">Dots: mean fold accuracy; bar: ± one standard deviation; whiskers: worst and best fold.</p>\n" + topChart(count: 15)
        if !plan.spec.sweptParameters.isEmpty {
            page += "<h2>Which parameters matter</h2>\n<p class=\"note\">For each value of a swept parameter (for a parameter drawn from a distribution, for each fifth of its drawn values): the mean accuracy of all configurations with that value (dot) and the range of their means (line). Panels are ordered by how far the value moves the mean.</p>\n<div class=\"grid\">\n"
            for effect in parameterEffects { page += effectChart(effect) }
            page += "</div>\n"
        }
        page += "<h2>Learning curves</h2>\n<p class=\"note\">Mean over folds, per epoch, for the five best configurations.</p>\n<div class=\"grid\">\n" + learningCurves() + "</div>\n"
        if let final { page += "<h2>Final model</h2>\n" + finalSection(final) }
        page += "</body></html>\n"
        return page
    }

    func rankingTable(limit: Int) -> String {
        let swept = plan.spec.sweptParameters
        var s = "<table><tr><th>rank</th><th>accuracy</th><th>± std</th><th>min</th><th>max</th>"
        s += swept.map { "<th>\(SVG.escape($0.header))</th>" }.joined() + (plan.isHalving ? "<th>epochs</th>" : "")
            + "<th>folds</th><th>s / fold</th><th>p vs best</th></tr>\n"
        func pct(_ v: Double?) -> String { v.map { String(format: "%.2f", $0 * 100) } ?? "—" }
        for r in leaderboard.rows.prefix(limit) {
            s += "<tr><td>\(r.rank)</td><td>\(pct(r.meanAccuracy))</td><td>\(pct(r.stdAccuracy))</td><td>\(pct(r.minAccuracy))</td><td>\(pct(r.maxAccuracy))</td>"
            s += swept.map { "<td>\(SVG.escape(r.parameters[$0.key] ?? ""))</td>" }.joined()
            if plan.isHalving { s += "<td>\(r.epochs)</td>" }
            s += "<td>\(r.foldsText)</td><td>\(r.meanTrainSeconds.map { String(format: "%.1f", $0) } ?? "—")</td>"
            s += "<td>\(SVG.escape(Leaderboard.versusBest(r)))</td></tr>\n"
        }
        if leaderboard.rows.count > limit { s += "<tr><td colspan=\"\(8 + swept.count)\" class=\"note\">… \(leaderboard.rows.count - limit) more in leaderboard.csv</td></tr>\n" }
        s += "</table>\n"
        if let note = leaderboard.noiseNote { s += "<p class=\"note\">\(SVG.escape(note))</p>\n" }
        return s
    }

    /// A halving sweep's rungs: per rung, how many configurations trained how long and which
    /// went on; and a chart of every configuration's mean accuracy at each rung it reached,
    /// the ones stopped early in grey.
    func rungSection() -> String {
        let latest = Leaderboard.latestOutcomes(outcomes)
        let progress = plan.progress(latest: latest)
        let byData = plan.spec.search.halving?.minFraction != nil
        // A rung's budget on the chart: its epochs, or its percentage of the training data.
        let budget = { (r: Int) in byData ? plan.rungs[r].fraction * 100 : Double(plan.rungs[r].epochs) }
        var s = "<table><tr><th>rung</th><th>budget</th><th>configurations</th><th>tasks done</th><th>best mean</th><th>went on</th></tr>\n"
        var means: [Int: [(budget: Double, mean: Double)]] = [:]
        for (r, entering) in progress.entering.enumerated() {
            let tasks = entering.flatMap { plan.tasks(ofConfig: $0, rung: r) }
            let done = tasks.filter { latest[$0.id]?.status.isResult == true }.count
            var best: Double?
            for c in entering {
                guard let mean = plan.standing(ofConfig: c, rung: r, latest: latest).mean else { continue }
                means[c, default: []].append((budget(r), mean))
                best = max(best ?? mean, mean)
            }
            let wentOn = r + 1 < progress.entering.count ? "\(progress.entering[r + 1].count)" : (r + 1 == plan.rungs.count ? "—" : "pending")
            s += "<tr><td>\(r + 1)</td><td>\(SVG.escape(plan.spec.search.halving?.budgetText(rung: r) ?? ""))</td><td>\(entering.count)</td><td>\(done) / \(tasks.count)</td>"
                + "<td>\(best.map { String(format: "%.2f%%", $0 * 100) } ?? "—")</td><td>\(wentOn)</td></tr>\n"
        }
        s += "</table>\n<p class=\"note\">Each rung trains its configurations on every fold, "
            + (byData ? "from scratch on a larger share of each fold's training data" : "continuing the previous rung's runs") + ", and the best "
            + "1/\(plan.spec.search.halving?.eta ?? 3) by mean fold accuracy go on. Below: mean fold accuracy at each rung a configuration reached; "
            + "grey lines stopped before the last rung.</p>\n"
        var svg = SVG(width: 700, height: 320)
        let left = 56.0, bottom = 270.0, top = 20.0, right = 20.0
        let budgets = plan.rungs.indices.map(budget)
        let x = LinearScale(domain: (0, budgets.last ?? 1), range: (left, svg.width - right))
        let y = LinearScale(domain: LinearScale.padded(means.values.flatMap { $0.map(\.mean) }, lo: 0, hi: 1), range: (bottom, top))
        for t in y.ticks(5) {
            svg.line(left, y(t), svg.width - right, y(t), stroke: "#eee")
            svg.text(left - 6, y(t) + 4, String(format: "%.0f%%", t * 100), anchor: "end", size: 10, fill: "#666")
        }
        for b in budgets { svg.text(x(b), bottom + 16, Format.shortest((b * 10).rounded() / 10), anchor: "middle", size: 10, fill: "#666") }
        svg.text((left + svg.width - right) / 2, bottom + 36, byData ? "% of the training data (rungs)" : "epochs (rungs)",
                 anchor: "middle", size: 11, fill: "#666")
        let last = budgets.last ?? 0
        for (c, points) in means.sorted(by: { ($0.value.last?.budget ?? 0, -$0.key) < ($1.value.last?.budget ?? 0, -$1.key) }) {
            let finalist = points.last?.budget == last
            let color = finalist ? Self.palette[(progress.entering.last?.firstIndex(of: c) ?? 0) % Self.palette.count] : "#bbb"
            if points.count > 1 { svg.polyline(points.map { (x($0.budget), y($0.mean)) }, stroke: color, width: finalist ? 2 : 1) }
            for p in points {
                svg.circle(x(p.budget), y(p.mean), r: finalist ? 3.5 : 2, fill: color,
                           title: "\(plan.label(ofConfig: c)): " + String(format: "%.2f%%", p.mean * 100)
                               + (byData ? " on \(Format.shortest(p.budget))% of the data" : " after \(Int(p.budget)) epochs"))
            }
        }
        return s + svg.rendered + "\n"
    }

    func topChart(count: Int) -> String {
        let rows = leaderboard.rows.filter { $0.meanAccuracy != nil }.prefix(count)
        guard !rows.isEmpty else { return "<p class=\"note\">No finished folds yet.</p>\n" }
        let rowHeight = 22.0, left = 230.0, right = 40.0, top = 20.0
        var svg = SVG(width: 900, height: top + Double(rows.count) * rowHeight + 40)
        let x = LinearScale(domain: LinearScale.padded(rows.flatMap { [$0.minAccuracy!, $0.maxAccuracy!] }, lo: 0, hi: 1),
                            range: (left, svg.width - right))
        for t in x.ticks(6) {
            svg.line(x(t), top - 5, x(t), svg.height - 30, stroke: "#eee")
            svg.text(x(t), svg.height - 14, String(format: "%.0f%%", t * 100), anchor: "middle", fill: "#666")
        }
        for (i, r) in rows.enumerated() {
            let y = top + Double(i) * rowHeight + rowHeight / 2
            svg.text(left - 10, y + 4, "#\(r.rank) \(r.label)", anchor: "end")
            svg.line(x(r.minAccuracy!), y, x(r.maxAccuracy!), y, stroke: "#999")
            let m = r.meanAccuracy!, s = r.stdAccuracy ?? 0
            svg.rect(x(m - s), y - 5, x(m + s) - x(m - s), 10, fill: "#9ecae1")
            svg.circle(x(m), y, r: 4.5, fill: "#08519c", title: String(format: "mean %.4f ± %.4f, folds ", m, s) + r.foldsText)
        }
        return svg.rendered + "\n"
    }

    func effectChart(_ effect: Leaderboard.Effect) -> String {
        var svg = SVG(width: 340, height: 230)
        let left = 50.0, bottom = 190.0, top = 34.0
        let y = LinearScale(domain: LinearScale.padded(effect.values.flatMap { [$0.best, $0.worst] }, lo: 0, hi: 1), range: (bottom, top))
        svg.text(svg.width / 2, 18, "\(effect.parameter.header): spread \(String(format: "%.2f", effect.spread * 100)) points", anchor: "middle", size: 13, weight: "bold")
        for t in y.ticks(4) {
            svg.line(left, y(t), svg.width - 10, y(t), stroke: "#eee")
            svg.text(left - 6, y(t) + 4, String(format: "%.0f%%", t * 100), anchor: "end", size: 10, fill: "#666")
        }
        let n = Double(max(1, effect.values.count))
        let step = (svg.width - left - 20) / n
        var points: [(Double, Double)] = []
        for (i, v) in effect.values.enumerated() {
            let x = left + step * (Double(i) + 0.5)
            svg.line(x, y(v.worst), x, y(v.best), stroke: "#bbb", width: 3)
            svg.circle(x, y(v.mean), r: 5, fill: "#d62728", title: String(format: "%@ = %@: mean %.4f (best %.4f, worst %.4f)", effect.parameter.key, v.value, v.mean, v.best, v.worst))
            svg.text(x, bottom + 18, v.value, anchor: "middle", size: 11)
            points.append((x, y(v.mean)))
        }
        svg.polyline(points, stroke: "#d62728", width: 1.5)
        return svg.rendered + "\n"
    }

    func learningCurves() -> String {
        let top = leaderboard.rows.filter { $0.meanAccuracy != nil }.prefix(5)
        // One run per (configuration, fold): a halving sweep's rungs each hold some of its epochs.
        let byConfig = Dictionary(grouping: Leaderboard.latestOutcomes(outcomes).values.filter { $0.status == .ok }, by: \.configID)
            .mapValues { outcomes in
                Dictionary(grouping: outcomes, by: \.fold).values.map { runs -> TaskOutcome in
                    var run = runs[0]
                    run.epochs = runs.flatMap(\.epochs).sorted { $0.epoch < $1.epoch }
                    return run
                }
            }
        var series: [(label: String, validation: [Double], loss: [Double], train: [Double])] = []
        for r in top {
            let folds = byConfig[r.configID] ?? []
            let epochCount = folds.map(\.epochs.count).max() ?? 0
            guard epochCount > 0 else { continue }
            func mean(_ pick: (EpochRecord) -> Double) -> [Double] {
                (0..<epochCount).map { e in
                    let values = folds.compactMap { $0.epochs.count > e ? pick($0.epochs[e]) : nil }.filter { $0.isFinite }
                    return values.isEmpty ? .nan : values.reduce(0, +) / Double(values.count)
                }
            }
            series.append(("#\(r.rank) \(r.label)", mean(\.validationAccuracy), mean(\.trainLoss), mean(\.trainAccuracy)))
        }
        guard !series.isEmpty else { return "<p class=\"note\">No per-epoch metrics recorded.</p>\n" }
        func chart(_ title: String, _ values: [[Double]], percent: Bool) -> String {
            var svg = SVG(width: 520, height: 300)
            let left = 56.0, bottom = 250.0, top = 30.0, right = 16.0
            let all = values.flatMap { $0 }.filter { $0.isFinite }
            let epochs = values.map(\.count).max() ?? 1
            let x = LinearScale(domain: (1, Double(max(2, epochs))), range: (left, svg.width - right))
            let y = LinearScale(domain: LinearScale.padded(all, lo: percent ? 0 : -.infinity, hi: percent ? 1 : .infinity), range: (bottom, top))
            svg.text(svg.width / 2, 18, title, anchor: "middle", size: 13, weight: "bold")
            for t in y.ticks(5) {
                svg.line(left, y(t), svg.width - right, y(t), stroke: "#eee")
                svg.text(left - 6, y(t) + 4, percent ? String(format: "%.0f%%", t * 100) : String(format: "%.2f", t), anchor: "end", size: 10, fill: "#666")
            }
            for e in 1...epochs { svg.text(x(Double(e)), bottom + 16, "\(e)", anchor: "middle", size: 10, fill: "#666") }
            svg.text((left + svg.width - right) / 2, bottom + 34, "epoch", anchor: "middle", size: 11, fill: "#666")
            for (i, v) in values.enumerated() {
                let color = Self.palette[i % Self.palette.count]
                let pts = v.enumerated().filter { $0.element.isFinite }.map { (x(Double($0.offset + 1)), y($0.element)) }
                svg.polyline(pts, stroke: color)
                for p in pts { svg.circle(p.0, p.1, r: 3, fill: color) }
            }
            return svg.rendered + "\n"
        }
        var legend = "<div style=\"width:100%\">"
        for (i, s) in series.enumerated() {
            legend += "<span style=\"margin-right:1.2em\"><span style=\"display:inline-block;width:0.9em;height:0.9em;background:\(Self.palette[i % Self.palette.count]);margin-right:0.3em\"></span>\(SVG.escape(s.label))</span>"
        }
        legend += "</div>\n"
        return legend + chart("validation accuracy", series.map(\.validation), percent: true)
            + chart("training loss", series.map(\.loss), percent: false)
    }

    func finalSection(_ m: FinalTraining.Metrics) -> String {
        var s = "<p>Rank \(m.rank) configuration <code>\(m.configID)</code> trained on \(m.trainingRecordings) recordings for \(m.epochs) epochs "
        s += String(format: "(%.1f s, %.0f rec/s, %d threads): training accuracy %.2f%%, <b>test accuracy %.2f%%</b> on %d recordings ",
                    m.trainingSeconds, m.recordingsPerSecond, m.threads, m.trainAccuracy * 100, m.testAccuracy * 100, m.testRecordings)
        s += "(\(SVG.escape(m.testSource))).</p>\n"
        let n = m.confusion.count
        guard n > 0 else { return s }
        let cell = 34.0, left = 70.0, top = 50.0
        var svg = SVG(width: left + cell * Double(n) + 30, height: top + cell * Double(n) + 40)
        svg.text(left + cell * Double(n) / 2, 20, "predicted class", anchor: "middle", size: 12, fill: "#666")
        svg.text(22, top + cell * Double(n) / 2, "true class", anchor: "middle", size: 12, fill: "#666", rotate: -90)
        let maxCount = Double(m.confusion.flatMap { $0 }.max() ?? 1)
        for i in 0..<n {
            svg.text(left - 8, top + cell * (Double(i) + 0.6), "\(i)", anchor: "end")
            svg.text(left + cell * (Double(i) + 0.5), top - 8, "\(i)", anchor: "middle")
            let rowTotal = max(1, m.confusion[i].reduce(0, +))
            for j in 0..<n {
                let count = m.confusion[i][j]
                let t = Double(count) / max(1, maxCount)
                let shade = Int(255 - 200 * t)
                let fill = i == j ? "rgb(\(shade),\(min(255, shade + 40)),\(255))" : "rgb(255,\(shade),\(shade))"
                svg.rect(left + cell * Double(j), top + cell * Double(i), cell - 1, cell - 1, fill: count == 0 ? "#fafafa" : fill,
                         title: "true \(i), predicted \(j): \(count) (\(String(format: "%.1f", 100 * Double(count) / Double(rowTotal)))% of class \(i))")
                if count > 0 {
                    svg.text(left + cell * (Double(j) + 0.5), top + cell * (Double(i) + 0.62), "\(count)", anchor: "middle", size: 10, fill: t > 0.6 ? "#fff" : "#222")
                }
            }
        }
        return s + svg.rendered + "\n"
    }
}
