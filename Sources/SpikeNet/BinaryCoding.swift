/// Little-endian encoding of the engine's files (checkpoints, model files).
struct ByteWriter {
    var bytes: [UInt8] = []

    mutating func append<T: FixedWidthInteger>(_ value: T) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    mutating func append(_ value: Double) { append(value.bitPattern) }

    mutating func append(_ text: String) {
        let utf8 = Array(text.utf8)
        append(UInt32(utf8.count))
        bytes.append(contentsOf: utf8)
    }

    /// A count followed by the raw little-endian float32 values.
    mutating func append(floats: some FloatStorage) {
        append(UInt64(floats.count))
        appendRaw(floats)
    }

    mutating func appendRaw(_ floats: some FloatStorage) {
        #if _endian(little)
        floats.withFirst { bytes.append(contentsOf: UnsafeRawBufferPointer(start: $0, count: floats.count * 4)) }
        #else
        floats.withFirst { first in for k in 0..<floats.count { append(first[k].bitPattern) } }
        #endif
    }
}

/// Reads what `ByteWriter` wrote; every read checks the bounds and throws `failure` when short.
struct ByteReader {
    let bytes: [UInt8]
    var offset = 0
    let failure: (String) -> Error

    init(_ bytes: [UInt8], failure: @escaping (String) -> Error) {
        self.bytes = bytes
        self.failure = failure
    }

    var remaining: Int { bytes.count - offset }

    mutating func read<T: FixedWidthInteger>(_: T.Type = T.self) throws -> T {
        let size = MemoryLayout<T>.size
        guard remaining >= size else { throw failure("truncated at byte \(offset)") }
        var value: T = 0
        withUnsafeMutableBytes(of: &value) { dst in
            for k in 0..<size { dst[k] = bytes[offset + k] }
        }
        offset += size
        return T(littleEndian: value)
    }

    mutating func readDouble() throws -> Double { Double(bitPattern: try read(UInt64.self)) }

    mutating func readString() throws -> String {
        let n = Int(try read(UInt32.self))
        guard n <= remaining else { throw failure("truncated string at byte \(offset)") }
        defer { offset += n }
        return String(decoding: bytes[offset..<(offset + n)], as: UTF8.self)
    }

    mutating func readFloats(expected: Int) throws -> [Float] {
        let n = try read(UInt64.self)
        guard n == UInt64(expected) else { throw failure("tensor of \(n) values where \(expected) were expected") }
        return try readRaw(count: expected)
    }

    mutating func readRaw(count: Int) throws -> [Float] {
        guard count >= 0, count * 4 <= remaining else { throw failure("truncated tensor at byte \(offset)") }
        var out = [Float](repeating: 0, count: count)
        out.withUnsafeMutableBytes { dst in
            bytes.withUnsafeBytes { src in
                dst.copyMemory(from: UnsafeRawBufferPointer(rebasing: src[offset..<(offset + count * 4)]))
            }
        }
        #if !_endian(little)
        out = out.map { Float(bitPattern: UInt32(littleEndian: $0.bitPattern)) }
        #endif
        offset += count * 4
        return out
    }
}
