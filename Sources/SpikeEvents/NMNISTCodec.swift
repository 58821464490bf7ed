import SpikeSupport

/// The native N-MNIST binary format (Orchard et al. 2015; tonic `io.read_mnist_file`).
///
/// Each event is 5 bytes: x = b0, y = b1, p = b2 >> 7, t = (b2 & 0x7F) << 16 | b3 << 8 | b4
/// (23-bit µs). An event with y = 240 is a timestamp-overflow marker: it adds 2^13 µs to every
/// later timestamp and is itself dropped (tonic's rule, kept for parity).
///
/// Decoding is strict where tonic would silently produce garbage: a length that is not a
/// multiple of 5, x or y outside the 34 × 34 sensor, an empty recording, or timestamps that
/// go backwards are errors naming the byte offset. Backwards timestamps are rejected rather
/// than sorted, because denoising and framing are defined on stream order and tonic's
/// slicing assumes sorted times; a file that violates it is damaged.
package enum NMNISTCodec {
    /// Bytes per event.
    package static let eventSize = 5
    /// The y value that marks a timestamp overflow.
    package static let overflowMarkerY: UInt8 = 240
    /// What one overflow marker adds to later timestamps (tonic: 2**13).
    package static let overflowIncrement: UInt32 = 1 << 13

    /// Decodes one recording.
    /// - Parameters:
    ///   - bytes: the file's contents.
    ///   - path: the name used in error messages.
    /// - Complexity: O(n) in the number of events.
    package static func decode(_ bytes: UnsafeRawBufferPointer, path: String, label: UInt8) throws -> Recording {
        guard bytes.count % eventSize == 0 else {
            let whole = bytes.count / eventSize * eventSize
            throw FileError.atByte(path, whole, "truncated: \(bytes.count) bytes is not a multiple of 5 (\(bytes.count - whole) stray bytes at the end)")
        }
        let n = bytes.count / eventSize
        var times = [UInt32](); times.reserveCapacity(n)
        var inputs = [UInt16](); inputs.reserveCapacity(n)
        var offset: UInt32 = 0
        var previous: UInt32 = 0
        var i = 0
        while i < bytes.count {
            let x = bytes[i], y = bytes[i + 1], b2 = bytes[i + 2]
            let raw = UInt32(b2 & 0x7F) << 16 | UInt32(bytes[i + 3]) << 8 | UInt32(bytes[i + 4])
            if y == overflowMarkerY {
                offset &+= overflowIncrement
                i += eventSize
                continue
            }
            guard x < 34, y < 34 else {
                throw FileError.atByte(path, i, "event \(i / eventSize) is outside the 34x34 sensor (x=\(x), y=\(y))")
            }
            let t = raw &+ offset
            guard t >= previous else {
                throw FileError.atByte(path, i, "timestamps go backwards at event \(i / eventSize) (t=\(t) us after \(previous) us)")
            }
            previous = t
            times.append(t)
            inputs.append(UInt16(Int(b2 >> 7) * 1156 + Int(y) * 34 + Int(x)))
            i += eventSize
        }
        guard !times.isEmpty else {
            throw FileError(path: path, "empty recording (no events)")
        }
        return Recording(name: path, label: label, times: times, inputs: inputs)
    }

    /// Decodes one recording from an array of bytes.
    package static func decode(_ bytes: [UInt8], path: String, label: UInt8) throws -> Recording {
        try bytes.withUnsafeBytes { try decode($0, path: path, label: label) }
    }

    /// Encodes a recording in the native format, inserting overflow markers whenever a
    /// timestamp no longer fits in 23 bits, so that `decode(encode(r))` returns `r`.
    package static func encode(_ recording: Recording) -> [UInt8] {
        var out = [UInt8](); out.reserveCapacity(recording.count * eventSize)
        var offset: UInt32 = 0
        for (t, input) in zip(recording.times, recording.inputs) {
            while t - offset >= 1 << 23 {
                offset += overflowIncrement
                out += [0, overflowMarkerY, 0, 0, 0]
            }
            let local = t - offset
            let i = Int(input)
            let p = UInt8(NMNIST.p(ofInput: i))
            out.append(UInt8(NMNIST.x(ofInput: i)))
            out.append(UInt8(NMNIST.y(ofInput: i)))
            out.append(p << 7 | UInt8((local >> 16) & 0x7F))
            out.append(UInt8((local >> 8) & 0xFF))
            out.append(UInt8(local & 0xFF))
        }
        return out
    }
}
