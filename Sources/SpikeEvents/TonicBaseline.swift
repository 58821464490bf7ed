import Foundation
import SpikeSupport

/// tonic's preprocessing speed on the same recordings as `PipelineBenchmark`, measured by a
/// Python the user names, for a side-by-side comparison in one run (`spikesweep data bench
/// FILE --compare-tonic PYTHON`).
///
/// The Python program (`source`, run as a `PythonProgram`) ships inside the binary. It is given the recordings' events
/// (little-endian arrays: `event_start.i64`, `times.u32`, `inputs.u16` as `p·1156 + y·34 + x`),
/// builds each recording's event array as `tonic.datasets.NMNIST` does (fields x, y, t, p)
/// outside its timing, then times (after keeping the events before 100 ms with
/// `--first-saccade`) tonic's `Denoise(filter_time)` (when denoising) and
/// `ToFrame(sensor_size=(34, 34, 2), time_window)` over every recording, as many times as
/// spikesweep frames them, on one core, and reports the best and median milliseconds per
/// recording.
package final class TonicBaseline {
    /// The program, written next to the events at run time.
    private let program: PythonProgram
    /// The Python, as found on PATH if given by name.
    package var pythonPath: String { program.pythonPath }
    /// Versions the Python reported.
    package let pythonVersion: String
    package let tonicVersion: String
    package let numpyVersion: String

    /// What pip needs for the program to run.
    package static let installHint = "pip install tonic numpy"

    /// Finds `python` (a path, or a name on PATH), writes the program to a new temporary
    /// folder and asks it for its versions.
    /// - Throws: `PythonProgramError` when the Python cannot be run or lacks tonic or numpy.
    package init(python: String) throws {
        program = try PythonProgram(python: python, program: Self.source, fileName: "tonic_baseline.py",
                                    folderPrefix: "spikesweep-tonic", installHint: Self.installHint,
                                    environment: ["OMP_NUM_THREADS": "1"])
        let versions: Versions = try program.run(["--versions"], what: "asked for its versions")
        pythonVersion = versions.python
        tonicVersion = versions.tonic
        numpyVersion = versions.numpy
    }

    /// Times tonic on every recording of `dataset` with `framing`, `repeats` times.
    /// - Throws: `PythonProgramError` when the program fails; its last error line is in it.
    package func measure(_ dataset: EventDataset, framing: Framing.Options, repeats: Int) throws -> TonicMeasurement {
        let folder = program.directory.appendingPathComponent("case")
        defer { try? FileManager.default.removeItem(at: folder) }
        let header = CaseHeader(windowUs: framing.windowMicros, denoiseUs: framing.denoiseMicros,
                                firstSaccadeEndUs: framing.firstSaccadeOnly ? Int(Framing.firstSaccadeEndMicros) : nil,
                                repeats: repeats)
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            let encoder = JSONEncoder()
            encoder.keyEncodingStrategy = .convertToSnakeCase
            try encoder.encode(header).write(to: folder.appendingPathComponent("case.json"))
            try PythonProgram.writeLittleEndian(dataset.eventStart.base.map(Int64.init),
                                                to: folder.appendingPathComponent("event_start.i64"))
            try PythonProgram.writeLittleEndian(Array(dataset.times.base), to: folder.appendingPathComponent("times.u32"))
            try PythonProgram.writeLittleEndian(Array(dataset.inputs.base), to: folder.appendingPathComponent("inputs.u16"))
        } catch {
            throw PythonProgramError(message: "cannot write the events for tonic to \(folder.path): \(error.localizedDescription)")
        }
        let answer: Answer = try program.run([folder.path],
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
        var firstSaccadeEndUs: Int?
        var repeats: Int

        func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(format, forKey: .format)
            try c.encode(windowUs, forKey: .windowUs)
            try c.encode(denoiseUs, forKey: .denoiseUs)  // null when not denoising
            try c.encode(firstSaccadeEndUs, forKey: .firstSaccadeEndUs)  // null for whole recordings
            try c.encode(repeats, forKey: .repeats)
        }

        private enum CodingKeys: String, CodingKey { case format, windowUs, denoiseUs, firstSaccadeEndUs, repeats }
    }

    /// The program `TonicBaseline` runs. `python tonic_baseline.py --versions` prints
    /// `{"python", "tonic", "numpy"}`; `python tonic_baseline.py DIR` reads `DIR/case.json` and
    /// the event arrays beside it and prints one JSON line with the measurement. Either prints
    /// `{"missing": MODULE}` and exits with status 3 when an import fails.
    static let source = #"""
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
            if case["first_saccade_end_us"] is not None:
                end = case["first_saccade_end_us"]
                steps.append(lambda e: e[e["t"] < end])
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
