/// The sensor geometry of N-MNIST: 34 × 34 pixels, two polarities.
package enum NMNIST {
    package static let width = 34
    package static let height = 34
    package static let polarities = 2
    /// Inputs of one flattened step frame: p·1156 + y·34 + x (polarity 0 first), as
    /// `frame[t].flatten()` in torch for tonic's [T, P, H, W] layout.
    package static let inputCount = polarities * height * width  // 2312
    package static let classCount = 10

    /// The flattened input index of pixel (x, y) with polarity p.
    @inlinable
    package static func inputIndex(x: Int, y: Int, p: Int) -> Int { p * 1156 + y * 34 + x }
}

/// Sparse per-step input frames of many recordings, stored flat (CSR-like): what the engine eats.
///
/// Recording r spans steps `recordingStepStart[r] ..< recordingStepStart[r+1]`; step s spans
/// entries `stepEntryStart[s] ..< stepEntryStart[s+1]` of `inputs`/`counts`. Within a step,
/// entries are sorted by input index and each input appears once, with its event count
/// (≥ 1; tonic's frames are counts, not booleans). A count saturates at 255, reached only with
/// windows far longer than a saccade (real recordings reach 3 at 2000 µs).
package struct FrameSet: Sendable, Equatable {
    /// The frame window in µs these frames were built with.
    package var windowMicros: Int
    /// The denoise filter time in µs, or nil when frames were built without denoising.
    package var denoiseMicros: Int?
    /// Class label (0–9) of each recording.
    package var labels: [UInt8]
    /// Count + 1 offsets into the step list.
    package var recordingStepStart: [Int32]
    /// Total steps + 1 offsets into `inputs` / `counts`.
    package var stepEntryStart: [Int32]
    /// Flattened input index (0 ..< 2312) of each non-zero entry.
    package var inputs: [UInt16]
    /// Event count of each non-zero entry.
    package var counts: [UInt8]

    package init(windowMicros: Int, denoiseMicros: Int?) {
        self.windowMicros = windowMicros
        self.denoiseMicros = denoiseMicros
        labels = []
        recordingStepStart = [0]
        stepEntryStart = [0]
        inputs = []
        counts = []
    }

    /// Number of recordings.
    package var count: Int { labels.count }

    /// Number of time steps of recording `r`.
    @inlinable
    package func stepCount(of r: Int) -> Int { Int(recordingStepStart[r + 1] - recordingStepStart[r]) }

    /// Entry range of step `t` (0-based within recording `r`).
    @inlinable
    package func entryRange(recording r: Int, step t: Int) -> Range<Int> {
        let s = Int(recordingStepStart[r]) + t
        return Int(stepEntryStart[s]) ..< Int(stepEntryStart[s + 1])
    }

    /// Appends one recording given as its steps' (input, count) lists; each step's entries
    /// must already be sorted by input with no repeats.
    package mutating func append(label: UInt8, steps: [[(input: UInt16, count: UInt8)]]) {
        for step in steps {
            for entry in step {
                inputs.append(entry.input)
                counts.append(entry.count)
            }
            stepEntryStart.append(Int32(inputs.count))
        }
        labels.append(label)
        recordingStepStart.append(Int32(stepEntryStart.count - 1))
    }

    /// The recordings at `indices`, in that order.
    /// - Complexity: O(entries of the chosen recordings).
    package func subset(_ indices: [Int]) -> FrameSet {
        var result = FrameSet(windowMicros: windowMicros, denoiseMicros: denoiseMicros)
        result.labels.reserveCapacity(indices.count)
        for r in indices {
            let firstStep = Int(recordingStepStart[r]), endStep = Int(recordingStepStart[r + 1])
            let first = Int(stepEntryStart[firstStep]), end = Int(stepEntryStart[endStep])
            let base = Int32(result.inputs.count) - Int32(first)
            result.inputs.append(contentsOf: inputs[first..<end])
            result.counts.append(contentsOf: counts[first..<end])
            for s in stride(from: firstStep + 1, through: endStep, by: 1) {
                result.stepEntryStart.append(stepEntryStart[s] + base)
            }
            result.labels.append(labels[r])
            result.recordingStepStart.append(Int32(result.stepEntryStart.count - 1))
        }
        return result
    }

    /// Dense [T][2312] Float frames of recording `r` (for reference paths and tests).
    package func denseFrames(of r: Int) -> [[Float]] {
        (0..<stepCount(of: r)).map { t in
            var row = [Float](repeating: 0, count: NMNIST.inputCount)
            for e in entryRange(recording: r, step: t) { row[Int(inputs[e])] = Float(counts[e]) }
            return row
        }
    }
}
