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
    package static func fingerprint(of dataset: EventDataset) -> UInt64 { dataset.fingerprint }

    static func padding(_ n: Int) -> Int { (8 - n % 8) % 8 }

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

    /// Maps a prepared file read-only (every process of a node shares its pages) and checks
    /// it: its structure always (header, trailer, section sizes, offsets, labels), its contents
    /// (the CRC of every byte, every event, the fingerprint) once per node and file
    /// (`NodeVerification`), so a damaged file is an error naming it, never a wrong result.
    package static func read(path: String) throws -> EventDataset {
        let file = try MappedFile(path: path)
        let layout = try Layout(file.bytes, path: path)
        if NodeVerification.isVerified(file, kind: verificationKind) {
            try layout.checkStructure(file.bytes, path: path)
        } else {
            try layout.verifyContents(file.bytes, path: path)
            NodeVerification.markVerified(file, kind: verificationKind)
        }
        return layout.dataset(mapping: file)
    }

    static let verificationKind = "prepared dataset v\(version)"

    /// Validates and decodes the bytes of a prepared file (copied into memory).
    package static func decode(_ bytes: [UInt8], path: String) throws -> EventDataset {
        try bytes.withUnsafeBytes { b in
            let layout = try Layout(b, path: path)
            try layout.verifyContents(b, path: path)
            return layout.dataset(copying: b)
        }
    }

    /// Where the sections of a prepared file lie, from its header; checked against its size.
    struct Layout {
        let split: EventDataset.Split
        let n: Int, e: Int, l: Int
        let storedFingerprint: UInt64
        let labelsAt: Int, offsetsAt: Int, timesAt: Int, inputsAt: Int, namesAt: Int

        /// Reads the header: magic, version, trailer and section sizes against the file size.
        init(_ b: UnsafeRawBufferPointer, path: String) throws {
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
            let splitCode = b[12]
            guard splitCode <= 2 else { throw FileError.atByte(path, 12, "unknown split code \(splitCode)") }
            split = splitCode == 1 ? .train : splitCode == 2 ? .test : .unknown
            let n64 = u64(16), e64 = u64(24), l64 = u64(32)
            guard n64 < 1 << 32, e64 < 1 << 40, l64 < 1 << 40 else { throw FileError.atByte(path, 16, "implausible section sizes") }
            (n, e, l) = (Int(n64), Int(e64), Int(l64))
            storedFingerprint = u64(40)
            labelsAt = headerSize
            offsetsAt = labelsAt + n + padding(n)
            timesAt = offsetsAt + (n + 1) * 8
            inputsAt = timesAt + e * 4
            namesAt = inputsAt + e * 2 + padding(inputsAt + e * 2)
            let endAt = namesAt + l + padding(l)
            guard endAt + 8 == b.count else {
                throw FileError.atByte(path, 16, "section sizes (\(n) recordings, \(e) events) do not match the file size \(b.count)")
            }
        }

        /// Checks labels (0–9) and event offsets (monotone, spanning the events). O(recordings).
        func checkStructure(_ b: UnsafeRawBufferPointer, path: String) throws {
            func u64(_ o: Int) -> UInt64 { UInt64(littleEndian: b.loadUnaligned(fromByteOffset: o, as: UInt64.self)) }
            if let bad = (0..<n).first(where: { b[labelsAt + $0] > 9 }) {
                throw FileError.atByte(path, labelsAt + bad, "label \(b[labelsAt + bad]) of recording \(bad) is outside 0-9")
            }
            guard u64(offsetsAt) == 0, u64(offsetsAt + n * 8) == UInt64(e) else {
                throw FileError.atByte(path, offsetsAt, "event offsets do not span the \(e) events")
            }
            for r in 0..<n {
                let lo = u64(offsetsAt + r * 8), hi = u64(offsetsAt + (r + 1) * 8)
                guard lo < hi else {
                    throw FileError.atByte(path, offsetsAt + r * 8, "recording \(r) has \(lo > hi ? "negative" : "no") events")
                }
            }
        }

        /// Checks every byte (CRC), the structure, every event (input < 2312, times
        /// non-decreasing within a recording) and the stored fingerprint. O(file size).
        func verifyContents(_ b: UnsafeRawBufferPointer, path: String) throws {
            let storedCRC = UInt32(littleEndian: b.loadUnaligned(fromByteOffset: b.count - 8, as: UInt32.self))
            let actualCRC = Checksum.crc32(UnsafeRawBufferPointer(rebasing: b[0..<(b.count - 8)]))
            guard storedCRC == actualCRC else {
                throw FileError(path: path, "checksum mismatch (stored \(hex(storedCRC)), computed \(hex(actualCRC))): the file is damaged; prepare it again")
            }
            try checkStructure(b, path: path)
            let times = UnsafeRawBufferPointer(rebasing: b[timesAt..<(timesAt + e * 4)]).bindMemory(to: UInt32.self)
            let inputs = UnsafeRawBufferPointer(rebasing: b[inputsAt..<(inputsAt + e * 2)]).bindMemory(to: UInt16.self)
            for r in 0..<n {
                let lo = Int(b.loadUnaligned(fromByteOffset: offsetsAt + r * 8, as: UInt64.self))
                let hi = Int(b.loadUnaligned(fromByteOffset: offsetsAt + (r + 1) * 8, as: UInt64.self))
                var previous: UInt32 = 0
                for i in lo..<hi {
                    guard inputs[i] < NMNIST.inputCount else {
                        throw FileError.atByte(path, inputsAt + i * 2, "event \(i) has input index \(inputs[i]) >= 2312")
                    }
                    guard times[i] >= previous else {
                        throw FileError.atByte(path, timesAt + i * 4, "timestamps go backwards in recording \(r)")
                    }
                    previous = times[i]
                }
            }
            let computed = EventDataset.fingerprint(
                labels: SharedBuffer(UnsafeRawBufferPointer(rebasing: b[labelsAt..<(labelsAt + n)]).bindMemory(to: UInt8.self), owner: nil),
                eventStart: SharedBuffer(UnsafeRawBufferPointer(rebasing: b[offsetsAt..<(offsetsAt + (n + 1) * 8)]).bindMemory(to: Int.self), owner: nil),
                times: SharedBuffer(times, owner: nil), inputs: SharedBuffer(inputs, owner: nil))
            guard computed == storedFingerprint else { throw FileError.atByte(path, 40, "fingerprint does not match the contents") }
        }

        func names(_ b: UnsafeRawBufferPointer, path: String) -> [String] {
            let text = String(decoding: UnsafeRawBufferPointer(rebasing: b[namesAt..<(namesAt + l)]), as: UTF8.self)
            let names = n == 0 ? [] : text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            return names.count == n ? names : (0..<n).map { "recording \($0)" }
        }

        /// The dataset as views into the mapped file.
        func dataset(mapping file: MappedFile) -> EventDataset {
            EventDataset(split: split, names: names(file.bytes, path: file.path),
                         labels: file.buffer(of: UInt8.self, at: labelsAt, count: n),
                         eventStart: file.buffer(of: Int.self, at: offsetsAt, count: n + 1),
                         times: file.buffer(of: UInt32.self, at: timesAt, count: e),
                         inputs: file.buffer(of: UInt16.self, at: inputsAt, count: e), fingerprint: storedFingerprint)
        }

        /// The dataset copied out of `b`.
        func dataset(copying b: UnsafeRawBufferPointer) -> EventDataset {
            func array<T>(_ at: Int, _ count: Int, _: T.Type) -> [T] {
                [T](unsafeUninitializedCapacity: count) { buffer, initialized in
                    UnsafeMutableRawBufferPointer(buffer).copyMemory(from: UnsafeRawBufferPointer(rebasing: b[at..<(at + count * MemoryLayout<T>.stride)]))
                    initialized = count
                }
            }
            return EventDataset(split: split, names: names(b, path: ""), labels: SharedBuffer(array(labelsAt, n, UInt8.self)),
                                eventStart: SharedBuffer(array(offsetsAt, n + 1, Int.self)),
                                times: SharedBuffer(array(timesAt, e, UInt32.self)), inputs: SharedBuffer(array(inputsAt, e, UInt16.self)),
                                fingerprint: storedFingerprint)
        }
    }

    static func hex(_ v: UInt32) -> String { "0x" + String(v, radix: 16, uppercase: false) }
}
