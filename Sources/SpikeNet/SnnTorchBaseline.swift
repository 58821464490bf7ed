import Foundation
import SpikeEvents
import SpikeSupport

/// snnTorch's training speed on the same work as `Benchmark.measure`, measured by a Python
/// the user names, for a side-by-side comparison in one run (`spikesweep bench
/// --compare-snntorch PYTHON`).
///
/// The Python program (`source`, run as a `PythonProgram`) ships inside the binary. For each case it is given the
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
    /// The program, written next to the data of each case at run time.
    private let program: PythonProgram
    /// The Python, as found on PATH if given by name.
    package var pythonPath: String { program.pythonPath }
    /// Versions the Python reported.
    package let pythonVersion: String
    package let torchVersion: String
    package let snnTorchVersion: String

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
    /// - Throws: `PythonProgramError` when the Python cannot be run or lacks torch or snnTorch.
    package init(python: String) throws {
        program = try PythonProgram(python: python, program: Self.source, fileName: "baseline.py",
                                    folderPrefix: "spikesweep-snntorch", installHint: Self.installHint)
        let versions: Versions = try program.run(["--versions"], what: "asked for its versions")
        pythonVersion = versions.python
        torchVersion = versions.torch
        snnTorchVersion = versions.snntorch
    }

    /// Removes the temporary folder (also done when the baseline is released).
    package func removeFiles() {
        program.removeFiles()
    }

    /// Times snnTorch on `frames` with the network `hyperparameters` describe, alongside
    /// `spikesweep`, the engine's measurement of the same case: its batch size, thread count
    /// and timed batches are used.
    /// - Throws: `PythonProgramError` when the program fails; its last error line is in it.
    package func measure(frames: FrameSet, hyperparameters h: Hyperparameters, alongside spikesweep: BenchmarkCase,
                         minSeconds: Double) throws -> SnnTorchMeasurement {
        let batches = { BatchOrder.batches(count: frames.count, batchSize: spikesweep.batchSize, seed: Benchmark.seed, $0) }
        let warmup = batches(0..<Self.warmupBatches)
        let timed = batches(Benchmark.warmupBatches ..< Benchmark.warmupBatches + min(spikesweep.batches, Self.maxTimedBatches))
        let used = Array(Set((warmup + timed).joined())).sorted()
        let position = Dictionary(uniqueKeysWithValues: used.enumerated().map { ($1, $0) })
        var compact = FrameSet.Builder(windowMicros: frames.windowMicros, denoiseMicros: frames.denoiseMicros)
        compact.appendAll(of: frames.subset(used))

        let folder = program.directory.appendingPathComponent("case")
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
            try PythonProgram.writeLittleEndian(compact.labels, to: folder.appendingPathComponent("labels.u8"))
            try PythonProgram.writeLittleEndian(compact.recordingStepStart,
                                                to: folder.appendingPathComponent("recording_step_start.i32"))
            try PythonProgram.writeLittleEndian(compact.stepEntryStart, to: folder.appendingPathComponent("step_entry_start.i32"))
            try PythonProgram.writeLittleEndian(compact.inputs, to: folder.appendingPathComponent("inputs.u16"))
            try PythonProgram.writeLittleEndian(compact.counts, to: folder.appendingPathComponent("counts.u8"))
        } catch {
            throw PythonProgramError(message: "cannot write the frames for snnTorch to \(folder.path): \(error.localizedDescription)")
        }
        let what = "training H=\(spikesweep.hidden), \(frames.windowMicros) us, \(spikesweep.threads) threads"
        let answer: Answer = try program.run([folder.path], what: what)
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
