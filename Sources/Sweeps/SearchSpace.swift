import Foundation
import SpikeNet
import SpikeSupport

/// How a sampled parameter's values are drawn (`grid: {lr: {loguniform: [1e-4, 2e-2]}}`).
package enum Distribution: Sendable, Equatable {
    /// One of the values, each equally likely.
    case choice([ParameterValue])
    /// Uniform on [lo, hi], rounded to `SearchSettings.significantDigits`.
    case uniform(Double, Double)
    /// Uniform in log space on [lo, hi] (lo > 0), rounded likewise.
    case logUniform(Double, Double)
    /// Whole numbers lo, lo + step, …, ≤ hi, each equally likely; with `log`, uniform in log space
    /// on [lo, hi + 1) and floored (hidden sizes: as many draws below 100 as from 100 to 1000).
    case integer(Int, Int, step: Int, log: Bool)

    /// The value at unit coordinate `u` in [0, 1), as text the parameter then reads and checks.
    func value(at u: Double) -> String {
        switch self {
        case .choice(let values): return values[min(values.count - 1, Int(u * Double(values.count)))].description
        case .uniform(let lo, let hi): return Self.rounded(lo + u * (hi - lo))
        case .logUniform(let lo, let hi): return Self.rounded(exp(log(lo) + u * (log(hi) - log(lo))))
        case .integer(let lo, let hi, let step, let isLog):
            if isLog {
                let x = Int(exp(log(Double(lo)) + u * (log(Double(hi) + 1) - log(Double(lo)))).rounded(.down))
                return String(min(hi, max(lo, x)))
            }
            let count = (hi - lo) / step + 1
            return String(lo + min(count - 1, Int(u * Double(count))) * step)
        }
    }

    /// `%.3g`, read back: 0.00123, 1.23e-05, 0.95.
    static func rounded(_ x: Double) -> String {
        Format.shortest(Double(String(format: "%.\(SearchSettings.significantDigits)g", x)) ?? x)
    }

    /// As written in a spec: `{loguniform: [0.0001, 0.02]}`.
    var yaml: String {
        switch self {
        case .choice(let values):
            return "{choice: [\(values.map { v in if case .ratio = v { return "\"\(v)\"" }; return v.description }.joined(separator: ", "))]}"
        case .uniform(let lo, let hi): return "{uniform: [\(Format.shortest(lo)), \(Format.shortest(hi))]}"
        case .logUniform(let lo, let hi): return "{loguniform: [\(Format.shortest(lo)), \(Format.shortest(hi))]}"
        case .integer(let lo, let hi, let step, let isLog):
            return "{int: [\(lo), \(hi)]" + (step != 1 ? ", step: \(step)" : "") + (isLog ? ", log: true" : "") + "}"
        }
    }
}

/// `search: {strategy: random, samples: 40, seed: 3}`.
package struct SearchSettings: Sendable, Equatable {
    package enum Strategy: String, Sendable, CaseIterable { case grid, random, sobol }
    package var strategy: Strategy = .grid
    /// Points drawn from the sampled parameters (each crossed with every grid combination).
    package var samples = 0
    package var seed: UInt64 = 1
    /// Successive halving over epochs (`scheduler: halving`), nil for a sweep that trains
    /// every configuration for `epochs`.
    package var halving: HalvingSchedule?
    /// Sampled real values are rounded to this many significant digits, so that configuration
    /// ids and tables stay readable (and equal on every machine).
    package static let significantDigits = 3
    /// Draws made before giving up on finding `samples` distinct points.
    static let drawsPerSample = 20

    package init() {}

    /// `samples` distinct points (one value per sampled parameter, in the order given), a pure
    /// function of the settings and the distributions: the same on every machine, rank and
    /// restart. Points that round to one already drawn are skipped and the next one drawn.
    /// - Returns: nil when fewer than `samples` distinct points exist among the first
    ///   `drawsPerSample × samples` draws (a small discrete space).
    func points(_ sampled: [(parameter: Hyperparameter, distribution: Distribution)]) throws -> [[ParameterValue]]? {
        var random = Xoshiro256(seed: deriveSeed(seed, [0x5EA_2C4]))
        let sobol = strategy == .sobol ? SobolSequence(dimensions: sampled.count, shift: { random.next() }) : nil
        var seen = Set<[ParameterValue]>(), points: [[ParameterValue]] = []
        var index = 0
        while points.count < samples {
            guard index < samples * Self.drawsPerSample else { return nil }
            let unit = sobol?.point(index) ?? sampled.map { _ in random.nextUnitDouble() }
            index += 1
            let point = try zip(sampled, unit).map { entry, u in try entry.parameter.parse(entry.distribution.value(at: u)) }
            if seen.insert(point).inserted { points.append(point) }
        }
        return points
    }
}

/// The Sobol low-discrepancy sequence (Joe and Kuo's direction numbers, as scipy's
/// `qmc.Sobol(scramble=False)`, points in Gray-code order), each coordinate XORed with a
/// random 32-bit shift (a digital shift keeps the sequence's balance and moves its first
/// point off the corner).
struct SobolSequence {
    /// Primitive polynomials and initial direction numbers m₁…m_s of dimensions 2…10
    /// (new-joe-kuo-6.21201); dimension 1 is van der Corput's.
    static let polynomials: [(poly: UInt32, m: [UInt32])] = [
        (3, [1]), (7, [1, 3]), (11, [1, 3, 1]), (13, [1, 1, 1]), (19, [1, 1, 3, 3]), (25, [1, 3, 5, 13]),
        (37, [1, 1, 5, 5, 17]), (41, [1, 1, 5, 5, 5]), (47, [1, 1, 7, 11, 19]),
    ]
    static let maxDimensions = polynomials.count + 1
    static let bits = 32

    /// Direction numbers: `directions[dimension][k]`.
    let directions: [[UInt32]]
    let shifts: [UInt32]

    init(dimensions: Int, shift: () -> UInt64) {
        precondition(dimensions <= Self.maxDimensions)
        var all: [[UInt32]] = [(0..<Self.bits).map { UInt32(1) << (31 - $0) }]
        for (poly, m) in Self.polynomials.prefix(max(0, dimensions - 1)) {
            let s = m.count
            let a = (poly >> 1) & ((1 << (s - 1)) - 1)
            var v = [UInt32](repeating: 0, count: Self.bits)
            for k in 0..<s { v[k] = m[k] << (31 - k) }
            for k in s..<Self.bits {
                var x = v[k - s] ^ (v[k - s] >> s)
                for i in 1..<s where (a >> (s - 1 - i)) & 1 == 1 { x ^= v[k - i] }
                v[k] = x
            }
            all.append(v)
        }
        directions = Array(all.prefix(dimensions))
        shifts = (0..<dimensions).map { _ in UInt32(truncatingIfNeeded: shift() >> 32) }
    }

    /// Unshifted coordinates of point `index` (Gray-code order: scipy's `random(n)` rows).
    func unshifted(_ index: Int) -> [UInt32] {
        let gray = UInt32(truncatingIfNeeded: index ^ (index >> 1))
        return directions.map { v in
            var x: UInt32 = 0
            for k in 0..<Self.bits where (gray >> k) & 1 == 1 { x ^= v[k] }
            return x
        }
    }

    func point(_ index: Int) -> [Double] {
        zip(unshifted(index), shifts).map { Double($0 ^ $1) / 4_294_967_296.0 }
    }
}
