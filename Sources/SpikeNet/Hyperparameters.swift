import Foundation

/// The target firing ratio of `mse_count_loss`, written "0.8/0.2" (correct/incorrect rate).
public struct TargetRatio: Sendable, Hashable, Codable, CustomStringConvertible {
    public var correct: Double
    public var incorrect: Double

    public init(correct: Double, incorrect: Double) {
        self.correct = correct
        self.incorrect = incorrect
    }

    /// Parses "0.8/0.2".
    public init?(_ text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2,
              let c = Double(parts[0].trimmingCharacters(in: .whitespaces)),
              let i = Double(parts[1].trimmingCharacters(in: .whitespaces)) else { return nil }
        self.init(correct: c, incorrect: i)
    }

    public var description: String { "\(Self.format(correct))/\(Self.format(incorrect))" }

    static func format(_ v: Double) -> String {
        var s = String(v)
        if s.hasSuffix(".0") { s.removeLast(2) }
        return s
    }

    /// Spike-count targets for a batch of padded length `steps` (snnTorch: `int(T * rate)`,
    /// computed in double and truncated, SEMANTICS §3).
    public func targets(steps: Int) -> (on: Int, off: Int) {
        (Int(Double(steps) * correct), Int(Double(steps) * incorrect))
    }
}

/// Everything that defines one training run of the study's network
/// (2312 → hidden → 10, LIF, BPTT, atan surrogate, MSE spike-count loss, L2, Adam).
public struct Hyperparameters: Sendable, Hashable, Codable {
    /// Membrane decay β ∈ (0, 1].
    public var beta: Double = 0.9
    /// Hidden layer size H ≥ 1.
    public var hidden: Int = 800
    /// Frame window in µs ≥ 1.
    public var windowMicros: Int = 2000
    /// Denoise filter time in µs (tonic `Denoise(filter_time)`), or nil for no denoising.
    public var denoiseMicros: Int? = 10_000
    /// Loss target ratio.
    public var targetRatio: TargetRatio = TargetRatio(correct: 0.8, incorrect: 0.2)
    /// Batch size ≥ 1.
    public var batchSize: Int = 128
    /// Adam learning rate > 0.
    public var learningRate: Double = 5e-3
    /// L2 coefficient λ ≥ 0 on the two weight matrices (not biases).
    public var l2: Double = 1e-5
    /// Firing threshold > 0.
    public var threshold: Double = 1.0

    public init() {}

    /// Checks every value; the error names the parameter and the allowed range.
    public func validate() throws {
        func fail(_ name: String, _ rule: String, _ value: CustomStringConvertible) throws -> Never {
            throw HyperparameterError(parameter: name, message: "\(name) must be \(rule), got \(value)")
        }
        if !(beta > 0 && beta <= 1) { try fail("beta", "in (0, 1]", beta) }
        if hidden < 1 { try fail("hidden", ">= 1", hidden) }
        if windowMicros < 1 { try fail("window_us", ">= 1", windowMicros) }
        if let d = denoiseMicros, d < 1 { try fail("denoise_us", ">= 1 (or absent for no denoising)", d) }
        for (name, rate) in [("target_ratio correct rate", targetRatio.correct), ("target_ratio incorrect rate", targetRatio.incorrect)]
        where !(rate >= 0 && rate <= 1) {
            try fail(name, "in [0, 1]", rate)
        }
        if batchSize < 1 { try fail("batch_size", ">= 1", batchSize) }
        if !(learningRate > 0 && learningRate.isFinite) { try fail("lr", "> 0", learningRate) }
        if !(l2 >= 0 && l2.isFinite) { try fail("l2", ">= 0", l2) }
        if !(threshold > 0 && threshold.isFinite) { try fail("threshold", "> 0", threshold) }
    }
}

/// An impossible hyper-parameter value.
public struct HyperparameterError: Error, CustomStringConvertible, Sendable, Equatable {
    public var parameter: String
    public var message: String
    public var description: String { message }
}
