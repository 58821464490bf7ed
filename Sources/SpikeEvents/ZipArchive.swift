// Why a hand-written reader and not ZIPFoundation (weichsel/ZIPFoundation 0.9.20, the version
// that resolves here). Measured 2026-12-04: ZIPFoundation is somewhat slower, which alone would
// be acceptable, but it traps (kills the process) on damaged archives and silently drops
// members, and we cannot patch a dependency.
//
// Speed, same archive, 2 cores shared with other builds (wall times are noisy; CPU is steadier):
//   spikesweep data synth -o /tmp/big.zip --count 60000 --seed 1
//       979 MB, 1.21 GB inflated; 60,000 members like the real Train.zip
//   /usr/bin/time -v spikesweep data prepare /tmp/big.zip -o /tmp/big.spk
//       6 runs per reader, the last 3 pairs interleaved; both give fingerprint 3ed3908154d8e5bf
//   this reader    wall 23.6 25.3 28.3 32.7 38.6 21.8 s (median 26.8), user+sys median 22.3 s,
//                  peak RSS 3.87 GB
//   ZIPFoundation  wall 38.7 32.1 30.6 47.2 29.0 30.4 s (median 31.3), user+sys median 26.3 s,
//                  peak RSS 4.35 GB
//   i.e. about 17% slower (18% more CPU), 12% more memory.
// The ZIPFoundation build changed only the `.zip` case of `DatasetSource.read`: a pool of
// `Archive(url:accessMode: .read)`, one per reading thread (an `Archive` is one `FILE*`, not
// thread-safe), `extract(_:skipCRC32: true)` appending into a `[UInt8]`, then the CRC-32 checked
// with zlib (`Checksum.crc32`) as this reader does. With its own CRC instead, reading alone took
// 10.3 s against 9.2 s.
//
// Safety (ZIPFoundation 0.9.20 on Linux):
// - In-memory archives (`Archive(data:)`, the form `FuzzTests.zipReader` feeds): an entry whose
//   local-header offset points past the end traps in `MemoryFile.readData` ("Range requires
//   lowerBound <= upperBound"). The fuzz test's mutations hit it within the first 30 inputs for
//   each of four seeds.
// - File archives (`Archive(url:)`, the form Train.zip would use): 50,000 random mutations
//   (5 seeds) did not trap, but a ZIP64 end record giving a central-directory offset >= 2^63
//   traps in `Data.readStruct` ("Not enough bits to represent the passed value").
// - An entry with a damaged central-directory signature, or with the encryption bit set, ends
//   the listing without an error: the archive reads as if it held only the members before it.
// This reader had overflow traps of its own on crafted ZIP64 fields; they are fixed, and
// `ZipArchiveTests` feeds all of these inputs to it.
// Adopting ZIPFoundation would also mean renaming our `CZlib` module: its zlib module map is
// `module CZlib` too ("redefinition of module 'CZlib'").

import CZlib
import Foundation
import SpikeSupport

