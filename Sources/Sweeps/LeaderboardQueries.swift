import Foundation
import SpikeNet
import SpikeSupport

/// The questions asked of a leaderboard after a sweep: which rows match a condition
/// (`--where`), what each value of one parameter does (`--by`, the report's effect panels), and
/// whether one configuration is really better than another (`--compare`).
extension Leaderboard {
    /// A condition on parameters: clauses `key op value` joined by `and`, op one of
    /// `== != >= <= > <` (numbers compare as numbers, other values as text, e.g.
    /// `target_ratio == 0.8/0.2`).
    package struct Condition: Sendable {
        struct Clause: Sendable {
            var parameter: Hyperparameter
            var op: String
            var value: String
        }
        var clauses: [Clause]

        static let operators = ["==", "!=", ">=", "<=", ">", "<"]

        /// - Throws: `ToolError` naming the clause that cannot be read.
        package init(_ text: String) throws {
            let parts = text.components(separatedBy: " and ").map { $0.trimmingCharacters(in: .whitespaces) }
            clauses = try parts.map { part in
                guard let op = Self.operators.first(where: { part.contains($0) }),
                      let range = part.range(of: op) else {
                    throw ToolError("--where: cannot read '\(part)': expected KEY OP VALUE with OP one of \(Self.operators.joined(separator: " ")), clauses joined by 'and'")
                }
                let key = part[..<range.lowerBound].trimmingCharacters(in: .whitespaces)
                let value = part[range.upperBound...].trimmingCharacters(in: .whitespaces)
                guard let parameter = Hyperparameter.named(key) else {
                    throw ToolError("--where: unknown parameter '\(key)' in '\(part)'; parameters: \(Hyperparameter.all.map(\.key).joined(separator: ", "))")
                }
                guard !value.isEmpty else { throw ToolError("--where: no value in '\(part)'") }
                return Clause(parameter: parameter, op: op, value: value)
            }
        }

        package func matches(_ row: Row) -> Bool {
            clauses.allSatisfy { clause in
                let actual = row.parameters[clause.parameter.key] ?? ""
                if let a = Double(actual), let b = Double(clause.value) { return Self.holds(clause.op, a, b) }
                return Self.holds(clause.op, actual, clause.value)
            }
        }

        static func holds<T: Comparable>(_ op: String, _ a: T, _ b: T) -> Bool {
            switch op {
            case "==": return a == b
            case "!=": return a != b
            case ">=": return a >= b
            case "<=": return a <= b
            case ">": return a > b
            default: return a < b
            }
        }
    }

    /// The rows matching `condition`, keeping their ranks in the whole leaderboard.
    package func filtered(_ condition: Condition) -> Leaderboard {
        var copy = self
        copy.rows = rows.filter(condition.matches)
        return copy
    }

    /// The mean accuracy of the configurations with each value of one parameter.
    package struct Effect: Sendable {
        package struct Value: Sendable {
            package var value: String
            /// Configurations with this value that have a mean.
            package var configurations: Int
            /// Mean and population std of those configurations' mean accuracies; their best and worst.
            package var mean: Double
            package var standardDeviation: Double?
            package var best: Double
            package var worst: Double
        }
        package var parameter: Hyperparameter
        package var values: [Value]
        /// How far the value moves the mean: max − min of the value means.
        package var spread: Double { (values.map(\.mean).max() ?? 0) - (values.map(\.mean).min() ?? 0) }
    }

    /// The effect of `parameter`, for `values` in the order given (values without any
    /// configuration mean are left out).
    package func effect(of parameter: Hyperparameter, values: [String]) -> Effect {
        Effect(parameter: parameter, values: values.compactMap { value in
            Effect.Value(value, means: rows.filter { $0.parameters[parameter.key] == value }.compactMap(\.meanAccuracy))
        })
    }

    /// The effect of a parameter drawn from a distribution (a value per configuration): the
    /// configurations with a mean, ordered by the parameter's value and split into `bins` groups
    /// of (nearly) equal size, each labelled by its range ("0.000108–0.00153"). Parameters
    /// with at most `bins` distinct values get one group per value.
    package func binnedEffect(of parameter: Hyperparameter, bins: Int = 5) -> Effect {
        let rowsWithMean = rows.filter { $0.meanAccuracy != nil && $0.parameters[parameter.key] != nil }
        let distinct = Set(rowsWithMean.map { $0.parameters[parameter.key]! })
        func number(_ row: Row) -> Double { Double(row.parameters[parameter.key]!) ?? .infinity }
        guard distinct.count > bins, rowsWithMean.allSatisfy({ number($0).isFinite }) else {
            let values = distinct.sorted { (Double($0) ?? .infinity, $0) < (Double($1) ?? .infinity, $1) }
            return effect(of: parameter, values: values)
        }
        let sorted = rowsWithMean.sorted { number($0) < number($1) }
        let values = (0..<bins).compactMap { b -> Effect.Value? in
            let group = sorted[(b * sorted.count / bins)..<((b + 1) * sorted.count / bins)]
            guard let first = group.first, let last = group.last else { return nil }
            return Effect.Value("\(first.parameters[parameter.key]!)–\(last.parameters[parameter.key]!)",
                                means: group.compactMap(\.meanAccuracy))
        }
        return Effect(parameter: parameter, values: values)
    }

