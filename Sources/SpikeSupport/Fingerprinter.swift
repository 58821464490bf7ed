/// A 64-bit content hash (word-wise multiply–xorshift, stable across platforms) for dataset
/// fingerprints: fast enough for gigabytes, not meant to be cryptographic.
package struct Fingerprinter {
    private var state: UInt64 = 0x243F_6A88_85A3_08D3
    private var length: UInt64 = 0

    package init() {}

    package mutating func mix(_ bytes: UnsafeRawBufferPointer) {
        var o = 0
        while o + 8 <= bytes.count {
            mixWord(bytes.loadUnaligned(fromByteOffset: o, as: UInt64.self).littleEndian)
            o += 8
        }
        var tail: UInt64 = 0
        var shift: UInt64 = 0
        while o < bytes.count { tail |= UInt64(bytes[o]) << shift; shift += 8; o += 1 }
        mixWord(tail ^ 0xA5)
        length &+= UInt64(bytes.count)
    }

    package mutating func mix<T>(_ array: [T]) { array.withUnsafeBytes { mix($0) } }

    @inline(__always)
    private mutating func mixWord(_ w: UInt64) {
        state = (state ^ w) &* 0x9E37_79B9_7F4A_7C15
        state ^= state >> 29
    }

    package var value: UInt64 {
        var z = state ^ length
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

extension UInt64 {
    /// Sixteen lower-case hex digits, zero-padded: how fingerprints and hashes are written.
    package var hex16: String {
        let hex = String(self, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}
