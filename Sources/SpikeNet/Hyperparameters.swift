import Foundation
import SpikeSupport

/// The target firing ratio of `mse_count_loss`, written "0.8/0.2" (correct/incorrect rate).
package struct TargetRatio: Sendable, Hashable, Codable, CustomStringConvertible {
    package var correct: Double
    package var incorrect: Double

    package init(correct: Double, incorrect: Double) {
        self.correct = correct
        self.incorrect = incorrect
    }

    /// Parses "0.8/0.2".
    package init?(_ text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2,
              let c = Double(parts[0].trimmingCharacters(in: .whitespaces)),
              let i = Double(parts[1].trimmingCharacters(in: .whitespaces)) else { return nil }
        self.init(correct: c, incorrect: i)
    }

    package var description: String { "\(Format.shortest(correct))/\(Format.shortest(incorrect))" }


    /// Spike-count targets for a batch of padded length `steps` (snnTorch: `int(T * rate)`,
    /// computed in double and truncated, SEMANTICS §3).
    package func targets(steps: Int) -> (on: Int, off: Int) {
        (Int(Double(steps) * correct), Int(Double(steps) * incorrect))
    }
}

/// Everything that defines one training run of the study's network
/// (2312 → hidden → 10, LIF, BPTT, atan surrogate, MSE spike-count loss, L2, Adam).
package struct Hyperparameters: Sendable, Hashable, Codable {
    /// Membrane decay β ∈ (0, 1].
    package var beta: Double = 0.9
    /// Hidden layer size H ≥ 1.
    package var hidden: Int = 800
    /// Frame window in µs ≥ 1.
    package var windowMicros: Int = 2000
    /// Denoise filter time in µs (tonic `Denoise(filter_time)`), or nil for no denoising.
    package var denoiseMicros: Int? = 10_000
    /// Loss target ratio.
    package var targetRatio: TargetRatio = TargetRatio(correct: 0.8, incorrect: 0.2)
    /// Batch size ≥ 1.
    package var batchSize: Int = 128
    /// Adam learning rate > 0.
    package var learningRate: Double = 5e-3
    /// L2 coefficient λ ≥ 0 on the two weight matrices (not biases).
    package var l2: Double = 1e-5
    /// Firing threshold > 0.
    package var threshold: Double = 1.0

    package init() {}

    /// Checks every value against `Hyperparameter.all`; the error names the parameter and the
    /// allowed range.
    package func validate() throws {
        for p in Hyperparameter.all {
            if let problem = p.violation(of: p.value(in: self)) { throw HyperparameterError(parameter: p.key, message: problem) }
        }
        if !(threshold > 0 && threshold.isFinite) {
            throw HyperparameterError(parameter: "threshold", message: "threshold must be > 0, got \(threshold)")
        }
    }

    /// `beta=0.9,hidden=800,…` over every hyper-parameter in canonical order: the identity
    /// of a configuration.
    package var canonicalDescription: String {
        Hyperparameter.all.map { "\($0.key)=\($0.value(in: self))" }.joined(separator: ",")
    }
}

/// An impossible hyper-parameter value.
package struct HyperparameterError: UserFacingError, Sendable, Equatable {
    package var parameter: String
    package var message: String
    package var description: String { message }
}
