import SpikeSupport

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
/// The `storage` holds every recording of a framing (recording r spans steps
/// `recordingStepStart[r] ..< recordingStepStart[r+1]`; step s spans entries
/// `stepEntryStart[s] ..< stepEntryStart[s+1]` of `inputs`/`counts`), in memory or mapped from a
/// frame cache file (`FrameCacheFile`) that all processes of a node share. Within a step,
/// entries are sorted by input index and each input appears once, with its event count (≥ 1;
/// tonic's frames are counts, not booleans; a count saturates at 255, reached only with windows
/// far longer than a saccade — real recordings reach 3 at 2000 µs).
///
/// A frame set is a view of its storage: all of it, or the recordings `subset` chose (a fold's
/// training or validation recordings), without copying any entry.
package struct FrameSet: Sendable {
    /// The frame window in µs these frames were built with.
    package let windowMicros: Int
    /// The denoise filter time in µs, or nil when frames were built without denoising.
    package let denoiseMicros: Int?
    package let storage: Storage
    /// The recordings of `storage` in this set, in order; nil for all of them.
    private let selection: SharedBuffer<Int32>?

    /// Every recording of one framing, flat.
    package struct Storage: Sendable {
        /// Class label (0–9) of each recording.
        package let labels: SharedBuffer<UInt8>
        /// Recordings + 1 offsets into the step list.
        package let recordingStepStart: SharedBuffer<Int32>
        /// Steps + 1 offsets into `inputs` / `counts`.
        package let stepEntryStart: SharedBuffer<Int32>
        /// Flattened input index (0 ..< 2312) of each non-zero entry.
        package let inputs: SharedBuffer<UInt16>
        /// Event count of each non-zero entry.
        package let counts: SharedBuffer<UInt8>
        /// A content hash of the arrays above (see `FrameSet.fingerprint`).
        package let fingerprint: UInt64

        package init(labels: SharedBuffer<UInt8>, recordingStepStart: SharedBuffer<Int32>, stepEntryStart: SharedBuffer<Int32>,
                     inputs: SharedBuffer<UInt16>, counts: SharedBuffer<UInt8>, fingerprint: UInt64? = nil) {
            self.labels = labels
            self.recordingStepStart = recordingStepStart
            self.stepEntryStart = stepEntryStart
            self.inputs = inputs
            self.counts = counts
            self.fingerprint = fingerprint ?? Self.fingerprint(labels, recordingStepStart, stepEntryStart, inputs, counts)
        }

        /// Bytes of the arrays above.
        package var byteCount: Int {
            labels.count + 4 * (recordingStepStart.count + stepEntryStart.count) + 2 * inputs.count + counts.count
        }

        /// - Complexity: O(entries).
        static func fingerprint(_ labels: SharedBuffer<UInt8>, _ recordingStepStart: SharedBuffer<Int32>,
                                _ stepEntryStart: SharedBuffer<Int32>, _ inputs: SharedBuffer<UInt16>,
                                _ counts: SharedBuffer<UInt8>) -> UInt64 {
            var f = Fingerprinter()
            labels.withUnsafeBytes { f.mix($0) }
            recordingStepStart.withUnsafeBytes { f.mix($0) }
            stepEntryStart.withUnsafeBytes { f.mix($0) }
            inputs.withUnsafeBytes { f.mix($0) }
            counts.withUnsafeBytes { f.mix($0) }
            return f.value
        }
    }

    package init(windowMicros: Int, denoiseMicros: Int?, storage: Storage) {
        self.windowMicros = windowMicros
        self.denoiseMicros = denoiseMicros
        self.storage = storage
        selection = nil
    }

    private init(_ base: FrameSet, selection: SharedBuffer<Int32>) {
        windowMicros = base.windowMicros
        denoiseMicros = base.denoiseMicros
        storage = base.storage
        self.selection = selection
    }

    /// Number of recordings.
    package var count: Int { selection?.count ?? storage.labels.count }

    /// Recording `r`'s position in `storage`.
    package func storageIndex(of r: Int) -> Int { selection.map { Int($0[r]) } ?? r }

    /// Class label of recording `r`.
    package func label(of r: Int) -> UInt8 { storage.labels[storageIndex(of: r)] }

    /// Labels of every recording, in order.
    package var labels: [UInt8] { (0..<count).map(label(of:)) }

    /// The steps of recording `r`, as indices into `storage.stepEntryStart`.
    package func stepRange(of r: Int) -> Range<Int> {
        let s = storageIndex(of: r)
        return Int(storage.recordingStepStart[s]) ..< Int(storage.recordingStepStart[s + 1])
    }

    /// Number of time steps of recording `r`.
    package func stepCount(of r: Int) -> Int { stepRange(of: r).count }

    /// Share of the (step, input) cells of the recordings that are active, for `inputs` inputs.
    /// - Complexity: O(count).
    package func density(inputs: Int) -> Double {
        var steps = 0, entries = 0
        for r in 0..<count {
            let range = stepRange(of: r)
            steps += range.count
            entries += Int(storage.stepEntryStart[range.upperBound] - storage.stepEntryStart[range.lowerBound])
        }
        return Double(entries) / Double(max(1, steps * inputs))
    }

    /// Entry range of step `t` (0-based within recording `r`), into `storage.inputs`/`counts`.
    package func entryRange(recording r: Int, step t: Int) -> Range<Int> {
        let s = stepRange(of: r).lowerBound + t
        return Int(storage.stepEntryStart[s]) ..< Int(storage.stepEntryStart[s + 1])
    }

    /// The recordings at `indices`, in that order: a view, no entry is copied.
    /// - Complexity: O(indices).
    package func subset(_ indices: [Int]) -> FrameSet {
        FrameSet(self, selection: SharedBuffer(indices.map { Int32(storageIndex(of: $0)) }))
    }

    /// A content hash of this set: its storage's and which recordings it holds.
    package var fingerprint: UInt64 {
        var f = Fingerprinter()
        f.mix([storage.fingerprint, UInt64(windowMicros), UInt64(denoiseMicros ?? 0), UInt64(count)])
        selection?.withUnsafeBytes { f.mix($0) }
        return f.value
    }

    /// Dense [T][2312] Float frames of recording `r` (for reference paths and tests).
    package func denseFrames(of r: Int) -> [[Float]] {
        (0..<stepCount(of: r)).map { t in
            var row = [Float](repeating: 0, count: NMNIST.inputCount)
            for e in entryRange(recording: r, step: t) { row[Int(storage.inputs[e])] = Float(storage.counts[e]) }
            return row
        }
    }

    /// Recording `r` as its steps' (input, count) lists.
    package func steps(of r: Int) -> [[(input: UInt16, count: UInt8)]] {
        (0..<stepCount(of: r)).map { t in entryRange(recording: r, step: t).map { (storage.inputs[$0], storage.counts[$0]) } }
    }
}

