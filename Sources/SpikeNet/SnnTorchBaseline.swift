import Foundation
import SpikeEvents
import SpikeSupport

/// snnTorch's training speed on the same work as `Benchmark.measure`, measured by a Python
/// the user names, for a side-by-side comparison in one run (`spikesweep bench
/// --compare-snntorch PYTHON`).
///
/// The Python program (`program`) ships inside the binary. For each case it is given the
/// same frames (only the recordings its batches use, written as little-endian arrays), the
/// same batches (`BatchOrder` with `Benchmark.seed`: its warm-up is the order's first batch,
/// its timed batches are the ones `measure` timed, in order, at most `maxTimedBatches` of
/// them, started over if it needs more),
/// the same hidden size, β, threshold, target ratio, learning rate, L2 and thread count. It
/// runs the snnTorch tutorials' loop — forward over all steps, `mse_count_loss` plus L2 in
/// the loss, `zero_grad`, `backward`, Adam — building each batch's dense padded input (as
/// tonic's `PadTensors` does) before the timed region, and times at least `minBatches`
/// batches and the given seconds.
package final class SnnTorchBaseline {
    /// The Python, as found on PATH if given by name.
    package let pythonPath: String
    /// Versions the Python reported.
    package let pythonVersion: String
    package let torchVersion: String
    package let snnTorchVersion: String
    /// The temporary folder holding the program and the data of the case being measured.
    private let directory: URL

    /// Untimed warm-up batches and the minimum of timed batches: fewer than `Benchmark.measure`
    /// runs, because one batch of H=800 takes 1.5–2 s in snnTorch.
    package static let warmupBatches = 1
    package static let minBatches = 3
    /// The most timed batches written for one case; the program starts over if it needs more.
    package static let maxTimedBatches = 32

    /// What pip needs for the program to run.
    package static let installHint = "pip install snntorch==1.0.0 torch numpy"

    /// Finds `python` (a path, or a name on PATH), writes the program to a new temporary
    /// folder and asks it for its versions.
    /// - Throws: `SnnTorchBaselineError` when the Python cannot be run or lacks torch or snnTorch.
    package init(python: String) throws {
        guard let path = Subprocess.which(python) else {
            throw SnnTorchBaselineError(message: python.contains("/") ? "\(python) is not an executable file"
                                                                      : "\(python) not found on PATH")
        }
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("spikesweep-snntorch-\(getpid())-\(UUID().uuidString.prefix(8))")
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            try Data(Self.program.utf8).write(to: directory.appendingPathComponent("baseline.py"))
        } catch {
            try? FileManager.default.removeItem(at: directory)
            throw SnnTorchBaselineError(message: "cannot write the baseline program to \(directory.path): \(error.localizedDescription)")
        }
        pythonPath = path
        self.directory = directory
        let versions: Versions
        do { versions = try Self.run(path, in: directory, ["--versions"], what: "asked for its versions") } catch {
            try? FileManager.default.removeItem(at: directory)
            throw error
        }
        pythonVersion = versions.python
        torchVersion = versions.torch
        snnTorchVersion = versions.snntorch
    }

    deinit { removeFiles() }

    /// Removes the temporary folder (also done when the baseline is released).
    package func removeFiles() {
        try? FileManager.default.removeItem(at: directory)
    }

    /// Times snnTorch on `frames` with the network `hyperparameters` describe, alongside
    /// `spikesweep`, the engine's measurement of the same case: its batch size, thread count
    /// and timed batches are used.
    /// - Throws: `SnnTorchBaselineError` when the program fails; its last error line is in it.
    package func measure(frames: FrameSet, hyperparameters h: Hyperparameters, alongside spikesweep: BenchmarkCase,
                         minSeconds: Double) throws -> SnnTorchMeasurement {
        let batches = { BatchOrder.batches(count: frames.count, batchSize: spikesweep.batchSize, seed: Benchmark.seed, $0) }
        let warmup = batches(0..<Self.warmupBatches)
        let timed = batches(Benchmark.warmupBatches ..< Benchmark.warmupBatches + min(spikesweep.batches, Self.maxTimedBatches))
        let used = Array(Set((warmup + timed).joined())).sorted()
        let position = Dictionary(uniqueKeysWithValues: used.enumerated().map { ($1, $0) })
        var compact = FrameSet.Builder(windowMicros: frames.windowMicros, denoiseMicros: frames.denoiseMicros)
        compact.appendAll(of: frames.subset(used))

        let folder = directory.appendingPathComponent("case")
        defer { try? FileManager.default.removeItem(at: folder) }
        let header = CaseHeader(
            stepsPerRecording: (0..<used.count).map { Int(compact.recordingStepStart[$0 + 1] - compact.recordingStepStart[$0]) },
            hidden: spikesweep.hidden, beta: h.beta, threshold: h.threshold,
            correctRate: h.targetRatio.correct, incorrectRate: h.targetRatio.incorrect, lr: h.learningRate, l2: h.l2,
            threads: spikesweep.threads, seed: Benchmark.seed,
            warmup: warmup.map { $0.map { position[$0]! } }, timed: timed.map { $0.map { position[$0]! } },
            minBatches: Self.minBatches, minSeconds: minSeconds)
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            let encoder = JSONEncoder()
            encoder.keyEncodingStrategy = .convertToSnakeCase
            try encoder.encode(header).write(to: folder.appendingPathComponent("case.json"))
            try Self.littleEndianBytes(compact.labels).write(to: folder.appendingPathComponent("labels.u8"))
            try Self.littleEndianBytes(compact.recordingStepStart).write(to: folder.appendingPathComponent("recording_step_start.i32"))
            try Self.littleEndianBytes(compact.stepEntryStart).write(to: folder.appendingPathComponent("step_entry_start.i32"))
            try Self.littleEndianBytes(compact.inputs).write(to: folder.appendingPathComponent("inputs.u16"))
            try Self.littleEndianBytes(compact.counts).write(to: folder.appendingPathComponent("counts.u8"))
        } catch {
            throw SnnTorchBaselineError(message: "cannot write the frames for snnTorch to \(folder.path): \(error.localizedDescription)")
        }
        let what = "training H=\(spikesweep.hidden), \(frames.windowMicros) us, \(spikesweep.threads) threads"
        let answer: Answer = try Self.run(pythonPath, in: directory, [folder.path], what: what)
        return SnnTorchMeasurement(python: pythonPath, pythonVersion: pythonVersion, torchVersion: torchVersion,
                                   snnTorchVersion: snnTorchVersion, threads: answer.torchThreads, batches: answer.batches,
                                   meanSteps: answer.meanSteps, events: answer.events, recordingsPerSecond: answer.recordingsPerSecond,
                                   millisecondsPerBatch: answer.millisecondsPerBatch,
                                   recordingsPerCPUSecond: answer.recordingsPerCpuSecond)
    }

    /// What `--versions` prints.
    private struct Versions: Decodable {
        var python: String
        var torch: String
        var snntorch: String
    }

    /// What the program prints when an import fails.
    private struct Missing: Decodable {
        var missing: String
    }

    /// What a measurement prints (snake_case keys).
    private struct Answer: Decodable {
        var recordingsPerSecond: Double
        var millisecondsPerBatch: Double
        var recordingsPerCpuSecond: Double
        var batches: Int
        var meanSteps: Double
        var events: Int
        var torchThreads: Int
    }

    /// What the program reads from `case.json` (snake_case keys).
    private struct CaseHeader: Encodable {
        var format = "spikesweep bench frames 1: little-endian labels.u8, recording_step_start.i32, "
            + "step_entry_start.i32, inputs.u16, counts.u8"
        var stepsPerRecording: [Int]
        var hidden: Int
        var beta: Double
        var threshold: Double
        var correctRate: Double
        var incorrectRate: Double
        var lr: Double
        var l2: Double
        var threads: Int
        var seed: UInt64
        var warmup: [[Int]]
        var timed: [[Int]]
        var minBatches: Int
        var minSeconds: Double
    }

    private static func littleEndianBytes<T: FixedWidthInteger>(_ values: [T]) -> Data {
        values.map(\.littleEndian).withUnsafeBytes { Data($0) }
    }

    /// Runs the program with `arguments` and decodes the JSON line it printed last.
    private static func run<T: Decodable>(_ python: String, in directory: URL, _ arguments: [String], what: String) throws -> T {
        let result: Subprocess.Result
        do {
            result = try Subprocess.run(URL(fileURLWithPath: python), [directory.appendingPathComponent("baseline.py").path] + arguments,
                                        environment: ["PYTHONDONTWRITEBYTECODE": "1"])
        } catch {
            throw SnnTorchBaselineError(message: "cannot run \(python): \(error.localizedDescription)")
        }
        let line = Data((result.stdout.split(whereSeparator: \.isNewline).last.map(String.init) ?? "").utf8)
        if let missing = try? JSONDecoder().decode(Missing.self, from: line) {
            throw SnnTorchBaselineError(message: "\(python) has no module \(missing.missing) (\(installHint))")
        }
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        guard result.status == 0 else {
            let lastError = result.stderr.split(whereSeparator: \.isNewline).last.map(String.init)
            throw SnnTorchBaselineError(message: "\(python) failed when \(what) (exit status \(result.status))"
                                        + (lastError.map { ": \($0)" } ?? ""))
        }
        guard let answer = try? decoder.decode(T.self, from: line) else {
            throw SnnTorchBaselineError(message: "\(python) gave no answer when \(what) (is it Python 3?); its last line: "
                                        + String(decoding: line.prefix(200), as: UTF8.self))
        }
        return answer
    }
}

