import Dispatch

/// A split of N-MNIST held in memory: every recording's events stored flat, with labels and
/// names. This is what a prepared `.spk` file holds, and what frames are derived from.
package struct EventDataset: Sendable, Equatable {
    /// Which split the recordings come from, when known.
    package enum Split: String, Sendable, Codable, CaseIterable {
        case train, test, unknown
    }

    package var split: Split
    /// A name per recording (source-relative path), for messages and traceability.
    package var names: [String]
    /// Class label (0–9) per recording.
    package var labels: [UInt8]
    /// Count + 1 offsets into `times` / `inputs`.
    package var eventStart: [Int]
    /// Event timestamps in µs, non-decreasing within each recording.
    package var times: [UInt32]
    /// Flattened input index of each event (p·1156 + y·34 + x).
    package var inputs: [UInt16]

    package init(split: Split = .unknown) {
        self.split = split
        names = []
        labels = []
        eventStart = [0]
        times = []
        inputs = []
    }

    package init(split: Split = .unknown, recordings: [Recording]) {
        self.init(split: split)
        let total = recordings.reduce(0) { $0 + $1.count }
        times.reserveCapacity(total)
        inputs.reserveCapacity(total)
        for r in recordings { append(r) }
    }

    /// Number of recordings.
    package var count: Int { labels.count }

    /// Number of events of recording `r`.
    package func eventCount(of r: Int) -> Int { eventStart[r + 1] - eventStart[r] }

    package mutating func append(_ recording: Recording) {
        names.append(recording.name)
        labels.append(recording.label)
        times.append(contentsOf: recording.times)
        inputs.append(contentsOf: recording.inputs)
        eventStart.append(times.count)
    }

    /// Recording `r` as a standalone value.
    package func recording(_ r: Int) -> Recording {
        let range = eventStart[r]..<eventStart[r + 1]
        return Recording(name: names[r], label: labels[r], times: Array(times[range]), inputs: Array(inputs[range]))
    }

    /// The recordings at `indices`, in that order.
    package func subset(_ indices: [Int]) -> EventDataset {
        var result = EventDataset(split: split)
        for r in indices { result.append(recording(r)) }
        return result
    }

    /// Calls `body` with recording `r`'s events without copying them.
    @inlinable
    package func withEvents<R>(of r: Int, _ body: (UnsafeBufferPointer<UInt32>, UnsafeBufferPointer<UInt16>) throws -> R) rethrows -> R {
        let range = eventStart[r]..<eventStart[r + 1]
        return try times.withUnsafeBufferPointer { t in
            try inputs.withUnsafeBufferPointer { i in
                try body(UnsafeBufferPointer(rebasing: t[range]), UnsafeBufferPointer(rebasing: i[range]))
            }
        }
    }

    /// Denoised, framed input for every recording (or those at `indices`), tonic-exact.
    ///
    /// Work is split into contiguous chunks across `threads` and concatenated in order, so the
    /// result does not depend on the thread count.
    /// - Complexity: O(total events).
    package func frames(_ options: Framing.Options, indices: [Int]? = nil, threads: Int = 1) -> FrameSet {
        let chosen = indices ?? Array(0..<count)
        let chunkCount = max(1, min(threads, chosen.count / 64))
        if chunkCount == 1 { return frames(options, chosen[...]) }
        let chunkSize = (chosen.count + chunkCount - 1) / chunkCount
        let parts = UnsafeMutableBufferPointer<FrameSet>.allocate(capacity: chunkCount)
        defer { parts.deallocate() }
        DispatchQueue.concurrentPerform(iterations: chunkCount) { c in
            let lo = c * chunkSize, hi = min(chosen.count, lo + chunkSize)
            (parts.baseAddress! + c).initialize(to: frames(options, chosen[lo..<hi]))
        }
        var result = parts[0]
        for c in 1..<chunkCount { result.appendAll(of: parts[c]) }
        _ = parts.baseAddress!.deinitialize(count: chunkCount)
        return result
    }

    private func frames(_ options: Framing.Options, _ chosen: ArraySlice<Int>) -> FrameSet {
        var result = FrameSet(windowMicros: options.windowMicros, denoiseMicros: options.denoiseMicros)
        // Entries never outnumber events; steps are about duration / window.
        let events = chosen.reduce(0) { $0 + eventCount(of: $1) }
        result.inputs.reserveCapacity(events)
        result.counts.reserveCapacity(events)
        result.stepEntryStart.reserveCapacity(chosen.count * (320_000 / options.windowMicros + 2) + 1)
        var scratch = Framing.Scratch()
        for r in chosen {
            withEvents(of: r) { t, i in
                Framing.appendFrames(times: t, inputs: i, label: labels[r], options: options, to: &result, scratch: &scratch)
            }
        }
        return result
    }
}

extension FrameSet {
    /// Appends every recording of `other` (same window and denoise settings).
    package mutating func appendAll(of other: FrameSet) {
        precondition(other.windowMicros == windowMicros && other.denoiseMicros == denoiseMicros)
        let entryBase = Int32(inputs.count)
        let stepBase = Int32(stepEntryStart.count - 1)
        inputs.append(contentsOf: other.inputs)
        counts.append(contentsOf: other.counts)
        stepEntryStart.append(contentsOf: other.stepEntryStart.dropFirst().map { $0 + entryBase })
        recordingStepStart.append(contentsOf: other.recordingStepStart.dropFirst().map { $0 + stepBase })
        labels.append(contentsOf: other.labels)
    }
}

extension EventDataset {
    /// Reads a prepared `.spk` file.
    package static func load(prepared path: String) throws -> EventDataset {
        try PreparedFile.read(path: path)
    }

    /// Reads any source (`DatasetSource.detect`): a prepared file, a native file, an extracted
    /// tree, an official zip, or a `.bs2` folder with a label list.
    package static func read(source path: String, labels: String? = nil) throws -> EventDataset {
        try DatasetSource.detect(path, labels: labels).read()
    }

    /// Frames of every recording with tonic's Denoise (when `denoiseMicros` is set) and ToFrame.
    package func frames(windowMicros: Int, denoiseMicros: Int?, threads: Int = 1) -> FrameSet {
        frames(Framing.Options(windowMicros: windowMicros, denoiseMicros: denoiseMicros), threads: threads)
    }
}
