import Foundation

/// Which configurations are really better: every configuration of a sweep is trained on the
/// same folds (the split depends only on the seed), so two configurations are compared fold
/// by fold — a paired t-test on the per-fold differences (scipy's `ttest_rel`, two-sided) —
/// and the comparisons of a leaderboard against its best row are adjusted for their number
/// with Holm's step-down method (statsmodels' `multipletests(method="holm")`).
///
/// A paired t-test rather than Wilcoxon's signed-rank test: with 5 folds the smallest
/// two-sided p Wilcoxon can give is 0.0625, so it could never separate two configurations.
package enum PairedTest {
    /// The significance level of "within noise of the best".
    package static let alpha = 0.05
    /// Folds a leaderboard needs before it compares its rows with the best (with 2, the test
    /// has one degree of freedom: 27 of 27 configurations of the 2-fold Table 2 on the real
    /// subset came out "within noise", 72% to 92% accuracy).
    package static let minimumFolds = 3

    package struct Result: Sendable, Equatable {
        /// Mean of `a − b` over the folds.
        package var meanDifference: Double
        /// t statistic: ±infinity when every fold differs by the same amount, nil when no fold differs.
        package var t: Double?
        package var degreesOfFreedom: Int
        /// Two-sided p-value: 1 when the accuracies are identical on every fold, 0 when they
        /// differ by the same non-zero amount on every fold.
        package var p: Double
    }

    /// Compares `a` and `b`, accuracies of two configurations on the same folds (same order).
    /// Nil with fewer than two folds or unequal counts.
    package static func compare(_ a: [Double], _ b: [Double]) -> Result? {
        guard a.count == b.count, a.count >= 2 else { return nil }
        let d = zip(a, b).map { $0 - $1 }
        let n = Double(d.count)
        let mean = d.reduce(0, +) / n
        let variance = d.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / (n - 1)
        let df = d.count - 1
        // Differences equal to rounding error count as none (scipy then gives nan and warns).
        let scale = max(d.map(abs).max() ?? 0, 1e-300)
        if mean == 0 && variance.squareRoot() <= scale * 1e-12 { return Result(meanDifference: 0, t: nil, degreesOfFreedom: df, p: 1) }
        if variance.squareRoot() <= abs(mean) * 1e-12 {
            return Result(meanDifference: mean, t: mean > 0 ? .infinity : -.infinity, degreesOfFreedom: df, p: 0)
        }
        let t = mean / (variance / n).squareRoot()
        return Result(meanDifference: mean, t: t, degreesOfFreedom: df, p: twoSidedP(t: t, degreesOfFreedom: df))
    }

    /// P(|T| ≥ |t|) for Student's t with `degreesOfFreedom`: I_{ν/(ν+t²)}(ν/2, 1/2).
    package static func twoSidedP(t: Double, degreesOfFreedom: Int) -> Double {
        let v = Double(degreesOfFreedom)
        guard t.isFinite else { return 0 }
        return min(1, max(0, regularizedIncompleteBeta(x: v / (v + t * t), a: v / 2, b: 0.5)))
    }

    /// Holm's step-down adjustment of `p` (same order as given): the i-th smallest becomes
    /// max over j ≤ i of min(1, (m − j + 1) · p₍ⱼ₎).
    package static func holm(_ p: [Double]) -> [Double] {
        let m = p.count
        let order = p.indices.sorted { p[$0] < p[$1] || (p[$0] == p[$1] && $0 < $1) }
        var adjusted = [Double](repeating: 0, count: m)
        var running = 0.0
        for (rank, i) in order.enumerated() {
            running = max(running, min(1, Double(m - rank) * p[i]))
            adjusted[i] = running
        }
        return adjusted
    }

    /// I_x(a, b), by the continued fraction (modified Lentz), on the side where it converges fast.
    static func regularizedIncompleteBeta(x: Double, a: Double, b: Double) -> Double {
        if x <= 0 { return 0 }
        if x >= 1 { return 1 }
        let logFront = lgamma(a + b) - lgamma(a) - lgamma(b) + a * log(x) + b * log1p(-x)
        if x > (a + 1) / (a + b + 2) {
            return 1 - exp(logFront) * continuedFraction(x: 1 - x, a: b, b: a) / b
        }
        return exp(logFront) * continuedFraction(x: x, a: a, b: b) / a
    }

    private static func continuedFraction(x: Double, a: Double, b: Double) -> Double {
        let tiny = 1e-300
        var c = 1.0
        var d = 1 - (a + b) * x / (a + 1)
        if abs(d) < tiny { d = tiny }
        d = 1 / d
        var h = d
        for m in 1...500 {
            let m = Double(m)
            // Even step.
            var numerator = m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m))
            d = 1 + numerator * d; if abs(d) < tiny { d = tiny }
            c = 1 + numerator / c; if abs(c) < tiny { c = tiny }
            d = 1 / d
            h *= d * c
            // Odd step.
            numerator = -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))
            d = 1 + numerator * d; if abs(d) < tiny { d = tiny }
            c = 1 + numerator / c; if abs(c) < tiny { c = tiny }
            d = 1 / d
            let step = d * c
            h *= step
            if abs(step - 1) < 1e-15 { break }
        }
        return h
    }
}
