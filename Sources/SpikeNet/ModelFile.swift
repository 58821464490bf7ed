import Foundation
import SpikeEvents
import SpikeSupport

/// A trained network saved as safetensors with PyTorch's state-dict names and layout, so it
/// loads into the snnTorch model directly:
/// ```python
/// from safetensors.torch import load_file
/// net.load_state_dict(load_file("model.safetensors"))   # fc1.weight [H, 2312], fc1.bias [H],
///                                                         # fc2.weight [10, H], fc2.bias [10]
/// ```
/// The `__metadata__` block records what the weights only mean together with: β, threshold,
/// frame window, denoise filter time and target ratio (plus the hidden size).
///
/// Layout: 8-byte little-endian header length N, N bytes of JSON (space-padded to a multiple
/// of 8), then the raw little-endian float32 data of each tensor at its `data_offsets`.
package struct ModelFile: Sendable, Equatable {
    package var parameters: NetworkParameters
    package var metadata: ModelMetadata

    package init(parameters: NetworkParameters, metadata: ModelMetadata) {
        self.parameters = parameters
        self.metadata = metadata
    }

    static let names = ["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]

    /// The file's bytes.
    package func encoded() -> [UInt8] {
        let shape = parameters.shape
        let t = parameters.pytorchTensors()
        let tensors: [(String, [Int], [Float])] = [
            ("fc1.weight", [shape.hidden, shape.inputs], t.fc1Weight), ("fc1.bias", [shape.hidden], t.fc1Bias),
            ("fc2.weight", [shape.outputs, shape.hidden], t.fc2Weight), ("fc2.bias", [shape.outputs], t.fc2Bias),
        ]
        var header = "{"
        var offset = 0
        for (name, dims, values) in tensors {
            let end = offset + values.count * 4
            header += "\"\(name)\":{\"dtype\":\"F32\",\"shape\":[\(dims.map(String.init).joined(separator: ","))],\"data_offsets\":[\(offset),\(end)]},"
            offset = end
        }
        let meta = metadata.dictionary.sorted { $0.key < $1.key }.map { "\"\($0.key)\":\"\($0.value)\"" }
        header += "\"__metadata__\":{\(meta.joined(separator: ","))}}"
        var headerBytes = Array(header.utf8)
        while headerBytes.count % 8 != 0 { headerBytes.append(0x20) }
        var w = ByteWriter()
        w.append(UInt64(headerBytes.count))
        w.bytes += headerBytes
        for (_, _, values) in tensors { w.appendRaw(values) }
        return w.bytes
    }

    /// Writes the file atomically.
    package func write(path: String) throws {
        do { try AtomicFile.write(encoded(), to: path) } catch {
            throw ModelFileError(path: path, problem: "cannot write: \(error)")
        }
    }

    /// Reads and checks a model file: header length against the file size, JSON, dtypes,
    /// shapes consistent with a 2312→H→10 network, offsets inside the data, metadata present.
    package static func read(path: String) throws -> ModelFile {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ModelFileError(path: path, problem: FileManager.default.fileExists(atPath: path) ? "cannot read the file" : "no such file")
        }
        return try decode([UInt8](data), path: path)
    }

    package static func decode(_ bytes: [UInt8], path: String) throws -> ModelFile {
        func fail(_ problem: String) -> ModelFileError { ModelFileError(path: path, problem: problem) }
        var r = ByteReader(bytes) { _ in fail("file is shorter than its 8-byte header length") }
        let headerLength = try r.read(UInt64.self)
        guard headerLength <= UInt64(bytes.count - 8) else {
            throw fail("corrupt header: header length \(headerLength) exceeds the file size \(bytes.count)")
        }
        let headerEnd = 8 + Int(headerLength)
        guard let json = try? JSONSerialization.jsonObject(with: Data(bytes[8..<headerEnd])) as? [String: Any] else {
            throw fail("corrupt header: not a JSON object")
        }
        let dataStart = headerEnd, dataSize = bytes.count - headerEnd
        guard let metaAny = json["__metadata__"] else { throw fail("missing __metadata__ (beta, threshold, window_us, denoise_us, ratio)") }
        guard let meta = metaAny as? [String: String] else { throw fail("__metadata__ must map names to strings") }
        let metadata = try ModelMetadata(dictionary: meta, fail: fail)
        let unexpected = json.keys.filter { $0 != "__metadata__" && !names.contains($0) }.sorted()
        guard unexpected.isEmpty else { throw fail("unexpected tensor(s) \(unexpected.joined(separator: ", "))") }

        var values: [String: [Float]] = [:], shapes: [String: [Int]] = [:]
        for name in names {
            guard let entry = json[name] as? [String: Any] else { throw fail("missing tensor \(name)") }
            guard let dtype = entry["dtype"] as? String, dtype == "F32" else {
                throw fail("tensor \(name) has dtype \(entry["dtype"] ?? "none"), expected F32")
            }
            guard let dims = entry["shape"] as? [Int], dims.allSatisfy({ $0 >= 0 }) else { throw fail("tensor \(name) has no valid shape") }
            guard let offsets = entry["data_offsets"] as? [Int], offsets.count == 2, offsets[0] >= 0, offsets[0] <= offsets[1],
                  offsets[1] <= dataSize else {
                throw fail("tensor \(name) has data_offsets outside the \(dataSize) data bytes")
            }
            let count = dims.reduce(1, *)
            guard offsets[1] - offsets[0] == count * 4 else {
                throw fail("tensor \(name): data_offsets span \(offsets[1] - offsets[0]) bytes, shape \(dims) needs \(count * 4)")
            }
            var reader = ByteReader(bytes) { _ in fail("tensor \(name) is truncated") }
            reader.offset = dataStart + offsets[0]
            values[name] = try reader.readRaw(count: count)
            shapes[name] = dims
        }
        let fc1 = shapes["fc1.weight"]!
        guard fc1.count == 2, fc1[1] == NMNIST.inputCount, fc1[0] >= 1 else {
            throw fail("fc1.weight has shape \(fc1), expected [H, \(NMNIST.inputCount)]")
        }
        let hidden = fc1[0]
        let expected = ["fc1.bias": [hidden], "fc2.weight": [NMNIST.classCount, hidden], "fc2.bias": [NMNIST.classCount]]
        for name in ["fc1.bias", "fc2.weight", "fc2.bias"] where shapes[name]! != expected[name]! {
            throw fail("\(name) has shape \(shapes[name]!), expected \(expected[name]!) for fc1.weight \(fc1)")
        }
        if let h = metadata.hidden, h != hidden { throw fail("metadata says hidden=\(h) but fc1.weight has \(hidden) rows") }
        let shape = NetworkShape(hidden: hidden)
        let p = NetworkParameters(shape: shape, fc1Weight: values["fc1.weight"]!, fc1Bias: values["fc1.bias"]!,
                                  fc2Weight: values["fc2.weight"]!, fc2Bias: values["fc2.bias"]!)
        return ModelFile(parameters: p, metadata: metadata)
    }
}

