/// One N-MNIST recording: its decoded events in stream order and its class label.
///
/// Events are stored as two parallel arrays: timestamps in µs and the flattened input index
/// `p·1156 + y·34 + x` (see `NMNIST.inputIndex`), from which x, y and p are recovered.
package struct Recording: Sendable, Equatable {
    /// A name for messages and traceability (e.g. `Train/3/00012.bin` or `17.bs2`).
    package var name: String
    /// Class label 0–9.
    package var label: UInt8
    /// Event timestamps in µs, non-decreasing.
    package var times: [UInt32]
    /// Flattened input index of each event (p·1156 + y·34 + x).
    package var inputs: [UInt16]

    package init(name: String, label: UInt8, times: [UInt32], inputs: [UInt16]) {
        precondition(times.count == inputs.count, "times and inputs must have the same length")
        self.name = name
        self.label = label
        self.times = times
        self.inputs = inputs
    }

    /// Number of events.
    package var count: Int { times.count }
}

extension NMNIST {
    @inlinable package static func x(ofInput i: Int) -> Int { i % 34 }
    @inlinable package static func y(ofInput i: Int) -> Int { (i / 34) % 34 }
    @inlinable package static func p(ofInput i: Int) -> Int { i / 1156 }
}