extension FrameSet: Equatable {
    /// Equal frames: the same settings and, recording by recording, the same label and steps.
    package static func == (a: FrameSet, b: FrameSet) -> Bool {
        guard a.windowMicros == b.windowMicros, a.denoiseMicros == b.denoiseMicros, a.count == b.count else { return false }
        for r in 0..<a.count {
            guard a.label(of: r) == b.label(of: r), a.stepCount(of: r) == b.stepCount(of: r) else { return false }
            for t in 0..<a.stepCount(of: r) {
                let x = a.entryRange(recording: r, step: t), y = b.entryRange(recording: r, step: t)
                guard x.count == y.count, zip(x, y).allSatisfy({ a.storage.inputs[$0] == b.storage.inputs[$1]
                    && a.storage.counts[$0] == b.storage.counts[$1] }) else { return false }
            }
        }
        return true
    }
}

extension FrameSet {
    /// Frames built recording by recording (by `Framing` or by hand), then `finish`ed.
    package struct Builder {
        package let windowMicros: Int
        package let denoiseMicros: Int?
        package var labels: [UInt8] = []
        package var recordingStepStart: [Int32] = [0]
        package var stepEntryStart: [Int32] = [0]
        package var inputs: [UInt16] = []
        package var counts: [UInt8] = []

        package init(windowMicros: Int, denoiseMicros: Int?) {
            self.windowMicros = windowMicros
            self.denoiseMicros = denoiseMicros
        }

        package var count: Int { labels.count }

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

        /// Appends every recording of `other` (same window and denoise settings).
        /// - Complexity: O(entries of `other`).
        package mutating func appendAll(of other: FrameSet) {
            precondition(other.windowMicros == windowMicros && other.denoiseMicros == denoiseMicros)
            let s = other.storage
            for r in 0..<other.count {
                let steps = other.stepRange(of: r)
                let first = Int(s.stepEntryStart[steps.lowerBound]), end = Int(s.stepEntryStart[steps.upperBound])
                let shift = Int32(inputs.count) - Int32(first)
                inputs.append(contentsOf: UnsafeBufferPointer(rebasing: s.inputs.base[first..<end]))
                counts.append(contentsOf: UnsafeBufferPointer(rebasing: s.counts.base[first..<end]))
                for step in (steps.lowerBound + 1)..<(steps.upperBound + 1) { stepEntryStart.append(s.stepEntryStart[step] + shift) }
                labels.append(other.label(of: r))
                recordingStepStart.append(Int32(stepEntryStart.count - 1))
            }
            withExtendedLifetime(s) {}
        }

        /// The frames built so far (copied once into shared storage).
        package func finish() -> FrameSet {
            FrameSet(windowMicros: windowMicros, denoiseMicros: denoiseMicros,
                     storage: Storage(labels: SharedBuffer(labels), recordingStepStart: SharedBuffer(recordingStepStart),
                                      stepEntryStart: SharedBuffer(stepEntryStart), inputs: SharedBuffer(inputs),
                                      counts: SharedBuffer(counts)))
        }
    }

    /// Frames given recording by recording, as steps' (input, count) lists.
    package init(windowMicros: Int, denoiseMicros: Int?, recordings: [(label: UInt8, steps: [[(input: UInt16, count: UInt8)]])]) {
        var builder = Builder(windowMicros: windowMicros, denoiseMicros: denoiseMicros)
        for r in recordings { builder.append(label: r.label, steps: r.steps) }
        self = builder.finish()
    }
}
