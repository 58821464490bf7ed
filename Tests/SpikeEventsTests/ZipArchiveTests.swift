import Foundation
import SpikeEvents
import SpikeSupport
import TestSupport
import Testing

/// Damaged archives of the kinds that crash or mislead ZIPFoundation 0.9.20, and ZIP64 fields
/// that overflowed this reader's own bounds checks until they were written without sums: each
/// must end in one `FileError` naming the archive and the place, never a trap, and no member
/// listed in the central directory may be dropped silently.
@Suite struct ZipArchiveTests {
    static let members: [(name: String, bytes: [UInt8])] =
        RandomRecordings.make(count: 3, seed: 6, events: 5...30).enumerated().map { i, r in
            ("Train/\(r.label)/\(i).bin", NMNISTCodec.encode(r))
        }

    static let good: ArchiveBytes = {
        var writer = ZipWriter()
        for member in members { writer.add(name: member.name, contents: member.bytes) }
        return ArchiveBytes(bytes: writer.finish())
    }()

    /// Every member's contents, in central-directory order.
    static func readAll(_ bytes: [UInt8]) throws -> [[UInt8]] {
        let archive = try ZipArchive(path: "t.zip", data: Data(bytes))
        return try archive.entries.map { try archive.contents(of: $0) }
    }

    /// The crafted archives are well-formed apart from the damage: with true values they read.
    @Test func craftedZIP64FieldsWithTrueValuesRead() throws {
        let good = Self.good
        let expected = Self.members.map(\.bytes)
        #expect(try Self.readAll(good.bytes) == expected)
        #expect(try Self.readAll(good.zip64(entryCount: 3, size: UInt64(good.centralDirectorySize),
                                            offset: UInt64(good.centralDirectory))) == expected)
        let local = good.read(good.centralEntry(1) + 42, 4)
        #expect(try Self.readAll(good.withZIP64LocalOffset(UInt64(local), entry: 1)) == expected)
    }

    struct Damage: Sendable, CustomTestStringConvertible {
        var testDescription: String
        var bytes: [UInt8]
        var error: String
    }

    static let damages: [Damage] = {
        let good = Self.good
        let size = UInt64(good.centralDirectorySize), offset = UInt64(good.centralDirectory)
        // In a ZIP64 wrapper the end record follows the 56-byte ZIP64 record and the 20-byte locator.
        let locator = good.endRecord + 56, end = good.endRecord + 76
        var pastEnd = good
        pastEnd.write(0xD712_50B5, at: good.centralEntry(1) + 42, 4)
        var badSignature = good
        badSignature.bytes[good.centralEntry(1) + 3] ^= 0x40
        return [
            Damage(testDescription: "local header offset past the end (traps ZIPFoundation's in-memory archive)",
                   bytes: pastEnd.bytes,
                   error: "t.zip: byte 3608301749: corrupt zip: bad local header for \(members[1].name)"),
            Damage(testDescription: "ZIP64 central directory offset 2^63 (traps ZIPFoundation's file archive)",
                   bytes: good.zip64(entryCount: 3, size: size, offset: 1 << 63),
                   error: "t.zip: byte \(end): corrupt zip: central directory (offset 9223372036854775808, \(size) bytes) lies outside the file"),
            Damage(testDescription: "ZIP64 central directory offset + size overflows",
                   bytes: good.zip64(entryCount: 3, size: 0x100, offset: 0x7FFF_FFFF_FFFF_FFF0),
                   error: "t.zip: byte \(end): corrupt zip: central directory (offset 9223372036854775792, 256 bytes) lies outside the file"),
            Damage(testDescription: "ZIP64 entry count 2^63",
                   bytes: good.zip64(entryCount: 1 << 63, size: size, offset: offset),
                   error: "t.zip: byte \(end): corrupt zip: impossible entry count 9223372036854775808"),
            Damage(testDescription: "ZIP64 locator pointing at Int.max",
                   bytes: good.zip64(entryCount: 3, size: size, offset: offset, recordOffset: 0x7FFF_FFFF_FFFF_FFFF),
                   error: "t.zip: byte \(locator): corrupt zip: bad ZIP64 end-of-central-directory offset"),
            Damage(testDescription: "ZIP64 extra field giving a local header offset near Int.max",
                   bytes: good.withZIP64LocalOffset(0x7FFF_FFFF_FFFF_FFF0, entry: 1),
                   error: "t.zip: byte 9223372036854775792: corrupt zip: bad local header for \(members[1].name)"),
            Damage(testDescription: "second central-directory signature damaged (ZIPFoundation lists only the first member)",
                   bytes: badSignature.bytes,
                   error: "t.zip: byte \(good.centralEntry(1)): corrupt zip: bad central directory entry signature"),
        ]
    }()

    @Test(arguments: damages) func damagedArchivesAreOneLineErrors(_ damage: Damage) {
        let error = #expect(throws: FileError.self) { try Self.readAll(damage.bytes) }
        #expect(error?.description == damage.error)
    }

    /// ZIPFoundation ends its listing at an entry flagged as encrypted; this reader lists it and
    /// lets the CRC check judge the contents (here unencrypted, so they read).
    @Test func anEncryptionFlagDoesNotHideAMember() throws {
        var flagged = Self.good
        flagged.bytes[flagged.centralEntry(1) + 8] |= 1
        let archive = try ZipArchive(path: "t.zip", data: Data(flagged.bytes))
        #expect(archive.entries.map(\.name) == Self.members.map(\.name))
        #expect(try Self.readAll(flagged.bytes) == Self.members.map(\.bytes))
    }
}

