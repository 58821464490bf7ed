import Foundation
import SpikeEvents
import SpikeNet
import SpikeSupport
import TestSupport
import Testing

@Suite struct ModelFileTests {
    static func model(hidden: Int = 37) -> ModelFile {
        var rng = Xoshiro256(seed: 12)
        var h = Hyperparameters()
        h.hidden = hidden
        h.beta = 0.7
        h.windowMicros = 1000
        h.targetRatio = TargetRatio(correct: 0.95, incorrect: 0.05)
        return ModelFile(parameters: .pytorchDefault(shape: NetworkShape(hidden: hidden), rng: &rng), metadata: ModelMetadata(h))
    }

    @Test func roundTripsParametersAndMetadata() throws {
        let dir = try SharedData.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("m.safetensors").path
        let original = Self.model()
        try original.write(path: path)
        let loaded = try ModelFile.read(path: path)
        #expect(loaded == original)
        #expect(loaded.metadata.hyperparameters.beta == 0.7)
    }

    /// The layout a safetensors reader expects: u64 header length, JSON with PyTorch's
    /// state-dict names, [out, in] shapes and data offsets, metadata strings, raw f32 data.
    @Test func usesTheSafetensorsLayoutWithPyTorchNames() throws {
        let m = Self.model()
        let bytes = m.encoded()
        let n = bytes[0..<8].enumerated().reduce(0) { $0 | (Int($1.element) << (8 * $1.offset)) }
        #expect(n % 8 == 0)
        let json = try JSONSerialization.jsonObject(with: Data(bytes[8..<(8 + n)])) as! [String: Any]
        let fc1 = json["fc1.weight"] as! [String: Any]
        #expect(fc1["dtype"] as? String == "F32")
        #expect(fc1["shape"] as? [Int] == [37, 2312])
        #expect((json["fc2.weight"] as! [String: Any])["shape"] as? [Int] == [10, 37])
        #expect((json["fc1.bias"] as! [String: Any])["shape"] as? [Int] == [37])
        #expect((json["fc2.bias"] as! [String: Any])["shape"] as? [Int] == [10])
        let meta = json["__metadata__"] as! [String: String]
        #expect(meta["beta"] == "0.7" && meta["window_us"] == "1000" && meta["ratio"] == "0.95/0.05"
                && meta["threshold"] == "1.0" && meta["denoise_us"] == "10000")
        // fc1.weight[1][2] sits at row-major offset 1·2312 + 2 of its data block.
        let offsets = fc1["data_offsets"] as! [Int]
        let at = 8 + n + offsets[0] + (1 * 2312 + 2) * 4
        let raw = bytes[at..<(at + 4)].enumerated().reduce(UInt32(0)) { $0 | (UInt32($1.element) << (8 * UInt32($1.offset))) }
        #expect(Float(bitPattern: raw) == m.parameters.pytorchTensors().fc1Weight[1 * 2312 + 2])
        #expect(bytes.count == 8 + n + (37 * 2312 + 37 + 10 * 37 + 10) * 4)
    }

    static func header(_ m: ModelFile) -> (json: String, data: [UInt8]) {
        let bytes = m.encoded()
        let n = bytes[0..<8].enumerated().reduce(0) { $0 | (Int($1.element) << (8 * $1.offset)) }
        return (String(decoding: bytes[8..<(8 + n)], as: UTF8.self), Array(bytes[(8 + n)...]))
    }

    static func file(json: String, data: [UInt8]) -> [UInt8] {
        let h = Array(json.utf8)
        return withUnsafeBytes(of: UInt64(h.count).littleEndian, Array.init) + h + data
    }

    @Test(arguments: [
        ("shape", { (j: String) in j.replacingOccurrences(of: "[10,37]", with: "[10,36]") }),
        ("shape", { (j: String) in j.replacingOccurrences(of: "[37,2312]", with: "[37,2000]") }),
        ("dtype", { (j: String) in j.replacingOccurrences(of: "\"F32\"", with: "\"F16\"") }),
        ("__metadata__", { (j: String) in j.replacingOccurrences(of: "__metadata__", with: "__other__") }),
        ("beta", { (j: String) in j.replacingOccurrences(of: "\"beta\":\"0.7\"", with: "\"beta\":\"1.7\"") }),
        ("JSON", { (j: String) in String(j.dropLast(5)) + "xxxxx" }),
    ] as [(String, @Sendable (String) -> String)])
    func rejectsInconsistentHeaders(expected: String, corrupt: @Sendable (String) -> String) {
        let (json, data) = Self.header(Self.model())
        let bytes = Self.file(json: corrupt(json), data: data)
        do {
            _ = try ModelFile.decode(bytes, path: "bad.safetensors")
            Issue.record("accepted a header with a bad \(expected)")
        } catch let e as ModelFileError {
            #expect(e.description.hasPrefix("model file bad.safetensors: "))
            #expect(e.description.contains(expected) || expected == "JSON" && e.description.contains("JSON"), "\(e)")
            #expect(!e.description.contains("\n"))
        } catch { Issue.record("unexpected \(error)") }
    }

    @Test func rejectsCorruptHeaderLengthAndTruncation() {
        var bytes = Self.model().encoded()
        bytes[6] = 0x7F  // header length far beyond the file
        #expect(throws: ModelFileError.self) { try ModelFile.decode(bytes, path: "x") }
        let good = Self.model().encoded()
        #expect(throws: ModelFileError.self) { try ModelFile.decode(Array(good.dropLast(4)), path: "x") }
        #expect(throws: ModelFileError.self) { try ModelFile.decode([1, 2, 3], path: "x") }
        #expect(throws: ModelFileError.self) { try ModelFile.read(path: "/nonexistent/model.safetensors") }
    }
}
