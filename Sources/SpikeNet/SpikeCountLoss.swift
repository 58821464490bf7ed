/// snnTorch's `functional.mse_count_loss(correct_rate, incorrect_rate)` and
/// `functional.accuracy_rate` (SEMANTICS §3–4).
///
/// With output spikes of shape [T, B, C] (T the batch's padded length):
/// `target = int(T·correct)` for the label's class and `int(T·incorrect)` otherwise,
/// `loss = mean_{b,c}(count − target)² / T`. The gradient with respect to every output spike
/// is `2(count − target)/(B·C·T)`, the same at every step.
package struct SpikeCountLoss: Sendable, Hashable {
    package var ratio: TargetRatio

    package init(ratio: TargetRatio) { self.ratio = ratio }

    /// The (on, off) spike-count targets for a batch of padded length `steps`.
    package func targets(steps: Int) -> (on: Int, off: Int) { ratio.targets(steps: steps) }

    /// The loss of one batch from its spike counts ([B][C], row-major), labels and padded length.
    package func loss(counts: [Int32], labels: [Int], classes: Int, steps: Int) -> Double {
        let (on, off) = targets(steps: steps)
        var sum = 0.0
        for (b, label) in labels.enumerated() {
            for c in 0..<classes {
                let d = Double(Int(counts[b * classes + c]) - (c == label ? on : off))
                sum += d * d
            }
        }
        return sum / Double(labels.count * classes) / Double(steps)
    }

    /// dL/dspk for one output of one recording: `2(count − target)/(B·C·T)`, in float32.
    @inlinable
    package static func spikeGradient(count: Int, target: Int, batch: Int, classes: Int, steps: Int) -> Float {
        Float(2.0 * Double(count - target) / Double(batch * classes) / Double(steps))
    }

    /// `accuracy_rate`'s prediction: the first class with the most spikes (`torch.max` returns
    /// the first maximal index), so a recording without output spikes predicts class 0.
    @inlinable
    package static func predictedClass<C: Collection>(counts: C) -> Int where C.Element: Comparable {
        var best = 0, index = 0
        var bestValue: C.Element? = nil
        for value in counts {
            if bestValue == nil || value > bestValue! { bestValue = value; best = index }
            index += 1
        }
        return best
    }
}
