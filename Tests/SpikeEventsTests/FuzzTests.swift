import Foundation
import SpikeEvents
import SpikeSupport
import TestSupport
import Testing

/// Random and mutated bytes fed to every decoder: each must either decode or throw a
/// one-line `FileError`; a crash (trap) fails the whole test run.
@Suite struct FuzzTests {
    static let iterations = 3000

    static func mutate(_ bytes: [UInt8], _ rng: inout Xoshiro256) -> [UInt8] {
        var out = bytes
        switch rng.nextInt(below: 5) {
        case 0 where !out.isEmpty:  // flip bits
            for _ in 0..<(1 + rng.nextInt(below: 8)) { out[rng.nextInt(below: out.count)] ^= UInt8(1 << rng.nextInt(below: 8)) }
        case 1 where !out.isEmpty:  // truncate
            out = Array(out.prefix(rng.nextInt(below: out.count)))
        case 2 where !out.isEmpty:  // overwrite a run with random bytes
            let start = rng.nextInt(below: out.count)
            for i in start..<min(out.count, start + 1 + rng.nextInt(below: 16)) { out[i] = UInt8(truncatingIfNeeded: rng.next()) }
        case 3:  // insert bytes
            let at = out.isEmpty ? 0 : rng.nextInt(below: out.count)
            out.insert(contentsOf: (0..<(1 + rng.nextInt(below: 9))).map { _ in UInt8(truncatingIfNeeded: rng.next()) }, at: at)
        default:  // fully random
            out = (0..<rng.nextInt(below: 400)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        }
        return out
    }

    static func expectOnlyDataErrors(_ body: () throws -> Void) {
        do { try body() } catch let error as FileError {
            #expect(!error.description.contains("\n"))
        } catch {
            Issue.record("unexpected error type: \(error)")
        }
    }

    @Test func nativeDecoder() {
        var rng = Xoshiro256(seed: 11)
        let seeds = RandomRecordings.make(count: 5, seed: 3).map(NMNISTCodec.encode)
        for i in 0..<Self.iterations {
            let bytes = Self.mutate(seeds[i % seeds.count], &rng)
            Self.expectOnlyDataErrors { _ = try NMNISTCodec.decode(bytes, path: "fuzz.bin", label: 0) }
        }
    }

    @Test func preparedFileDecoder() {
        var rng = Xoshiro256(seed: 12)
        let good = PreparedFile.encode(EventDataset(recordings: RandomRecordings.make(count: 4, seed: 4, events: 5...20)))
        for _ in 0..<Self.iterations {
            let bytes = Self.mutate(good, &rng)
            Self.expectOnlyDataErrors { _ = try PreparedFile.decode(bytes, path: "fuzz.spk") }
        }
    }

    @Test func zipReader() {
        var rng = Xoshiro256(seed: 13)
        var writer = ZipWriter()
        for (i, r) in RandomRecordings.make(count: 3, seed: 6, events: 5...30).enumerated() {
            writer.add(name: "Train/\(r.label)/\(i).bin", contents: NMNISTCodec.encode(r))
        }
        let good = writer.finish()
        for _ in 0..<Self.iterations {
            let bytes = Self.mutate(good, &rng)
            Self.expectOnlyDataErrors {
                let archive = try ZipArchive(path: "fuzz.zip", data: Data(bytes))
                for entry in archive.entries.prefix(8) { _ = try archive.contents(of: entry) }
            }
        }
    }

    @Test func labelListParser() {
        var rng = Xoshiro256(seed: 14)
        let good = Array("#sample #class\n1\t5\n2\t0\n3\t4\n".utf8)
        for _ in 0..<Self.iterations {
            let text = String(decoding: Self.mutate(good, &rng), as: UTF8.self)
            Self.expectOnlyDataErrors { _ = try LabelList(text: text, path: "fuzz.txt") }
        }
    }
}