/// Little-endian fields of an archive written by `ZipWriter` (no archive comment, no extra fields).
struct ArchiveBytes: Sendable {
    var bytes: [UInt8]

    var endRecord: Int { bytes.count - 22 }
    var centralDirectorySize: Int { read(endRecord + 12, 4) }
    var centralDirectory: Int { read(endRecord + 16, 4) }

    func read(_ offset: Int, _ width: Int) -> Int {
        (0..<width).reduce(0) { $0 | Int(bytes[offset + $1]) << (8 * $1) }
    }

    mutating func write(_ value: UInt64, at offset: Int, _ width: Int) {
        bytes.replaceSubrange(offset..<offset + width, with: Self.le(value, width))
    }

    static func le(_ value: UInt64, _ width: Int) -> [UInt8] {
        (0..<width).map { UInt8(truncatingIfNeeded: value >> (8 * UInt64($0))) }
    }

    /// Where central-directory entry `index` starts.
    func centralEntry(_ index: Int) -> Int {
        var o = centralDirectory
        for _ in 0..<index { o += 46 + read(o + 28, 2) + read(o + 30, 2) + read(o + 32, 2) }
        return o
    }

    /// The archive with a ZIP64 end record (giving these values), its locator, and an end record
    /// whose count, size and offset are saturated so that readers must use them.
    func zip64(entryCount: UInt64, size: UInt64, offset: UInt64, recordOffset: UInt64? = nil) -> [UInt8] {
        let body = Array(bytes[..<endRecord])
        let le = Self.le
        let record = le(0x0606_4B50, 4) + le(44, 8) + le(45, 2) + le(45, 2) + le(0, 4) + le(0, 4)
            + le(entryCount, 8) + le(entryCount, 8) + le(size, 8) + le(offset, 8)
        let locator = le(0x0706_4B50, 4) + le(0, 4) + le(recordOffset ?? UInt64(body.count), 8) + le(1, 4)
        let end = le(0x0605_4B50, 4) + le(0, 2) + le(0, 2) + le(0xFFFF, 2) + le(0xFFFF, 2)
            + le(0xFFFF_FFFF, 4) + le(0xFFFF_FFFF, 4) + le(0, 2)
        return body + record + locator + end
    }

    /// The archive with central-directory entry `index`'s local header offset saturated and
    /// given instead by a ZIP64 extended-information extra field.
    func withZIP64LocalOffset(_ localOffset: UInt64, entry index: Int) -> [UInt8] {
        var copy = self
        let o = centralEntry(index)
        let nameEnd = o + 46 + read(o + 28, 2)
        let extra = Self.le(0x0001, 2) + Self.le(8, 2) + Self.le(localOffset, 8)
        copy.write(UInt64(read(o + 30, 2) + extra.count), at: o + 30, 2)
        copy.write(0xFFFF_FFFF, at: o + 42, 4)
        copy.bytes.insert(contentsOf: extra, at: nameEnd)
        copy.write(UInt64(centralDirectorySize + extra.count), at: copy.endRecord + 12, 4)
        return copy.bytes
    }
}
