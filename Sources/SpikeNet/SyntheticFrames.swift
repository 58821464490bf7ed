import SpikeEvents
import SpikeSupport

/// Random sparse frames with N-MNIST's statistics, for benchmarks and tests when no real
/// recordings are at hand: each step activates each input with probability `density`
/// (1.1% ≈ 25 of 2312 on real data at 2000 µs) with counts 1–3, lengths vary around `meanSteps`.
package enum SyntheticFrames {
    /// - Complexity: O(count · steps · inputs).
    package static func make(count: Int, meanSteps: Int, density: Double = 0.011, inputs: Int = NMNIST.inputCount,
                            classes: Int = NMNIST.classCount, windowMicros: Int = 2000, seed: UInt64) -> FrameSet {
        var rng = Xoshiro256(seed: seed)
        var set = FrameSet.Builder(windowMicros: windowMicros, denoiseMicros: nil)
        let spread = max(1, meanSteps / 20)
        for _ in 0..<count {
            let steps = max(1, meanSteps - spread + rng.nextInt(below: 2 * spread + 1))
            var list: [[(input: UInt16, count: UInt8)]] = []
            list.reserveCapacity(steps)
            for _ in 0..<steps {
                var entries: [(input: UInt16, count: UInt8)] = []
                for i in 0..<inputs where rng.nextUnitDouble() < density {
                    let u = rng.nextUnitDouble()
                    entries.append((UInt16(i), u < 0.85 ? 1 : (u < 0.98 ? 2 : 3)))
                }
                list.append(entries)
            }
            set.append(label: UInt8(rng.nextInt(below: classes)), steps: list)
        }
        return set.finish()
    }
}