    /// `leaderboard --by`: one line per value.
    package static func table(_ effect: Effect) -> String {
        var lines = [[effect.parameter.key, "configs", "mean", "std", "best", "worst"]]
        for v in effect.values {
            lines.append([v.value, String(v.configurations), Self.f4(v.mean), Self.f4(v.standardDeviation), Self.f4(v.best), Self.f4(v.worst)])
        }
        return TextTable.render(lines) + String(format: "spread of the means: %.2f points\n", effect.spread * 100)
    }

    /// `leaderboard --compare A B`: the two configurations fold by fold and the paired t-test
    /// (uncorrected: one comparison chosen by the user).
    /// - Throws: `ToolError` when an id matches no row or more than one.
    package func comparison(_ first: String, _ second: String) throws -> String {
        let a = try row(matching: first), b = try row(matching: second)
        var lines = [["fold", "\(a.configID) (rank \(a.rank))", "\(b.configID) (rank \(b.rank))", "difference"]]
        var paired: ([Double], [Double]) = ([], [])
        for fold in 0..<max(a.foldAccuracies.count, b.foldAccuracies.count) {
            let x = fold < a.foldAccuracies.count ? a.foldAccuracies[fold] : nil
            let y = fold < b.foldAccuracies.count ? b.foldAccuracies[fold] : nil
            if let x, let y { paired.0.append(x); paired.1.append(y) }
            lines.append([String(fold), Self.f4(x), Self.f4(y), x.flatMap { x in y.map { String(format: "%+.4f", x - $0) } } ?? "-"])
        }
        lines.append(["mean", Self.f4(a.meanAccuracy), Self.f4(b.meanAccuracy), ""])
        var out = TextTable.render(lines)
        out += "\(a.label) vs \(b.label)\n"
        if a.epochs != b.epochs {
            out += "note: the two reached different rungs (\(a.epochs) and \(b.epochs) epochs): these are their accuracies there\n"
        }
        guard let test = PairedTest.compare(paired.0, paired.1) else {
            return out + "no paired test: \(paired.0.count) fold\(paired.0.count == 1 ? "" : "s") with a result in both (at least 2 needed)\n"
        }
        let t = test.t.map { String(format: "%.3f", $0) } ?? "undefined (no fold differs)"
        out += String(format: "paired t-test over %d folds: mean difference %+.4f, t = %@, df = %d, two-sided p = %@ ",
                      paired.0.count, test.meanDifference, t, test.degreesOfFreedom, Self.pValue(test.p))
        out += test.p < PairedTest.alpha
            ? "(below \(PairedTest.alpha): \(test.meanDifference > 0 ? a.configID : b.configID) is better on these folds)\n"
            : "(not below \(PairedTest.alpha): not distinguishable on these folds)\n"
        return out
    }

    /// The row whose configuration id is `id` or starts with it.
    func row(matching id: String) throws -> Row {
        let matches = rows.filter { $0.configID == id || $0.configID.hasPrefix(id) }
        guard matches.count == 1 else {
            throw ToolError(matches.isEmpty ? "no configuration \(id) in sweep \(name)"
                                            : "\(id) matches \(matches.count) configurations of sweep \(name); give more of the id")
        }
        return matches[0]
    }
}

extension Leaderboard.Effect.Value {
    /// The statistics of `means` (configuration mean accuracies) under `label`; nil without any.
    init?(_ label: String, means: [Double]) {
        let stats = FoldStatistics(means)
        guard let mean = stats.mean, let best = stats.max, let worst = stats.min else { return nil }
        self.init(value: label, configurations: means.count, mean: mean, standardDeviation: stats.standardDeviation,
                  best: best, worst: worst)
    }
}

extension Leaderboard {
    /// An accuracy or statistic in terminal tables: 4 decimals, "-" when missing.
    static func f4(_ v: Double?) -> String { v.map { String(format: "%.4f", $0) } ?? "-" }
}

/// Columns padded to their widest cell, two spaces apart.
enum TextTable {
    static func render(_ lines: [[String]]) -> String {
        let widths = (0..<(lines.map(\.count).max() ?? 0)).map { i in lines.map { i < $0.count ? $0[i].count : 0 }.max() ?? 0 }
        return lines.map { line in
            line.enumerated().map { i, f in f + String(repeating: " ", count: widths[i] - f.count) }.joined(separator: "  ")
                .trimmingCharacters(in: .whitespaces)
        }.joined(separator: "\n") + "\n"
    }
}