/// Reads members of a ZIP archive (stored or deflated, ZIP64 included) straight from memory,
/// without extracting anything to disk: how the official N-MNIST `Train.zip` / `Test.zip`
/// are read. Every structural problem is a `FileError` naming the archive and byte offset,
/// and each member's CRC-32 is checked.
package struct ZipArchive {
    /// One member from the central directory.
    package struct Entry: Sendable {
        package var name: String
        package var method: UInt16
        package var crc32: UInt32
        package var compressedSize: Int
        package var uncompressedSize: Int
        /// Offset of the member's local header.
        package var localHeaderOffset: Int
        package var isDirectory: Bool { name.hasSuffix("/") }
    }

    package let path: String
    package let data: Data
    package private(set) var entries: [Entry] = []

    /// Opens an archive (memory-mapped) and reads its central directory.
    package init(path: String) throws {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped)
        } catch {
            throw FileError(path: path, "cannot read: \(error.localizedDescription)")
        }
        try self.init(path: path, data: data)
    }

    /// Reads the central directory of an archive held in memory.
    package init(path: String, data: Data) throws {
        self.path = path
        self.data = data
        entries = try data.withUnsafeBytes { try Self.readCentralDirectory($0, path: path) }
    }

    private static func u16(_ b: UnsafeRawBufferPointer, _ o: Int) -> Int { Int(b[o]) | Int(b[o + 1]) << 8 }
    private static func u32(_ b: UnsafeRawBufferPointer, _ o: Int) -> Int { u16(b, o) | u16(b, o + 2) << 16 }
    private static func u64(_ b: UnsafeRawBufferPointer, _ o: Int) -> Int { u32(b, o) | u32(b, o + 4) << 32 }

    private static func readCentralDirectory(_ b: UnsafeRawBufferPointer, path: String) throws -> [Entry] {
        let eocdSize = 22
        guard b.count >= eocdSize else {
            throw FileError(path: path, "not a zip archive (\(b.count) bytes, too short for an end-of-central-directory record)")
        }
        var eocd = -1
        var o = b.count - eocdSize
        let lowest = max(0, b.count - eocdSize - 65_535)
        while o >= lowest {
            if b[o] == 0x50, b[o + 1] == 0x4B, b[o + 2] == 0x05, b[o + 3] == 0x06 { eocd = o; break }
            o -= 1
        }
        guard eocd >= 0 else { throw FileError(path: path, "not a zip archive (no end-of-central-directory record)") }
        var entryCount = u16(b, eocd + 10)
        var cdSize = u32(b, eocd + 12)
        var cdOffset = u32(b, eocd + 16)
        if entryCount == 0xFFFF || cdSize == 0xFFFF_FFFF || cdOffset == 0xFFFF_FFFF {
            // ZIP64: a locator sits just before the EOCD record.
            let locator = eocd - 20
            guard locator >= 0, u32(b, locator) == 0x0706_4B50 else {
                throw FileError.atByte(path, eocd, "corrupt zip: ZIP64 fields without a ZIP64 locator")
            }
            let record = u64(b, locator + 8)
            guard record >= 0, record <= b.count - 56, u32(b, record) == 0x0606_4B50 else {
                throw FileError.atByte(path, locator, "corrupt zip: bad ZIP64 end-of-central-directory offset")
            }
            entryCount = u64(b, record + 32)
            cdSize = u64(b, record + 40)
            cdOffset = u64(b, record + 48)
        }
        // 64-bit fields read from the file may be negative as `Int`; bounds are compared without
        // adding two of them, which could overflow.
        guard cdOffset >= 0, cdSize >= 0, cdOffset <= b.count, cdSize <= b.count - cdOffset else {
            throw FileError.atByte(path, eocd, "corrupt zip: central directory (offset \(UInt(bitPattern: cdOffset)), \(UInt(bitPattern: cdSize)) bytes) lies outside the file")
        }
        guard entryCount >= 0 else {
            throw FileError.atByte(path, eocd, "corrupt zip: impossible entry count \(UInt(bitPattern: entryCount))")
        }
        var entries: [Entry] = []
        entries.reserveCapacity(min(entryCount, 1 << 20))
        o = cdOffset
        for _ in 0..<entryCount {
            guard o + 46 <= b.count, u32(b, o) == 0x0201_4B50 else {
                throw FileError.atByte(path, o, "corrupt zip: bad central directory entry signature")
            }
            let method = UInt16(u16(b, o + 10))
            let crc = UInt32(u32(b, o + 16))
            var compressed = u32(b, o + 20)
            var uncompressed = u32(b, o + 24)
            let nameLength = u16(b, o + 28), extraLength = u16(b, o + 30), commentLength = u16(b, o + 32)
            var local = u32(b, o + 42)
            let nameStart = o + 46
            guard nameStart + nameLength + extraLength + commentLength <= b.count else {
                throw FileError.atByte(path, o, "corrupt zip: central directory entry runs past the end of the file")
            }
            let name = String(decoding: UnsafeRawBufferPointer(rebasing: b[nameStart..<nameStart + nameLength]), as: UTF8.self)
            // ZIP64 extended information extra field (0x0001): the 64-bit values, in order, for
            // whichever 32-bit fields are saturated.
            var e = nameStart + nameLength
            let extraEnd = e + extraLength
            while e + 4 <= extraEnd {
                let id = u16(b, e), size = u16(b, e + 2)
                let fieldEnd = min(e + 4 + size, extraEnd)  // a field claiming more than the extra area gets what is there
                if id == 0x0001 {
                    var f = e + 4
                    if uncompressed == 0xFFFF_FFFF, f + 8 <= fieldEnd { uncompressed = u64(b, f); f += 8 }
                    if compressed == 0xFFFF_FFFF, f + 8 <= fieldEnd { compressed = u64(b, f); f += 8 }
                    if local == 0xFFFF_FFFF, f + 8 <= fieldEnd { local = u64(b, f); f += 8 }
                }
                e += 4 + size
            }
            entries.append(Entry(name: name, method: method, crc32: crc, compressedSize: compressed,
                                 uncompressedSize: uncompressed, localHeaderOffset: local))
            o = extraEnd + commentLength
        }
        return entries
    }

    /// The uncompressed bytes of `entry`, CRC-checked.
    package func contents(of entry: Entry) throws -> [UInt8] {
        let member = "\(path):\(entry.name)"
        return try data.withUnsafeBytes { (b: UnsafeRawBufferPointer) -> [UInt8] in
            let o = entry.localHeaderOffset
            guard o >= 0, o <= b.count - 30, Self.u32(b, o) == 0x0403_4B50 else {
                throw FileError.atByte(path, max(0, o), "corrupt zip: bad local header for \(entry.name)")
            }
            let start = o + 30 + Self.u16(b, o + 26) + Self.u16(b, o + 28)
            guard entry.compressedSize >= 0, entry.compressedSize <= b.count - start else {
                throw FileError.atByte(path, o, "corrupt zip: data of \(entry.name) runs past the end of the file")
            }
            let source = UnsafeRawBufferPointer(rebasing: b[start..<start + entry.compressedSize])
            let bytes: [UInt8]
            switch entry.method {
            case 0:
                bytes = Array(source)
            case 8:
                bytes = try Self.inflate(source, expected: entry.uncompressedSize, member: member, offset: start)
            default:
                throw FileError(path: member, "unsupported zip compression method \(entry.method) (only stored and deflate are)")
            }
            guard bytes.count == entry.uncompressedSize else {
                throw FileError.atByte(path, start, "corrupt zip: \(entry.name) inflates to \(bytes.count) bytes, directory says \(entry.uncompressedSize)")
            }
            guard Checksum.crc32(bytes) == entry.crc32 else {
                throw FileError.atByte(path, start, "corrupt zip: CRC-32 mismatch in \(entry.name)")
            }
            return bytes
        }
    }

    private static func inflate(_ source: UnsafeRawBufferPointer, expected: Int, member: String, offset: Int) throws -> [UInt8] {
        guard expected >= 0, expected < 1 << 31 else {
            throw FileError.atByte(member, offset, "corrupt zip: implausible uncompressed size \(expected)")
        }
        var output = [UInt8](repeating: 0, count: expected)
        var stream = z_stream()
        guard czlib_inflate_init_raw(&stream) == Z_OK else { throw FileError(path: member, "zlib could not start inflating") }
        defer { inflateEnd(&stream) }
        let status: Int32 = output.withUnsafeMutableBytes { out in
            stream.next_in = UnsafeMutablePointer(mutating: source.baseAddress?.assumingMemoryBound(to: Bytef.self))
            stream.avail_in = uInt(source.count)
            stream.next_out = out.baseAddress?.assumingMemoryBound(to: Bytef.self)
            stream.avail_out = uInt(out.count)
            return CZlib.inflate(&stream, Z_FINISH)
        }
        guard status == Z_STREAM_END else {
            throw FileError.atByte(member, offset + Int(stream.total_in), "corrupt zip: deflate stream is damaged (zlib status \(status))")
        }
        return Array(output.prefix(Int(stream.total_out)))
    }
}

