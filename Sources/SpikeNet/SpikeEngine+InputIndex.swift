extension SpikeEngine {
    /// A group's entries regrouped by input (a transposed index), which the dW1 update reads.
    /// The k-th distinct input of the group (ascending) is `distinctInput[k]`; its occurrences
    /// are `distinctEnd[k − 1] ..< distinctEnd[k]` (from 0 for k = 0), each giving the position
    /// of its dL/dmem1 in a half tile's block (`occurrenceOffset`) and its event count
    /// (`occurrenceCount`). Built by `buildGroupIndex` into an `InputIndexStorage`.
    struct InputIndex {
        let distinctInput: UnsafeMutablePointer<Int32>
        let distinctEnd: UnsafeMutablePointer<Int32>
        let occurrenceOffset: UnsafeMutablePointer<Int32>
        let occurrenceCount: UnsafeMutablePointer<Float>
    }

    /// The engine-owned storage of an `InputIndex`, grown on demand.
    final class InputIndexStorage {
        private let distinctInput: Workspace<Int32>
        private let distinctEnd: Workspace<Int32>
        private let occurrenceOffset: Workspace<Int32>
        private let occurrenceCount: Workspace<Float>

        init(hugePages: Bool) {
            distinctInput = Workspace(hugePages: hugePages)
            distinctEnd = Workspace(hugePages: hugePages)
            occurrenceOffset = Workspace(hugePages: hugePages)
            occurrenceCount = Workspace(hugePages: hugePages)
        }

        /// Makes room for an index of up to `entries` entries (and as many distinct inputs).
        func reserve(entries: Int) {
            let n = max(1, entries)
            distinctInput.reserve(n)
            distinctEnd.reserve(n)
            occurrenceOffset.reserve(n)
            occurrenceCount.reserve(n)
        }

        /// Raw views of the storage (stable until the next `reserve`).
        var index: InputIndex {
            InputIndex(distinctInput: distinctInput.pointer, distinctEnd: distinctEnd.pointer,
                       occurrenceOffset: occurrenceOffset.pointer, occurrenceCount: occurrenceCount.pointer)
        }
    }

    /// Regroups the entries of the recordings `members` (a group) by input, into `index`:
    /// distinct inputs ascending, each input's occurrences ordered by recording (ascending),
    /// then step (descending), pointing at the position `((b − members.lowerBound)·T + t)·32`
    /// of dL/dmem1 in a half tile's block. `counter` is scratch space of one `Int32` per input.
    /// Returns the number of distinct inputs.
    /// - Complexity: O(entries of the group + inputs).
    static func buildGroupIndex(_ ctx: Context, _ ev: Events, members: Range<Int>,
                                counter: UnsafeMutablePointer<Int32>, index: InputIndex) -> Int {
        let inputs = ctx.shape.inputs, T = ctx.steps, W = HalfLanes.width
        counter.update(repeating: 0, count: inputs)
        for b in members {
            let base = ctx.stepBase[b]
            for e in Int(ev.stepStart[base]) ..< Int(ev.stepStart[base + ctx.stepCount[b]]) {
                counter[Int(ev.inputs[e])] &+= 1
            }
        }
        var k = 0, running: Int32 = 0
        for i in 0..<inputs where counter[i] != 0 {
            let n = counter[i]
            index.distinctInput[k] = Int32(i)
            counter[i] = running
            running &+= n
            index.distinctEnd[k] = running
            k += 1
        }
        for b in members {
            let base = ctx.stepBase[b]
            for t in (0..<ctx.stepCount[b]).reversed() {
                let position = Int32(((b - members.lowerBound) * T + t) * W)
                for e in Int(ev.stepStart[base + t]) ..< Int(ev.stepStart[base + t + 1]) {
                    let i = Int(ev.inputs[e])
                    let q = Int(counter[i])
                    counter[i] = Int32(q + 1)
                    index.occurrenceOffset[q] = position
                    index.occurrenceCount[q] = Float(ev.counts[e])
                }
            }
        }
        return k
    }
}
