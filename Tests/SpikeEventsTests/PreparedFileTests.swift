import Foundation
import SpikeEvents
import SpikeSupport
import TestSupport
import Testing

@Suite struct PreparedFileTests {
    let dataset = EventDataset(split: .test, recordings: RandomRecordings.make(count: 25, seed: 9))

    @Test func roundTripsThroughAFile() throws {
        let root = try SharedData.makeTemporaryDirectory(); defer { try? FileManager.default.removeItem(at: root) }
        let path = root.appendingPathComponent("d.spk").path
        try PreparedFile.write(dataset, to: path)
        let loaded = try EventDataset.load(prepared: path)
        #expect(loaded == dataset)
        #expect(PreparedFile.hasMagic(path: path))
        #expect(try DatasetSource.detect(path) == .prepared(path: path))
        // No temporary file is left behind.
        #expect(try FileManager.default.contentsOfDirectory(atPath: root.path) == ["d.spk"])
    }

    @Test func fingerprintFollowsContentNotNames() {
        var renamed = dataset
        renamed.names = renamed.names.map { "other-" + $0 }
        #expect(PreparedFile.fingerprint(of: renamed) == PreparedFile.fingerprint(of: dataset))
        var times = Array(dataset.times)
        times[3] += 1
        let changed = EventDataset(split: dataset.split, names: dataset.names, labels: dataset.labels, eventStart: dataset.eventStart,
                                   times: SharedBuffer(times), inputs: dataset.inputs)
        #expect(PreparedFile.fingerprint(of: changed) != PreparedFile.fingerprint(of: dataset))
    }

    @Test func aFlippedBitIsABadChecksum() {
        var bytes = PreparedFile.encode(dataset)
        bytes[200] ^= 0x04
        let error = #expect(throws: FileError.self) { try PreparedFile.decode(bytes, path: "d.spk") }
        #expect(error?.description.hasPrefix("d.spk: checksum mismatch") == true)
    }

    @Test func anUnknownVersionIsNamed() {
        var bytes = PreparedFile.encode(dataset)
        bytes[8] = 7
        let error = #expect(throws: FileError.self) { try PreparedFile.decode(bytes, path: "d.spk") }
        #expect(error?.description == "d.spk: byte 8: unknown prepared-file version 7 (this build reads version 1); re-run 'spikesweep data prepare'")
    }

    @Test func truncationAndForeignFilesAreNamed() {
        let bytes = PreparedFile.encode(dataset)
        let cut = #expect(throws: FileError.self) { try PreparedFile.decode(Array(bytes.prefix(bytes.count - 3)), path: "d.spk") }
        #expect(cut?.description.contains("truncated or damaged") == true)
        let foreign = #expect(throws: FileError.self) { try PreparedFile.decode(Array("hello".utf8), path: "d.spk") }
        #expect(foreign?.description.contains("not a prepared dataset") == true)
    }
}