/// snnTorch's training speed on one case, from `SnnTorchBaseline`.
package struct SnnTorchMeasurement: Sendable, Codable, Equatable {
    /// The Python that ran it, and its versions.
    package var python: String
    package var pythonVersion: String
    package var torchVersion: String
    package var snnTorchVersion: String
    /// Intra-op threads torch used (`torch.get_num_threads()` after setting it).
    package var threads: Int
    package var batches: Int
    /// Mean padded batch length T of the timed batches.
    package var meanSteps: Double
    /// Input events (the sum of the frames' counts) in the timed batches: shows that it
    /// trained on the recordings it was meant to.
    package var events: Int
    package var recordingsPerSecond: Double
    package var millisecondsPerBatch: Double
    /// Recordings per second of CPU time the Python process used while timing. torch's
    /// threads spin while they wait for each other, so on an idle machine this is
    /// `recordingsPerSecond / threads`; much more means that other processes took the CPU and
    /// the rate is not what an idle machine gives (see `sharedTheCPU`).
    package var recordingsPerCPUSecond: Double

    /// Whether the timed steps got less than 80% of their threads' CPU time: other processes
    /// were busy, which slows torch's waiting threads far more than their share.
    package var sharedTheCPU: Bool {
        recordingsPerSecond / recordingsPerCPUSecond < 0.8 * Double(threads)
    }
}

/// The snnTorch baseline could not run: one line naming the Python and the problem.
package struct SnnTorchBaselineError: UserFacingError, Sendable, Equatable {
    package var message: String
    package var description: String { message }
}
