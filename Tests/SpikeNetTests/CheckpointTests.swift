import Foundation
import Testing
import SpikeEvents
import SpikeNet
import TestSupport

@Suite struct CheckpointTests {
    static func write(to path: String, seed: UInt64 = 5) throws -> TrainingRun {
        let run = try TrainingRun(hyperparameters: TrainingRunTests.hyperparameters(), training: TrainingRunTests.frames,
                                  options: TrainingOptions(epochs: 1, seed: seed, checkpointPath: path))
        _ = try run.run()
        return run
    }

    @Test func restoresEverythingARunNeeds() throws {
        let dir = try SharedData.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("c.ckpt").path
        let run = try Self.write(to: path)
        let c = try Checkpoint.read(path: path, shape: run.shape)
        #expect(c.parameters == run.parameters)
        #expect(c.optimizer == run.optimizer)
        #expect(c.shuffler == run.shuffler)
        #expect(c.history == run.history)
    }

    @Test func rejectsCorruptionAndOtherRuns() throws {
        let dir = try SharedData.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("c.ckpt").path
        let run = try Self.write(to: path)
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        // Another seed or other hyper-parameters must not resume this checkpoint.
        #expect(throws: TrainingError.self) {
            _ = try TrainingRun(hyperparameters: TrainingRunTests.hyperparameters(), training: TrainingRunTests.frames,
                                options: TrainingOptions(epochs: 2, seed: 6, checkpointPath: path))
        }
        var other = TrainingRunTests.hyperparameters()
        other.learningRate = 1e-3
        #expect(throws: TrainingError.self) {
            _ = try TrainingRun(hyperparameters: other, training: TrainingRunTests.frames,
                                options: TrainingOptions(epochs: 2, seed: 5, checkpointPath: path))
        }
        bytes[bytes.count / 2] ^= 0x40
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        do {
            _ = try Checkpoint.read(path: path, shape: run.shape)
            Issue.record("accepted a corrupt checkpoint")
        } catch let e as TrainingError {
            #expect("\(e)".contains("checksum"))
        }
    }
}

extension CheckpointTests {
    @Test func partialEpochSurvivesARoundTrip() throws {
        let dir = try SharedData.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let (path, run) = try StopResumeTests.partialCheckpoint(in: dir, stopAt: 3)
        let c = try Checkpoint.read(path: path, shape: run.shape)
        let partial = try #require(c.partialEpoch)
        #expect(partial.batchesDone == 3)
        #expect(partial.correct >= 0 && partial.correct <= 3 * 32)
        #expect(partial.lossSum.isFinite && partial.lossSum > 0)
        #expect(c.history.isEmpty)
        let sameState = StopResumeTests.identical(c.parameters, run.parameters) && StopResumeTests.identical(c.optimizer, run.optimizer)
        #expect(sameState && c.shuffler == run.shuffler)
        // The saved generator state is the one before the epoch's shuffle.
        var generator = partial.shufflerBeforeShuffle
        var order = Array(0..<TrainingRunTests.frames.count)
        generator.shuffle(&order)
        #expect(generator == c.shuffler)

        let copy = dir.appendingPathComponent("copy.ckpt").path
        try c.write(path: copy)
        let again = try Checkpoint.read(path: copy, shape: run.shape)
        #expect(again.partialEpoch == c.partialEpoch)
        #expect(again.partialEpoch?.lossSum.bitPattern == partial.lossSum.bitPattern)
        let sameAgain = StopResumeTests.identical(again.parameters, c.parameters) && StopResumeTests.identical(again.optimizer, c.optimizer)
        #expect(sameAgain)
        #expect(again.shuffler == c.shuffler && again.history == c.history && again.seed == c.seed)
        #expect(try Data(contentsOf: URL(fileURLWithPath: copy)) == Data(contentsOf: URL(fileURLWithPath: path)))

        var atEpochEnd = c
        atEpochEnd.partialEpoch = nil
        try atEpochEnd.write(path: copy)
        #expect(try Checkpoint.read(path: copy, shape: run.shape).partialEpoch == nil)
        #expect(try Data(contentsOf: URL(fileURLWithPath: copy)).count
                == Data(contentsOf: URL(fileURLWithPath: path)).count - 52)
    }
}
