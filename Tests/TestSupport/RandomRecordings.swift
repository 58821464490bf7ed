import SpikeEvents
import SpikeSupport

/// Small random but valid recordings for codec and file-format tests (not N-MNIST-like;
/// `SyntheticNMNIST` makes those).
package enum RandomRecordings {
    package static func make(count: Int, seed: UInt64, events: ClosedRange<Int> = 20...200) -> [Recording] {
        var rng = Xoshiro256(seed: seed)
        return (0..<count).map { i in
            let n = events.lowerBound + rng.nextInt(below: events.count)
            var t = UInt32(rng.nextInt(below: 5000))
            var times: [UInt32] = [], inputs: [UInt16] = []
            for _ in 0..<n {
                t += UInt32(rng.nextInt(below: 300))
                times.append(t)
                inputs.append(UInt16(rng.nextInt(below: NMNIST.inputCount)))
            }
            return Recording(name: "r\(i)", label: UInt8(i % 10), times: times, inputs: inputs)
        }
    }
}
