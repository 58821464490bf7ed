import SpikeEvents

extension SpikeEngine {
    /// Immutable facts about one batch, shared by the kernels: where its recordings lie in the
    /// frame set, its padded length T and its loss targets.
    struct Context {
        let shape: NetworkShape
        let neuron: LeakyParameters
        let surrogate: ArctanSurrogate
        /// Padded length T (the longest recording of the batch).
        let steps: Int
        /// First global step of each recording.
        let stepBase: [Int]
        /// Each recording's own length.
        let stepCount: [Int]
        let labels: [Int]
        /// `mse_count_loss` targets for T.
        let on: Int
        let off: Int
        /// Share of the batch's (recording, padded step, input) cells that are active: the
        /// density of its frames as the dense path would lay them out.
        var density: Double { Double(entries) / Double(max(1, batch * steps * shape.inputs)) }
        /// Floats per row of the output layer's padded buffers: the classes rounded up to 16.
        var classStride: Int { (shape.outputs + 15) / 16 * 16 }
        /// Recordings in the batch (B).
        let batch: Int
        /// Entries (active inputs) of the whole batch.
        let entries: Int
        /// Whether the engine runs its AVX-512 kernels (`EngineTuning.avx512` on a CPU that has
        /// AVX-512).
        let avx512: Bool

        /// The facts of `batch` (indices into `frames`).
        /// - Complexity: O(B).
        init(frames: FrameSet, batch: [Int], shape: NetworkShape, neuron: LeakyParameters,
             surrogate: ArctanSurrogate, loss: SpikeCountLoss, avx512: Bool) {
            var base = [Int](), count = [Int](), labels = [Int](), entries = 0
            for r in batch {
                let steps = frames.stepRange(of: r)
                base.append(steps.lowerBound)
                count.append(steps.count)
                labels.append(Int(frames.label(of: r)))
                entries += Int(frames.storage.stepEntryStart[steps.upperBound] - frames.storage.stepEntryStart[steps.lowerBound])
            }
            let steps = count.max() ?? 0
            let targets = loss.targets(steps: steps)
            self.shape = shape
            self.neuron = neuron
            self.surrogate = surrogate
            self.steps = steps
            self.stepBase = base
            self.stepCount = count
            self.labels = labels
            self.on = targets.on
            self.off = targets.off
            self.batch = batch.count
            self.entries = entries
            self.avx512 = avx512
        }

        /// The entries of step `t` of recording `b`; empty on the padded steps after its end.
        @inline(__always)
        func entryRange(_ ev: Events, recording b: Int, step t: Int) -> Range<Int> {
            guard t < stepCount[b] else { return 0..<0 }
            let s = stepBase[b] + t
            return Int(ev.stepStart[s]) ..< Int(ev.stepStart[s + 1])
        }
    }
}
