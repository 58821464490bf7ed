import Foundation
import SpikeSupport

/// tonic's preprocessing speed on the same recordings as `PipelineBenchmark`, measured by a
/// Python the user names, for a side-by-side comparison in one run (`spikesweep data bench
/// FILE --compare-tonic PYTHON`).
///
/// The Python program (`program`) ships inside the binary. It is given the recordings' events
/// (little-endian arrays: `event_start.i64`, `times.u32`, `inputs.u16` as `p·1156 + y·34 + x`),
/// builds each recording's event array as `tonic.datasets.NMNIST` does (fields x, y, t, p)
/// outside its timing, then times tonic's `Denoise(filter_time)` (when denoising) and
/// `ToFrame(sensor_size=(34, 34, 2), time_window)` over every recording, as many times as
/// spikesweep frames them, on one core, and reports the best and median milliseconds per
/// recording.
package final class TonicBaseline {
    /// The Python, as found on PATH if given by name.
    package let pythonPath: String
    /// Versions the Python reported.
    package let pythonVersion: String
    package let tonicVersion: String
    package let numpyVersion: String
    /// The temporary folder holding the program and the events being measured.
    private let directory: URL

    /// What pip needs for the program to run.
    package static let installHint = "pip install tonic numpy"

    /// Finds `python` (a path, or a name on PATH), writes the program to a new temporary
    /// folder and asks it for its versions.
    /// - Throws: `TonicBaselineError` when the Python cannot be run or lacks tonic or numpy.
    package init(python: String) throws {
        guard let path = Subprocess.which(python) else {
            throw TonicBaselineError(message: python.contains("/") ? "\(python) is not an executable file"
                                                                  : "\(python) not found on PATH")
        }
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("spikesweep-tonic-\(getpid())-\(UUID().uuidString.prefix(8))")
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            try Data(Self.program.utf8).write(to: directory.appendingPathComponent("tonic_baseline.py"))
        } catch {
            try? FileManager.default.removeItem(at: directory)
            throw TonicBaselineError(message: "cannot write the baseline program to \(directory.path): \(error.localizedDescription)")
        }
        pythonPath = path
        self.directory = directory
        let versions: Versions
        do { versions = try Self.run(path, in: directory, ["--versions"], what: "asked for its versions") } catch {
            try? FileManager.default.removeItem(at: directory)
            throw error
        }
        pythonVersion = versions.python
        tonicVersion = versions.tonic
        numpyVersion = versions.numpy
    }

    deinit { try? FileManager.default.removeItem(at: directory) }

    /// Times tonic on every recording of `dataset` with `framing`, `repeats` times.
    /// - Throws: `TonicBaselineError` when the program fails; its last error line is in it.
    package func measure(_ dataset: EventDataset, framing: Framing.Options, repeats: Int) throws -> TonicMeasurement {
        let folder = directory.appendingPathComponent("case")
        defer { try? FileManager.default.removeItem(at: folder) }
        let header = CaseHeader(windowUs: framing.windowMicros, denoiseUs: framing.denoiseMicros, repeats: repeats)
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            let encoder = JSONEncoder()
            encoder.keyEncodingStrategy = .convertToSnakeCase
            try encoder.encode(header).write(to: folder.appendingPathComponent("case.json"))
            try Self.littleEndianBytes(dataset.eventStart.base.map(Int64.init)).write(to: folder.appendingPathComponent("event_start.i64"))
            try Self.littleEndianBytes(Array(dataset.times.base)).write(to: folder.appendingPathComponent("times.u32"))
            try Self.littleEndianBytes(Array(dataset.inputs.base)).write(to: folder.appendingPathComponent("inputs.u16"))
        } catch {
            throw TonicBaselineError(message: "cannot write the events for tonic to \(folder.path): \(error.localizedDescription)")
        }
        let answer: Answer = try Self.run(pythonPath, in: directory, [folder.path],
                                          what: "framing \(dataset.count) recordings at \(framing.windowMicros) us")
        return TonicMeasurement(python: pythonPath, pythonVersion: pythonVersion, tonicVersion: tonicVersion,
                                numpyVersion: numpyVersion, repeats: answer.repeats,
                                bestMillisecondsPerRecording: answer.bestMs, medianMillisecondsPerRecording: answer.medianMs,
                                frames: answer.frames)
    }

    /// What `--versions` prints.
    private struct Versions: Decodable {
        var python: String
        var tonic: String
        var numpy: String
    }

    /// What the program prints when an import fails.
    private struct Missing: Decodable {
        var missing: String
    }

    /// What a measurement prints (snake_case keys).
    private struct Answer: Decodable {
        var bestMs: Double
        var medianMs: Double
        var repeats: Int
        var frames: Int
    }

    /// What the program reads from `case.json` (snake_case keys).
    private struct CaseHeader: Encodable {
        var format = "spikesweep data bench events 1: little-endian event_start.i64, times.u32, inputs.u16"
        var windowUs: Int
        var denoiseUs: Int?
        var repeats: Int

        func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(format, forKey: .format)
            try c.encode(windowUs, forKey: .windowUs)
            try c.encode(denoiseUs, forKey: .denoiseUs)  // null when not denoising
            try c.encode(repeats, forKey: .repeats)
        }

        private enum CodingKeys: String, CodingKey { case format, windowUs, denoiseUs, repeats }
    }

    private static func littleEndianBytes<T: FixedWidthInteger>(_ values: [T]) -> Data {
        values.map(\.littleEndian).withUnsafeBytes { Data($0) }
    }

    /// Runs the program with `arguments` and decodes the JSON line it printed last.
    private static func run<T: Decodable>(_ python: String, in directory: URL, _ arguments: [String], what: String) throws -> T {
        let result: Subprocess.Result
        do {
            result = try Subprocess.run(URL(fileURLWithPath: python),
                                        [directory.appendingPathComponent("tonic_baseline.py").path] + arguments,
                                        environment: ["PYTHONDONTWRITEBYTECODE": "1", "OMP_NUM_THREADS": "1"])
        } catch {
            throw TonicBaselineError(message: "cannot run \(python): \(error.localizedDescription)")
        }
        let line = Data((result.stdout.split(whereSeparator: \.isNewline).last.map(String.init) ?? "").utf8)
        if let missing = try? JSONDecoder().decode(Missing.self, from: line) {
            throw TonicBaselineError(message: "\(python) has no module \(missing.missing) (\(installHint))")
        }
        guard result.status == 0 else {
            let lastError = result.stderr.split(whereSeparator: \.isNewline).last.map(String.init)
            throw TonicBaselineError(message: "\(python) failed when \(what) (exit status \(result.status))"
                                     + (lastError.map { ": \($0)" } ?? ""))
        }
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        guard let answer = try? decoder.decode(T.self, from: line) else {
            throw TonicBaselineError(message: "\(python) gave no answer when \(what) (is it Python 3?); its last line: "
                                     + String(decoding: line.prefix(200), as: UTF8.self))
        }
        return answer
    }

    /// The program `TonicBaseline` runs. `python tonic_baseline.py --versions` prints
    /// `{"python", "tonic", "numpy"}`; `python tonic_baseline.py DIR` reads `DIR/case.json` and
    /// the event arrays beside it and prints one JSON line with the measurement. Either prints
    /// `{"missing": MODULE}` and exits with status 3 when an import fails.
    static let program = #"""
        """tonic's Denoise + ToFrame speed on the recordings spikesweep data bench wrote to DIR.

        Usage: python tonic_baseline.py --versions | python tonic_baseline.py DIR
        """
        import json
        import os
        import sys
        import time

        try:
            import numpy as np
            import tonic
            import tonic.transforms as transforms
        except ImportError as error:
            print(json.dumps({"missing": error.name or str(error)}), flush=True)
            sys.exit(3)


        def recordings(directory):
            """Each recording's events as tonic's N-MNIST dataset gives them (x, y, t, p)."""
            start = np.fromfile(os.path.join(directory, "event_start.i64"), dtype="<i8")
            times = np.fromfile(os.path.join(directory, "times.u32"), dtype="<u4")
            inputs = np.fromfile(os.path.join(directory, "inputs.u16"), dtype="<u2").astype(np.int64)
            dtype = np.dtype([("x", int), ("y", int), ("t", int), ("p", int)])
            result = []
            for r in range(len(start) - 1):
                a, b = int(start[r]), int(start[r + 1])
                events = np.empty(b - a, dtype=dtype)
                events["x"] = inputs[a:b] % 34
                events["y"] = inputs[a:b] // 34 % 34
                events["p"] = inputs[a:b] // 1156
                events["t"] = times[a:b]
                result.append(events)
            return result


        def main():
            if sys.argv[1:] == ["--versions"]:
                print(json.dumps({"python": sys.version.split()[0], "tonic": tonic.__version__,
                                  "numpy": np.__version__}))
                return
            directory = sys.argv[1]
            with open(os.path.join(directory, "case.json")) as f:
                case = json.load(f)
            events = recordings(directory)
            steps = []
            if case["denoise_us"] is not None:
                steps.append(transforms.Denoise(filter_time=case["denoise_us"]))
            steps.append(transforms.ToFrame(sensor_size=(34, 34, 2), time_window=case["window_us"]))
            transform = transforms.Compose(steps)
            per_recording, frames = [], 0
            for _ in range(max(1, case["repeats"])):
                started = time.perf_counter()
                for e in events:
                    frames += len(transform(e))
                per_recording.append((time.perf_counter() - started) * 1000 / max(1, len(events)))
            per_recording.sort()
            print(json.dumps({"best_ms": per_recording[0], "median_ms": per_recording[len(per_recording) // 2],
                              "repeats": len(per_recording), "frames": frames}))


        main()
        """#
}

/// tonic's preprocessing speed on one file, from `TonicBaseline`.
package struct TonicMeasurement: Sendable, Codable, Equatable {
    /// The Python that ran it, and its versions.
    package var python: String
    package var pythonVersion: String
    package var tonicVersion: String
    package var numpyVersion: String
    package var repeats: Int
    /// Denoise + ToFrame, ms per recording: best and median over the repeats.
    package var bestMillisecondsPerRecording: Double
    package var medianMillisecondsPerRecording: Double
    /// Frames tonic made over all repeats: shows that it framed the recordings it was meant to.
    package var frames: Int
}

/// The tonic baseline could not run: one line naming the Python and the problem.
package struct TonicBaselineError: UserFacingError, Sendable, Equatable {
    package var message: String
    package var description: String { message }
}
