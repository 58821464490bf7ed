import CSpikeSIMD
import Foundation
import SpikeSupport
import Testing

@Suite struct SpikeBitsTests {
    /// The 32 spike bits of a half tile as the engine packs them (`spike_bits_above`: one
    /// compare and one movemask per register in the AVX builds, the default) against the
    /// lane-by-lane definition that builds without AVX run, and both against Swift's `>`:
    /// exact equality, neighbours of the threshold, NaN, ±0, infinities and random values, with
    /// a threshold of 1, 0 and NaN (nothing is above a NaN).
    @Test func spikeBitsMatchTheLanewiseDefinitionAndSwiftsComparison() {
        var rng = Xoshiro256(seed: 8)
        let special: [Float] = [1, Float(1).nextUp, Float(1).nextDown, .nan, -.nan, 0, -0, Float(0).nextUp,
                                .infinity, -.infinity, .greatestFiniteMagnitude, -1]
        var spikes = 0, mismatches: [String] = []
        for round in 0..<3000 {
            let threshold: Float = [1, 0, .nan][round % 3]
            var lanes = [SIMD8<Float>](repeating: .zero, count: 4)
            for r in 0..<4 {
                for k in 0..<8 {
                    lanes[r][k] = rng.nextInt(below: 2) == 0 ? special[rng.nextInt(below: special.count)]
                                                              : 4 * rng.nextUnitFloat() - 2
                }
            }
            var expected: UInt32 = 0
            for r in 0..<4 {
                for k in 0..<8 where lanes[r][k] > threshold { expected |= 1 << UInt32(8 * r + k) }
            }
            let thr = SIMD8<Float>(repeating: threshold)
            let packed = spike_bits_above(lanes[0], lanes[1], lanes[2], lanes[3], thr)
            let lanewise = spike_bits_above_lanewise(lanes[0], lanes[1], lanes[2], lanes[3], thr)
            if packed != expected || lanewise != expected {
                mismatches.append("threshold \(threshold), lanes \(lanes): \(packed) and \(lanewise), not \(expected)")
            }
            spikes += expected.nonzeroBitCount
        }
        #expect(mismatches.isEmpty, "\(mismatches.count) of 3000 differ; the first: \(mismatches.first ?? "")")
        #expect(spikes > 10_000, "too few lanes above the threshold: the check would be weak")
        // The tests build for the engine's target CPU: by default (haswell) that is the AVX path.
        let cpu = ProcessInfo.processInfo.environment["SPIKESWEEP_TARGET_CPU"] ?? ""
        #if arch(x86_64)
        if ["", "haswell", "native"].contains(cpu) {
            #expect(spike_bits_above_uses_avx() == 1, "the AVX path was not checked")
        }
        #endif
    }
}
