import Foundation
import SpikeSupport

/// The prepared-dataset file (`.spk`): one split of N-MNIST packed into a single binary file
/// that loads with one read.
///
/// Layout (little-endian, sections padded to 8 bytes):
/// ```
/// 0   "SPKSWEEP"              magic
/// 8   u32 version (= 1)       12  u8 split (0 unknown, 1 train, 2 test), 3 bytes zero
/// 16  u64 recordings N        24  u64 events E
/// 32  u64 names length L      40  u64 fingerprint (content hash of labels, offsets, events)
/// 48  16 bytes zero (reserved)
/// 64  labels   N × u8
///     offsets  (N+1) × u64   (event offsets of each recording)
///     times    E × u32       (µs)
///     inputs   E × u16       (p·1156 + y·34 + x)
///     names    L bytes UTF-8, one per recording, '\n'-separated
/// end u32 CRC-32 of every byte before it, then "SPKE"
/// ```
/// Reading checks the magic, the version, the trailer, the CRC and every invariant (offsets
/// monotone, labels 0–9, inputs < 2312, times non-decreasing, fingerprint) before handing
/// out a dataset, so a damaged file is an error naming the file, never a wrong result.
package enum PreparedFile {
    package static let magic: [UInt8] = Array("SPKSWEEP".utf8)
    package static let trailerMagic: [UInt8] = Array("SPKE".utf8)
    package static let version: UInt32 = 1
    static let headerSize = 64

    /// Whether the file at `path` starts with the prepared-file magic.
    package static func hasMagic(path: String) -> Bool {
        guard let handle = FileHandle(forReadingAtPath: path) else { return false }
        defer { try? handle.close() }
        return (try? handle.read(upToCount: 8)).map { [UInt8]($0) == magic } ?? false
    }

    /// The content fingerprint of a dataset (independent of names, split and file layout).
    package static func fingerprint(of dataset: EventDataset) -> UInt64 {
        var f = Fingerprinter()
        f.mix(dataset.labels)
        f.mix(dataset.eventStart.map { UInt64($0) })
        f.mix(dataset.times)
        f.mix(dataset.inputs)
        return f.value
    }

    private static func padding(_ n: Int) -> Int { (8 - n % 8) % 8 }

    /// Serialises `dataset`.
    package static func encode(_ dataset: EventDataset) -> [UInt8] {
        let n = dataset.count, e = dataset.times.count
        let names = Array(dataset.names.joined(separator: "\n").utf8)
        var out = [UInt8]()
        out.reserveCapacity(headerSize + n * 9 + e * 6 + names.count + 64)
        func put<T: FixedWidthInteger>(_ v: T) { withUnsafeBytes(of: v.littleEndian) { out += $0 } }
        func pad() { out += [UInt8](repeating: 0, count: padding(out.count)) }
        out += magic
        put(version)
        let splitCode: UInt8 = switch dataset.split { case .unknown: 0; case .train: 1; case .test: 2 }
        out += [splitCode, 0, 0, 0]
        put(UInt64(n)); put(UInt64(e)); put(UInt64(names.count)); put(fingerprint(of: dataset))
        out += [UInt8](repeating: 0, count: 16)
        out += dataset.labels; pad()
        for o in dataset.eventStart { put(UInt64(o)) }
        dataset.times.withUnsafeBytes { out += $0 }  // little-endian hosts only (x86-64, arm64)
        dataset.inputs.withUnsafeBytes { out += $0 }
        pad()
        out += names; pad()
        put(Checksum.crc32(out))
        out += trailerMagic
        return out
    }

    /// Writes `dataset` to `path` atomically (temporary file, fsync, rename): a crash never
    /// leaves a partial `.spk` behind.
    package static func write(_ dataset: EventDataset, to path: String) throws {
        try AtomicFile.write(encode(dataset), to: path)
    }

    /// Reads and fully validates a prepared file.
    package static func read(path: String) throws -> EventDataset {
        let bytes = try DatasetSource.readFile(path)
        return try decode(bytes, path: path)
    }

    /// Validates and decodes the bytes of a prepared file.
    package static func decode(_ bytes: [UInt8], path: String) throws -> EventDataset {
        try bytes.withUnsafeBytes { b in try decode(b, path: path) }
    }

    static func decode(_ b: UnsafeRawBufferPointer, path: String) throws -> EventDataset {
        func u32(_ o: Int) -> UInt32 { UInt32(littleEndian: b.loadUnaligned(fromByteOffset: o, as: UInt32.self)) }
        func u64(_ o: Int) -> UInt64 { UInt64(littleEndian: b.loadUnaligned(fromByteOffset: o, as: UInt64.self)) }
        guard b.count >= 8, Array(b[0..<8]) == magic else {
            throw FileError(path: path, "not a prepared dataset (missing SPKSWEEP magic); prepare one with 'spikesweep data prepare'")
        }
        guard b.count >= headerSize + 8 else { throw FileError.atByte(path, b.count, "truncated prepared file (\(b.count) bytes)") }
        let fileVersion = u32(8)
        guard fileVersion == version else {
            throw FileError.atByte(path, 8, "unknown prepared-file version \(fileVersion) (this build reads version \(version)); re-run 'spikesweep data prepare'")
        }
        guard Array(b[(b.count - 4)...]) == trailerMagic else {
            throw FileError.atByte(path, b.count - 4, "truncated or damaged prepared file (no trailer)")
        }
        let storedCRC = u32(b.count - 8)
        let actualCRC = Checksum.crc32(UnsafeRawBufferPointer(rebasing: b[0..<(b.count - 8)]))
        guard storedCRC == actualCRC else {
            throw FileError(path: path, "checksum mismatch (stored \(hex(storedCRC)), computed \(hex(actualCRC))): the file is damaged; prepare it again")
        }
        let splitCode = b[12]
        guard splitCode <= 2 else { throw FileError.atByte(path, 12, "unknown split code \(splitCode)") }
        let n64 = u64(16), e64 = u64(24), l64 = u64(32), storedFingerprint = u64(40)
        guard n64 < 1 << 32, e64 < 1 << 40, l64 < 1 << 40 else { throw FileError.atByte(path, 16, "implausible section sizes") }
        let n = Int(n64), e = Int(e64), l = Int(l64)
        let labelsAt = headerSize
        let offsetsAt = labelsAt + n + padding(n)
        let timesAt = offsetsAt + (n + 1) * 8
        let inputsAt = timesAt + e * 4
        let namesAt = inputsAt + e * 2 + padding(inputsAt + e * 2)
        let endAt = namesAt + l + padding(l)
        guard endAt + 8 == b.count else {
            throw FileError.atByte(path, 16, "section sizes (\(n) recordings, \(e) events) do not match the file size \(b.count)")
        }
        var dataset = EventDataset(split: splitCode == 1 ? .train : splitCode == 2 ? .test : .unknown)
        dataset.labels = Array(b[labelsAt..<(labelsAt + n)])
        if let bad = dataset.labels.firstIndex(where: { $0 > 9 }) {
            throw FileError.atByte(path, labelsAt + bad, "label \(dataset.labels[bad]) of recording \(bad) is outside 0-9")
        }
        dataset.eventStart = (0...n).map { Int(u64(offsetsAt + $0 * 8)) }
        guard dataset.eventStart.first == 0, dataset.eventStart.last == e else {
            throw FileError.atByte(path, offsetsAt, "event offsets do not span the \(e) events")
        }
        dataset.times = [UInt32](unsafeUninitializedCapacity: e) { buf, count in
            UnsafeMutableRawBufferPointer(buf).copyMemory(from: UnsafeRawBufferPointer(rebasing: b[timesAt..<(timesAt + e * 4)]))
            count = e
        }
        dataset.inputs = [UInt16](unsafeUninitializedCapacity: e) { buf, count in
            UnsafeMutableRawBufferPointer(buf).copyMemory(from: UnsafeRawBufferPointer(rebasing: b[inputsAt..<(inputsAt + e * 2)]))
            count = e
        }
        for r in 0..<n {
            let lo = dataset.eventStart[r], hi = dataset.eventStart[r + 1]
            guard lo < hi else {
                throw FileError.atByte(path, offsetsAt + r * 8, "recording \(r) has \(lo > hi ? "negative" : "no") events")
            }
            var previous: UInt32 = 0
            for i in lo..<hi {
                guard dataset.inputs[i] < NMNIST.inputCount else {
                    throw FileError.atByte(path, inputsAt + i * 2, "event \(i) has input index \(dataset.inputs[i]) >= 2312")
                }
                guard dataset.times[i] >= previous else {
                    throw FileError.atByte(path, timesAt + i * 4, "timestamps go backwards in recording \(r)")
                }
                previous = dataset.times[i]
            }
        }
        let names = String(decoding: UnsafeRawBufferPointer(rebasing: b[namesAt..<(namesAt + l)]), as: UTF8.self)
        dataset.names = n == 0 ? [] : names.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        guard dataset.names.count == n else {
            throw FileError.atByte(path, namesAt, "names section holds \(dataset.names.count) names for \(n) recordings")
        }
        guard fingerprint(of: dataset) == storedFingerprint else {
            throw FileError.atByte(path, 40, "fingerprint does not match the contents")
        }
        return dataset
    }

    static func hex(_ v: UInt32) -> String { "0x" + String(v, radix: 16, uppercase: false) }
}
