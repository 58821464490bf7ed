import SpikeEvents
import SpikeSupport
import Testing

@Suite struct NMNISTCodecTests {
    static func event(x: UInt8, y: UInt8, p: UInt8, t: UInt32) -> [UInt8] {
        [x, y, p << 7 | UInt8(t >> 16 & 0x7F), UInt8(t >> 8 & 0xFF), UInt8(t & 0xFF)]
    }

    @Test func decodesTheFiveByteLayout() throws {
        let bytes = Self.event(x: 3, y: 7, p: 1, t: 0x12_3456) + Self.event(x: 33, y: 0, p: 0, t: 0x12_3457)
        let r = try NMNISTCodec.decode(bytes, path: "a.bin", label: 4)
        #expect(r.times == [0x12_3456, 0x12_3457])
        #expect(r.inputs == [UInt16(1156 + 7 * 34 + 3), 33])
        #expect(r.label == 4)
    }

    @Test func overflowMarkersShiftLaterTimestampsAndAreDropped() throws {
        let bytes = Self.event(x: 1, y: 1, p: 0, t: 100) + [0, 240, 0, 0, 0] + Self.event(x: 2, y: 2, p: 0, t: 10)
        let r = try NMNISTCodec.decode(bytes, path: "a.bin", label: 0)
        #expect(r.times == [100, 10 + 8192])
        #expect(r.count == 2)
    }

    @Test func encodeRoundTripsIncludingLongRecordings() throws {
        let r = Recording(name: "x", label: 2, times: [0, 5, 9_000_000, 20_000_000], inputs: [0, 2311, 1156, 35])
        let decoded = try NMNISTCodec.decode(NMNISTCodec.encode(r), path: "x", label: 2)
        #expect(decoded == r)
    }

    struct BadCase: CustomTestStringConvertible, Sendable {
        var name: String
        var bytes: [UInt8]
        var expected: String
        var testDescription: String { name }
    }

    static let badCases: [BadCase] = [
        BadCase(name: "truncated", bytes: event(x: 1, y: 1, p: 0, t: 5) + [1, 2, 3],
                expected: "f.bin: byte 5: truncated: 8 bytes is not a multiple of 5 (3 stray bytes at the end)"),
        BadCase(name: "x out of range", bytes: event(x: 1, y: 1, p: 0, t: 5) + event(x: 34, y: 1, p: 0, t: 6),
                expected: "f.bin: byte 5: event 1 is outside the 34x34 sensor (x=34, y=1)"),
        BadCase(name: "y out of range", bytes: event(x: 0, y: 200, p: 0, t: 5),
                expected: "f.bin: byte 0: event 0 is outside the 34x34 sensor (x=0, y=200)"),
        BadCase(name: "backwards", bytes: event(x: 1, y: 1, p: 0, t: 50) + event(x: 1, y: 2, p: 0, t: 49),
                expected: "f.bin: byte 5: timestamps go backwards at event 1 (t=49 us after 50 us)"),
        BadCase(name: "empty", bytes: [], expected: "f.bin: empty recording (no events)"),
        BadCase(name: "only markers", bytes: [0, 240, 0, 0, 0], expected: "f.bin: empty recording (no events)"),
    ]

    @Test(arguments: badCases)
    func rejectsBadInputWithOneLineNamingTheOffset(_ bad: BadCase) {
        let error = #expect(throws: FileError.self) { try NMNISTCodec.decode(bad.bytes, path: "f.bin", label: 0) }
        #expect(error?.description == bad.expected)
        #expect(error?.description.contains("\n") == false)
    }
}
