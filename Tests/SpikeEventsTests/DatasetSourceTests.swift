import Foundation
import SpikeEvents
import SpikeSupport
import TestSupport
import Testing

@Suite struct DatasetSourceTests {
    let recordings = RandomRecordings.make(count: 30, seed: 5)

    func writeTree(_ root: URL) throws {
        for (i, r) in recordings.enumerated() {
            let folder = root.appendingPathComponent("Train/\(r.label)")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            try Data(NMNISTCodec.encode(r)).write(to: folder.appendingPathComponent(String(format: "%05d.bin", i)))
        }
    }

    /// The tree's recordings in the order every source yields them: by digit, then file name.
    var treeOrder: [Recording] {
        recordings.indices.sorted { (recordings[$0].label, $0) < (recordings[$1].label, $1) }.map { recordings[$0] }
    }

    @Test func readsAnExtractedTreeInDigitThenNameOrder() throws {
        let root = try SharedData.makeTemporaryDirectory(); defer { try? FileManager.default.removeItem(at: root) }
        try writeTree(root)
        let source = try DatasetSource.detect(root.path)
        #expect(source == .tree(root: root.appendingPathComponent("Train").path))
        #expect(source.impliedSplit == .train)
        let dataset = try source.read()
        #expect(dataset.count == 30)
        #expect(Array(dataset.labels) == treeOrder.map(\.label))
        #expect(Array(dataset.times) == treeOrder.flatMap(\.times))
        #expect(Array(dataset.inputs) == treeOrder.flatMap(\.inputs))
    }

    @Test func readsTheOfficialZipWithoutExtracting() throws {
        let root = try SharedData.makeTemporaryDirectory(); defer { try? FileManager.default.removeItem(at: root) }
        var writer = ZipWriter()
        for (i, r) in recordings.enumerated() {
            writer.add(name: "Train/\(r.label)/\(String(format: "%05d", i)).bin", contents: NMNISTCodec.encode(r))
        }
        let zip = root.appendingPathComponent("Train.zip")
        try Data(writer.finish()).write(to: zip)
        let source = try DatasetSource.detect(zip.path)
        #expect(source == .zip(path: zip.path))
        let dataset = try source.read()
        #expect(dataset.split == .train)
        #expect(Array(dataset.times) == treeOrder.flatMap(\.times))
        #expect(Array(dataset.labels) == treeOrder.map(\.label))
        // The same recordings from the extracted tree give the same fingerprint.
        try writeTree(root.appendingPathComponent("x"))
        let tree = try DatasetSource.detect(root.appendingPathComponent("x").path).read()
        #expect(PreparedFile.fingerprint(of: tree) == PreparedFile.fingerprint(of: dataset))
    }

    @Test func readsABs2FolderInLabelListOrder() throws {
        let root = try SharedData.makeTemporaryDirectory(); defer { try? FileManager.default.removeItem(at: root) }
        var list = "#sample #class\n"
        for (i, r) in recordings.enumerated().reversed() {
            try Data(NMNISTCodec.encode(r)).write(to: root.appendingPathComponent("\(i + 1).bs2"))
            list += "\(i + 1)\t\(r.label)\n"
        }
        try list.write(to: root.appendingPathComponent("labels.txt"), atomically: true, encoding: .utf8)
        let dataset = try DatasetSource.detect(root.path).read()
        #expect(Array(dataset.labels) == recordings.reversed().map(\.label))
        #expect(dataset.names.first == "30.bs2")
    }

    @Test func reportsMissingLabelsAndMissingFiles() throws {
        let root = try SharedData.makeTemporaryDirectory(); defer { try? FileManager.default.removeItem(at: root) }
        for i in 1...3 { try Data(NMNISTCodec.encode(recordings[i])).write(to: root.appendingPathComponent("\(i).bs2")) }
        let labels = root.appendingPathComponent("l.txt")
        try "1 0\n2 1\n".write(to: labels, atomically: true, encoding: .utf8)
        let missing = #expect(throws: FileError.self) { try DatasetSource.detect(root.path).read() }
        #expect(missing?.description == "\(root.path)/3.bs2: label missing: not listed in \(labels.path)")
        try "1 0\n2 1\n3 2\n4 3\n".write(to: labels, atomically: true, encoding: .utf8)
        let noFile = #expect(throws: FileError.self) { try DatasetSource.detect(root.path).read() }
        #expect(noFile?.description == "\(labels.path): line 4: sample 4 has no file 4.bs2 in \(root.path)")
    }

    @Test func namesTheBadFileInsideATree() throws {
        let root = try SharedData.makeTemporaryDirectory(); defer { try? FileManager.default.removeItem(at: root) }
        try writeTree(root)
        let bad = root.appendingPathComponent("Train/7/99999.bin")
        try Data([1, 2, 3, 4, 5, 6]).write(to: bad)
        let error = #expect(throws: FileError.self) { try DatasetSource.detect(root.path).read() }
        #expect(error?.description.hasPrefix("\(bad.path): byte 5: truncated") == true)
    }

    @Test func missingPathsAndUnknownFolders() throws {
        let root = try SharedData.makeTemporaryDirectory(); defer { try? FileManager.default.removeItem(at: root) }
        let nowhere = #expect(throws: FileError.self) { try DatasetSource.detect(root.path + "/nope") }
        #expect(nowhere?.description == "\(root.path)/nope: no such file or folder")
        #expect(throws: FileError.self) { try DatasetSource.detect(root.path) }
    }

    @Test func corruptZipsAreErrorsNotCrashes() throws {
        var writer = ZipWriter()
        writer.add(name: "Test/3/00001.bin", contents: NMNISTCodec.encode(recordings[3]))
        let good = writer.finish()
        #expect(throws: Never.self) { try ZipArchive(path: "t.zip", data: Data(good)) }
        // Flip a byte inside the deflated data: CRC or inflate must catch it.
        var flipped = good
        flipped[60] ^= 0xFF  // past the 30-byte local header and the 16-byte name
        let archive = try ZipArchive(path: "t.zip", data: Data(flipped))
        let error = #expect(throws: FileError.self) { try archive.contents(of: archive.entries[0]) }
        #expect(error?.description.hasPrefix("t.zip") == true)
        // Truncated: the end record is gone.
        let cut = #expect(throws: FileError.self) { try ZipArchive(path: "t.zip", data: Data(good.prefix(good.count - 10))) }
        #expect(cut?.description == "t.zip: not a zip archive (no end-of-central-directory record)")
    }
}
