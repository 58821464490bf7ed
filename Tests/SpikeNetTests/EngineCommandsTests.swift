import Foundation
import Testing
import SpikeNet
import TestSupport

/// `spikesweep train`, `evaluate` and `bench` through the real binary.
@Suite struct EngineCommandsTests {
    static func expectOneLineFailure(_ arguments: [String], mentioning text: String,
                                     sourceLocation: SourceLocation = #_sourceLocation) throws {
        let result = try CLIRunner.run(arguments)
        #expect(result.status != 0, "\(arguments) succeeded", sourceLocation: sourceLocation)
        let lines = result.stderr.split(separator: "\n")
        #expect(lines.count == 1, "\(arguments): \(result.stderr)", sourceLocation: sourceLocation)
        #expect(result.stderr.contains(text), "\(arguments): \(result.stderr)", sourceLocation: sourceLocation)
    }

    @Test func impossibleParametersAreOneLineErrors() throws {
        let data = SharedData.nmnistSmall?.path ?? "/nonexistent"
        try Self.expectOneLineFailure(["train", "--data", data, "--beta", "0"], mentioning: "beta must be in (0, 1]")
        try Self.expectOneLineFailure(["train", "--data", data, "--beta", "1.5"], mentioning: "beta")
        try Self.expectOneLineFailure(["train", "--data", data, "--hidden", "0"], mentioning: "hidden must be >= 1")
        try Self.expectOneLineFailure(["train", "--data", data, "--window-us", "0"], mentioning: "--window-us must be >= 1")
        try Self.expectOneLineFailure(["train", "--data", data, "--ratio", "0.8/1.2"], mentioning: "in [0, 1]")
        try Self.expectOneLineFailure(["train", "--data", data, "--ratio", "abc"], mentioning: "--ratio")
        try Self.expectOneLineFailure(["train", "--data", data, "--batch-size", "0"], mentioning: "--batch-size must be >= 1")
        try Self.expectOneLineFailure(["bench", "--hidden", "0"], mentioning: "--hidden must be >= 1")
        try Self.expectOneLineFailure(["train", "--data", "/nonexistent/data.spk"], mentioning: "/nonexistent/data.spk")
    }

    @Test func badModelFilesAreOneLineErrors() throws {
        let dir = try SharedData.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let data = SharedData.nmnistSmall?.path ?? "/nonexistent"
        var bytes = ModelFileTests.model().encoded()
        let wrongShape = dir.appendingPathComponent("shape.safetensors")
        let (json, raw) = ModelFileTests.header(ModelFileTests.model())
        try Data(ModelFileTests.file(json: json.replacingOccurrences(of: "[10,37]", with: "[10,36]"), data: raw)).write(to: wrongShape)
        try Self.expectOneLineFailure(["evaluate", "--model", wrongShape.path, "--data", data], mentioning: "shape.safetensors")
        bytes[5] = 0x40  // header length beyond the file
        let corrupt = dir.appendingPathComponent("corrupt.safetensors")
        try Data(bytes).write(to: corrupt)
        try Self.expectOneLineFailure(["evaluate", "--model", corrupt.path, "--data", data], mentioning: "corrupt header")
    }

    /// train → save → evaluate on the real subset, and bench on synthetic frames, with --json.
    @Test func trainSavesAModelThatEvaluateReads() throws {
        guard let folder = SharedData.nmnistSmall else { print(SharedData.skipMessage); return }
        let dir = try SharedData.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let model = dir.appendingPathComponent("m.safetensors").path
        let train = try CLIRunner.run(["train", "--data", folder.path, "--hidden", "64", "--epochs", "2", "--threads", "2",
                                       "--save", model])
        #expect(train.status == 0, "\(train.stderr)")
        #expect(train.stdout.split(separator: "\n").filter { $0.hasPrefix("epoch ") }.count == 2)
        let loaded = try ModelFile.read(path: model)
        #expect(loaded.parameters.shape.hidden == 64)
        let evaluate = try CLIRunner.run(["evaluate", "--model", model, "--data", folder.path, "--json"])
        #expect(evaluate.status == 0, "\(evaluate.stderr)")
        let report = try JSONSerialization.jsonObject(with: Data(evaluate.stdout.utf8)) as! [String: Any]
        #expect((report["evaluation"] as! [String: Any])["total"] as? Int == 1000)
        let bench = try CLIRunner.run(["bench", "--hidden", "32", "--threads", "1", "--min-seconds", "0.1", "--json"])
        #expect(bench.status == 0, "\(bench.stderr)")
        let b = try JSONDecoder().decode(BenchmarkReport.self, from: Data(bench.stdout.utf8))
        #expect(b.frames == "synthetic" && b.cases.count == 1 && b.cases[0].recordingsPerSecond > 0 && b.peakRSSMegabytes > 0)
    }
}