/// What a model file records besides its weights (all stored as strings, as safetensors requires).
package struct ModelMetadata: Sendable, Equatable, Codable {
    package var beta: Double
    package var threshold: Double
    package var windowMicros: Int
    /// nil when the frames were not denoised (stored as "none").
    package var denoiseMicros: Int?
    package var ratio: TargetRatio
    package var hidden: Int?

    package init(beta: Double, threshold: Double, windowMicros: Int, denoiseMicros: Int?, ratio: TargetRatio, hidden: Int? = nil) {
        self.beta = beta
        self.threshold = threshold
        self.windowMicros = windowMicros
        self.denoiseMicros = denoiseMicros
        self.ratio = ratio
        self.hidden = hidden
    }

    package init(_ h: Hyperparameters) {
        self.init(beta: h.beta, threshold: h.threshold, windowMicros: h.windowMicros, denoiseMicros: h.denoiseMicros,
                  ratio: h.targetRatio, hidden: h.hidden)
    }

    var dictionary: [String: String] {
        var d = ["beta": "\(beta)", "threshold": "\(threshold)", "window_us": "\(windowMicros)",
                 "denoise_us": denoiseMicros.map { "\($0)" } ?? "none", "ratio": ratio.description,
                 "format": "pt", "reset_mechanism": "subtract", "surrogate": "atan(alpha=2)"]
        if let hidden { d["hidden"] = "\(hidden)" }
        return d
    }

    init(dictionary d: [String: String], fail: (String) -> ModelFileError) throws {
        func value(_ key: String) throws -> String {
            guard let v = d[key] else { throw fail("metadata lacks \"\(key)\"") }
            return v
        }
        guard let beta = Double(try value("beta")), beta > 0, beta <= 1 else { throw fail("metadata beta must be a number in (0, 1]") }
        guard let thr = Double(try value("threshold")), thr > 0 else { throw fail("metadata threshold must be a positive number") }
        guard let window = Int(try value("window_us")), window >= 1 else { throw fail("metadata window_us must be an integer >= 1") }
        let denoiseText = try value("denoise_us")
        let denoise: Int?
        if denoiseText == "none" { denoise = nil } else {
            guard let v = Int(denoiseText), v >= 1 else { throw fail("metadata denoise_us must be an integer >= 1 or \"none\"") }
            denoise = v
        }
        guard let ratio = TargetRatio(try value("ratio")) else { throw fail("metadata ratio must look like 0.8/0.2") }
        var hidden: Int? = nil
        if let h = d["hidden"] {
            guard let v = Int(h) else { throw fail("metadata hidden must be an integer") }
            hidden = v
        }
        self.init(beta: beta, threshold: thr, windowMicros: window, denoiseMicros: denoise, ratio: ratio, hidden: hidden)
    }

    /// Hyper-parameters for running the model (training-only values keep their defaults).
    package var hyperparameters: Hyperparameters {
        var h = Hyperparameters()
        h.beta = beta; h.threshold = threshold; h.windowMicros = windowMicros; h.denoiseMicros = denoiseMicros
        h.targetRatio = ratio
        if let hidden { h.hidden = hidden }
        return h
    }
}

/// A model file that cannot be written or used; one line naming the file and the problem.
package struct ModelFileError: Error, CustomStringConvertible, Equatable, Sendable {
    package var path: String
    package var problem: String
    package var description: String { "model file \(path): \(problem)" }
}
