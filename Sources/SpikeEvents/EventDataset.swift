import Dispatch
import SpikeSupport

/// A split of N-MNIST: every recording's events stored flat, with labels and names. This is
/// what a prepared `.spk` file holds (mapped from it, shared by every process of a node, or
/// built in memory from another source), and what frames are derived from.
package struct EventDataset: Sendable, Equatable {
    /// Which split the recordings come from, when known.
    package enum Split: String, Sendable, Codable, CaseIterable {
        case train, test, unknown
    }

    package var split: Split
    /// A name per recording (source-relative path), for messages and traceability.
    package var names: [String]
    /// Class label (0–9) per recording.
    package let labels: SharedBuffer<UInt8>
    /// Count + 1 offsets into `times` / `inputs`.
    package let eventStart: SharedBuffer<Int>
    /// Event timestamps in µs, non-decreasing within each recording.
    package let times: SharedBuffer<UInt32>
    /// Flattened input index of each event (p·1156 + y·34 + x).
    package let inputs: SharedBuffer<UInt16>
    /// The content fingerprint (labels, offsets, times, inputs; see `PreparedFile.fingerprint`).
    package let fingerprint: UInt64

    package init(split: Split, names: [String], labels: SharedBuffer<UInt8>, eventStart: SharedBuffer<Int>,
                 times: SharedBuffer<UInt32>, inputs: SharedBuffer<UInt16>, fingerprint: UInt64? = nil) {
        self.split = split
        self.names = names
        self.labels = labels
        self.eventStart = eventStart
        self.times = times
        self.inputs = inputs
        self.fingerprint = fingerprint ?? Self.fingerprint(labels: labels, eventStart: eventStart, times: times, inputs: inputs)
    }

    package init(split: Split = .unknown, recordings: [Recording] = []) {
        var builder = Builder(split: split)
        builder.reserve(events: recordings.reduce(0) { $0 + $1.count })
        for r in recordings { builder.append(r) }
        self = builder.finish()
    }

    /// The content fingerprint of a dataset (independent of names, split and file layout).
    /// - Complexity: O(events).
    static func fingerprint(labels: SharedBuffer<UInt8>, eventStart: SharedBuffer<Int>, times: SharedBuffer<UInt32>,
                            inputs: SharedBuffer<UInt16>) -> UInt64 {
        var f = Fingerprinter()
        labels.withUnsafeBytes { f.mix($0) }
        eventStart.withUnsafeBytes { f.mix($0) }  // as UInt64 words: Int is 64-bit here
        times.withUnsafeBytes { f.mix($0) }
        inputs.withUnsafeBytes { f.mix($0) }
        return f.value
    }

    package static func == (a: EventDataset, b: EventDataset) -> Bool {
        a.split == b.split && a.names == b.names && a.labels == b.labels && a.eventStart == b.eventStart
            && a.times == b.times && a.inputs == b.inputs
    }

    /// Number of recordings.
    package var count: Int { labels.count }

    /// Number of events of recording `r`.
    package func eventCount(of r: Int) -> Int { eventStart[r + 1] - eventStart[r] }

    /// Recording `r` as a standalone value.
    package func recording(_ r: Int) -> Recording {
        let range = eventStart[r]..<eventStart[r + 1]
        return Recording(name: names[r], label: labels[r], times: Array(times[range]), inputs: Array(inputs[range]))
    }

    /// The recordings at `indices`, in that order (copied).
    package func subset(_ indices: [Int]) -> EventDataset {
        var builder = Builder(split: split)
        for r in indices { builder.append(recording(r)) }
        return builder.finish()
    }

    /// Calls `body` with recording `r`'s events without copying them.
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
        if chunkCount == 1 { return frames(options, chosen[...]).finish() }
        let chunkSize = (chosen.count + chunkCount - 1) / chunkCount
        let parts = UnsafeMutableBufferPointer<FrameSet>.allocate(capacity: chunkCount)
        defer { parts.deallocate() }
        DispatchQueue.concurrentPerform(iterations: chunkCount) { c in
            let lo = c * chunkSize, hi = min(chosen.count, lo + chunkSize)
            (parts.baseAddress! + c).initialize(to: frames(options, chosen[lo..<hi]).finish())
        }
        var result = FrameSet.Builder(windowMicros: options.windowMicros, denoiseMicros: options.denoiseMicros)
        for c in 0..<chunkCount { result.appendAll(of: parts[c]) }
        _ = parts.baseAddress!.deinitialize(count: chunkCount)
        return result.finish()
    }

    /// The frames of `chosen`, not yet finished (for writers that stream them).
    package func frames(_ options: Framing.Options, _ chosen: ArraySlice<Int>) -> FrameSet.Builder {
        var result = FrameSet.Builder(windowMicros: options.windowMicros, denoiseMicros: options.denoiseMicros)
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

extension EventDataset {
    /// A dataset built recording by recording, then `finish`ed.
    package struct Builder {
        package var split: Split
        package var names: [String] = []
        package var labels: [UInt8] = []
        package var eventStart: [Int] = [0]
        package var times: [UInt32] = []
        package var inputs: [UInt16] = []

        package init(split: Split = .unknown) { self.split = split }

        package mutating func reserve(events: Int) {
            times.reserveCapacity(events)
            inputs.reserveCapacity(events)
        }

        package mutating func append(_ recording: Recording) {
            names.append(recording.name)
            labels.append(recording.label)
            times.append(contentsOf: recording.times)
            inputs.append(contentsOf: recording.inputs)
            eventStart.append(times.count)
        }

        package func finish() -> EventDataset {
            EventDataset(split: split, names: names, labels: SharedBuffer(labels), eventStart: SharedBuffer(eventStart),
                         times: SharedBuffer(times), inputs: SharedBuffer(inputs))
        }
    }

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