/// Writes ZIP archives (deflate, no ZIP64): used to produce official-layout `Train.zip` files
/// of synthetic recordings for tests and demos.
package struct ZipWriter {
    private var bytes: [UInt8] = []
    private var central: [UInt8] = []
    private var count = 0

    package init() {}

    package mutating func add(name: String, contents: [UInt8]) {
        let compressed = Self.deflate(contents)
        let crc = Checksum.crc32(contents)
        let nameBytes = Array(name.utf8)
        let offset = bytes.count
        func le16(_ v: Int, _ into: inout [UInt8]) { into += [UInt8(v & 0xFF), UInt8(v >> 8 & 0xFF)] }
        func le32(_ v: Int, _ into: inout [UInt8]) { le16(v & 0xFFFF, &into); le16(v >> 16 & 0xFFFF, &into) }
        le32(0x0403_4B50, &bytes); le16(20, &bytes); le16(0, &bytes); le16(8, &bytes)
        le16(0, &bytes); le16(0x21, &bytes)  // time, date (1980-01-01)
        le32(Int(crc), &bytes); le32(compressed.count, &bytes); le32(contents.count, &bytes)
        le16(nameBytes.count, &bytes); le16(0, &bytes)
        bytes += nameBytes
        bytes += compressed
        le32(0x0201_4B50, &central); le16(20, &central); le16(20, &central); le16(0, &central); le16(8, &central)
        le16(0, &central); le16(0x21, &central)
        le32(Int(crc), &central); le32(compressed.count, &central); le32(contents.count, &central)
        le16(nameBytes.count, &central); le16(0, &central); le16(0, &central); le16(0, &central); le16(0, &central)
        le32(0, &central); le32(offset, &central)
        central += nameBytes
        count += 1
    }

    /// The finished archive.
    package func finish() -> [UInt8] {
        var out = bytes
        out += central
        func le16(_ v: Int) { out += [UInt8(v & 0xFF), UInt8(v >> 8 & 0xFF)] }
        func le32(_ v: Int) { le16(v & 0xFFFF); le16(v >> 16 & 0xFFFF) }
        le32(0x0605_4B50); le16(0); le16(0); le16(count); le16(count)
        le32(central.count); le32(bytes.count); le16(0)
        return out
    }

    static func deflate(_ input: [UInt8]) -> [UInt8] {
        var stream = z_stream()
        precondition(czlib_deflate_init_raw(&stream, 6) == Z_OK)
        defer { deflateEnd(&stream) }
        var output = [UInt8](repeating: 0, count: Int(deflateBound(&stream, uLong(input.count))) + 16)
        var input = input
        let produced: Int = input.withUnsafeMutableBytes { inp in
            output.withUnsafeMutableBytes { out in
                stream.next_in = inp.baseAddress?.assumingMemoryBound(to: Bytef.self)
                stream.avail_in = uInt(inp.count)
                stream.next_out = out.baseAddress?.assumingMemoryBound(to: Bytef.self)
                stream.avail_out = uInt(out.count)
                let status = CZlib.deflate(&stream, Z_FINISH)
                precondition(status == Z_STREAM_END, "deflate failed with status \(status)")
                return Int(stream.total_out)
            }
        }
        return Array(output.prefix(produced))
    }
}
