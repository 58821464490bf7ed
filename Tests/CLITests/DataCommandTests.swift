import Foundation
import Testing
import SpikeEvents
import TestSupport

@Suite struct DataCommandTests {
    @Test func inspectOfTheRealSubsetGivesTonicsFigures() throws {
        guard let folder = SharedData.nmnistSmall else { print(SharedData.skipMessage); return }
        let root = try SharedData.makeTemporaryDirectory(); defer { try? FileManager.default.removeItem(at: root) }
        let spk = root.appendingPathComponent("small.spk").path
        let prepared = try CLIRunner.run(["data", "prepare", folder.path, "-o", spk, "--quiet"])
        #expect(prepared.status == 0, "\(prepared.stderr)")
        #expect(prepared.stdout.hasPrefix("prepared 1000 recordings"))
        let result = try CLIRunner.run(["data", "inspect", spk, "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        let stats = try JSONDecoder().decode(DatasetStatistics.self, from: Data(result.stdout.utf8))
        #expect(stats.recordings == 1000)
        #expect((stats.rawEvents.mean * 10).rounded() / 10 == 4133.2)
        #expect((stats.denoisedEvents.mean * 10).rounded() / 10 == 3815.8)
        #expect((stats.frames.mean * 10).rounded() / 10 == 150.2)
        #expect(stats.recordingsPerClass.reduce(0, +) == 1000)
        // Reading the raw folder directly gives the same statistics as the prepared file.
        let direct = try CLIRunner.run(["data", "inspect", folder.path, "--json"])
        #expect(direct.stdout == result.stdout)
    }

    @Test func badInputIsOneLineAndANonZeroExit() throws {
        let root = try SharedData.makeTemporaryDirectory(); defer { try? FileManager.default.removeItem(at: root) }
        let tree = root.appendingPathComponent("Train/4")
        try FileManager.default.createDirectory(at: tree, withIntermediateDirectories: true)
        try Data([1, 2, 3, 4, 5, 6, 7]).write(to: tree.appendingPathComponent("00001.bin"))
        let spk = root.appendingPathComponent("out.spk")
        let result = try CLIRunner.run(["data", "prepare", root.path, "-o", spk.path, "--quiet"])
        #expect(result.status != 0)
        let lines = result.stderr.split(separator: "\n")
        #expect(lines.count == 1, "\(result.stderr)")
        #expect(result.stderr.contains("00001.bin: byte 5: truncated"))
        #expect(!FileManager.default.fileExists(atPath: spk.path), "no partial output")

        let missing = try CLIRunner.run(["data", "inspect", root.appendingPathComponent("nope.spk").path])
        #expect(missing.status != 0)
        #expect(missing.stderr.contains("nope.spk: no such file or folder"))

        let badWindow = try CLIRunner.run(["data", "inspect", root.path, "--window-us", "0"])
        #expect(badWindow.status != 0)
        #expect(badWindow.stderr.contains("--window-us must be >= 1"))
    }

    @Test func aDamagedPreparedFileIsRefused() throws {
        let root = try SharedData.makeTemporaryDirectory(); defer { try? FileManager.default.removeItem(at: root) }
        var bytes = PreparedFile.encode(EventDataset(recordings: RandomRecordings.make(count: 3, seed: 1)))
        bytes[100] ^= 1
        let spk = root.appendingPathComponent("bad.spk")
        try Data(bytes).write(to: spk)
        let result = try CLIRunner.run(["data", "inspect", spk.path])
        #expect(result.status != 0)
        #expect(result.stderr.contains("bad.spk: checksum mismatch"))
    }

    /// The dataset and the frame caches are mapped and verified once per node: a byte flipped
    /// in either after that is caught before training, naming the file.
    @Test func aByteFlippedInADatasetOrFrameCacheIsRefusedNamingTheFile() throws {
        let root = try SharedData.makeTemporaryDirectory(); defer { try? FileManager.default.removeItem(at: root) }
        let data = root.appendingPathComponent("d.spk")
        #expect(try CLIRunner.run(["data", "synth", "-o", data.path, "--count", "60", "--seed", "1"]).status == 0)
        let spec = root.appendingPathComponent("fc.yaml")
        try "name: fc\ndata: {train: \(data.path)}\ncv: {folds: 2}\nepochs: 1\ngrid: {hidden: [8]}\nfixed: {batch_size: 16}\n"
            .write(to: spec, atomically: true, encoding: .utf8)
        let results = root.appendingPathComponent("r")
        let dir = results.appendingPathComponent("fc")
        func sweep() throws -> CLIRunner.Result {
            // Forget the recorded rows so that the tasks (and their frame loading) run again.
            for file in ["folds.csv", "epochs.csv"] { try? FileManager.default.removeItem(at: dir.appendingPathComponent(file)) }
            return try CLIRunner.run(["sweep", spec.path, "--results", results.path, "--quiet"])
        }
        func flip(_ url: URL, at fraction: Double) throws {
            var bytes = [UInt8](try Data(contentsOf: url))
            bytes[Int(Double(bytes.count) * fraction)] ^= 0x10
            try Data(bytes).write(to: url)
        }
        let first = try sweep()
        try #require(first.status == 0, "\(first.stderr)")
        let caches = try FileManager.default.contentsOfDirectory(atPath: dir.appendingPathComponent("frames").path).filter { $0.hasSuffix(".spkf") }
        let cache = dir.appendingPathComponent("frames").appendingPathComponent(try #require(caches.first))
        #expect(caches.count == 1)
        #expect(try sweep().status == 0, "verified once, then used as it is")

        try flip(cache, at: 0.6)
        let damagedCache = try sweep()
        #expect(damagedCache.status == 74, "\(damagedCache.stderr)")
        #expect(damagedCache.stderr.contains("\(cache.path): damaged frame cache (section "), "\(damagedCache.stderr)")
        try FileManager.default.removeItem(at: cache)
        #expect(try sweep().status == 0, "a deleted cache is rebuilt")

        try flip(data, at: 0.6)
        let damagedData = try sweep()
        #expect(damagedData.status != 0)
        #expect(damagedData.stderr.contains("\(data.path): checksum mismatch"), "\(damagedData.stderr)")
        #expect(damagedData.stderr.split(separator: "\n").filter { $0.hasPrefix("Error: ") }.count == 1)
    }
}

/// `spikesweep data bench` through the real binary: no stored tonic figure, and with
/// `--compare-tonic` tonic timed on the same recordings in the same run.
@Suite struct DataBenchTests {
    /// A Python with tonic and numpy, from `SPIKESWEEP_TEST_TONIC_PYTHON`.
    static var tonicPython: String? {
        ProcessInfo.processInfo.environment["SPIKESWEEP_TEST_TONIC_PYTHON"].flatMap { $0.isEmpty ? nil : $0 }
    }

    static let skipMessage = "skipped: no Python with tonic (set SPIKESWEEP_TEST_TONIC_PYTHON to one with tonic "
        + "and numpy to run the side-by-side test)"

    /// A small synthetic prepared file.
    static func synthetic(_ root: URL) throws -> String {
        let file = root.appendingPathComponent("synthetic.spk").path
        let made = try CLIRunner.run(["data", "synth", "-o", file, "--count", "12", "--seed", "3"])
        #expect(made.status == 0, "\(made.stderr)")
        return file
    }

    @Test func withoutComparisonThereIsNoTonicFigure() throws {
        let root = try SharedData.makeTemporaryDirectory(); defer { try? FileManager.default.removeItem(at: root) }
        let file = try Self.synthetic(root)
        let text = try CLIRunner.run(["data", "bench", file, "--repeats", "1"])
        #expect(text.status == 0, "\(text.stderr)")
        #expect(text.stdout.contains("tonic: not compared"), "\(text.stdout)")
        #expect(!text.stdout.contains("speed-up"), "\(text.stdout)")
        let json = try CLIRunner.run(["data", "bench", file, "--repeats", "2", "--recordings", "5", "--json"])
        #expect(json.status == 0, "\(json.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        #expect(object["recordings"] as? Int == 5 && object["repeats"] as? Int == 2)
        #expect((object["frames"] as? Int ?? 0) > 0)
        #expect(object["tonic"] == nil && object["speedupOverTonic"] == nil)
    }

    @Test func aPythonThatCannotRunOrLacksTonicIsOneLine() throws {
        let root = try SharedData.makeTemporaryDirectory(); defer { try? FileManager.default.removeItem(at: root) }
        let file = try Self.synthetic(root)
        let missing = try CLIRunner.run(["data", "bench", file, "--compare-tonic", "/nonexistent/python3"])
        #expect(missing.status != 0)
        #expect(missing.stderr.split(separator: "\n").count == 1, "\(missing.stderr)")
        #expect(missing.stderr.contains("--compare-tonic: /nonexistent/python3"), "\(missing.stderr)")
        #expect(missing.stdout.isEmpty, "measured before checking the Python: \(missing.stdout)")

        let python = "/usr/bin/python3"
        guard FileManager.default.isExecutableFile(atPath: python) else { print("skipped: \(python) not found"); return }
        guard try CLIRunner.run(executable: URL(fileURLWithPath: python), ["-c", "import tonic"]).status != 0 else {
            print("skipped: \(python) has tonic, so it cannot stand for a Python without it"); return
        }
        let lacking = try CLIRunner.run(["data", "bench", file, "--compare-tonic", python])
        #expect(lacking.status != 0)
        #expect(lacking.stderr.split(separator: "\n").count == 1, "\(lacking.stderr)")
        #expect(lacking.stderr.contains("--compare-tonic: \(python) has no module"), "\(lacking.stderr)")
        #expect(lacking.stderr.contains("pip install tonic"), "\(lacking.stderr)")
    }

    /// A tiny side-by-side run: tonic framed the same recordings into as many frames per
    /// repeat as spikesweep, and the ratio is the quotient of the two medians.
    @Test func aComparisonTimesTonicOnTheSameRecordings() throws {
        guard let python = Self.tonicPython else { print(Self.skipMessage); return }
        let root = try SharedData.makeTemporaryDirectory(); defer { try? FileManager.default.removeItem(at: root) }
        let file = try Self.synthetic(root)
        let run = try CLIRunner.run(["data", "bench", file, "--repeats", "2", "--recordings", "6", "--compare-tonic", python, "--json"])
        #expect(run.status == 0, "\(run.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        let tonic = try #require(object["tonic"] as? [String: Any])
        let ours = try #require(object["framingMedianMillisecondsPerRecording"] as? Double)
        let theirs = try #require(tonic["medianMillisecondsPerRecording"] as? Double)
        let speedup = try #require(object["speedupOverTonic"] as? Double)
        #expect(ours > 0 && theirs > 0)
        #expect(abs(speedup - theirs / ours) <= 1e-9 * speedup)
        #expect(tonic["repeats"] as? Int == 2)
        #expect(tonic["frames"] as? Int == 2 * (object["frames"] as? Int ?? -1), "\(run.stdout)")
        #expect(!(tonic["tonicVersion"] as? String ?? "").isEmpty)
        // The framing options reach tonic too: the same frame counts without denoising and
        // for the first saccade only.
        for options in [["--no-denoise"], ["--first-saccade"]] {
            let run = try CLIRunner.run(["data", "bench", file, "--repeats", "1", "--recordings", "4", "--compare-tonic", python,
                                         "--json"] + options)
            #expect(run.status == 0, "\(run.stderr)")
            let object = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
            let tonic = try #require(object["tonic"] as? [String: Any])
            #expect(tonic["frames"] as? Int == object["frames"] as? Int, "\(options): \(run.stdout)")
        }
    }
}
