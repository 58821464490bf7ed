/// tonic's `Denoise(filter_time)` (tonic 1.7.0 `functional/denoise.py`), quirks included.
///
/// An event is kept when one of its four direct neighbours (x±1, y±1; not itself, not the
/// diagonals, polarity ignored) saw an earlier event — kept or not — less than `filterTime` µs
/// before it: `t − t' < filterTime`. Each pixel's memory starts at `filterTime` rather than 0,
/// so every event with `t < filterTime` that has an in-bounds neighbour is kept. "In bounds"
/// uses this recording's own extent (max x + 1, max y + 1), not the sensor size (SEMANTICS §7).
package enum Denoise {
    /// Indices of the kept events, in stream order.
    /// - Complexity: O(n) in the number of events.
    package static func keptIndices(times: UnsafeBufferPointer<UInt32>, inputs: UnsafeBufferPointer<UInt16>,
                                   filterTime: Int) -> [Int32] {
        var kept = [Int32]()
        kept.reserveCapacity(times.count)
        forEachKept(times: times, inputs: inputs, filterTime: filterTime) { kept.append(Int32($0)) }
        return kept
    }

    /// Calls `body` with the index of each kept event, in stream order (no allocation per event).
    @inlinable
    package static func forEachKept(times: UnsafeBufferPointer<UInt32>, inputs: UnsafeBufferPointer<UInt16>,
                                   filterTime: Int, _ body: (Int) -> Void) {
        let n = times.count
        guard n > 0 else { return }
        // The recording's own extent, as tonic computes it.
        var width = 0, height = 0
        for i in 0..<n {
            let input = Int(inputs[i])
            width = max(width, input % 34 + 1)
            height = max(height, (input / 34) % 34 + 1)
        }
        // A 36 × 36 grid with a one-pixel border; cells outside the extent never count.
        let stride = 36
        let never = Int64.min
        let filter = Int64(filterTime)
        withUnsafeTemporaryAllocation(of: Int64.self, capacity: stride * stride) { mem in
            mem.initialize(repeating: never)
            for y in 0..<height {
                for x in 0..<width { mem[(y + 1) * stride + x + 1] = filter }
            }
            for i in 0..<n {
                let input = Int(inputs[i])
                let cell = ((input / 34) % 34 + 1) * stride + input % 34 + 1
                let t = Int64(times[i])
                mem[cell] = t + filter
                if mem[cell - 1] > t || mem[cell + 1] > t || mem[cell - stride] > t || mem[cell + stride] > t {
                    body(i)
                }
            }
        }
    }
}
