import Foundation
import Testing
import SpikeEvents
import SpikeNet
import TestSupport

@Suite struct TrainingRunTests {
    static let frames = SyntheticFrames.make(count: 150, meanSteps: 30, density: 0.02, seed: 2)

    static func hyperparameters() -> Hyperparameters {
        var h = Hyperparameters()
        h.hidden = 70
        h.batchSize = 32  // 150 = 4·32 + 22: the last batch is smaller
        return h
    }

    @Test func sameSeedGivesBitIdenticalResultsWhateverTheThreadCount() throws {
        var runs: [TrainingRun] = []
        var results: [FoldResult] = []
        for (seed, threads) in [(UInt64(7), 1), (7, 2), (8, 1)] {
            let run = try TrainingRun(hyperparameters: Self.hyperparameters(), training: Self.frames,
                                      validation: Self.frames.subset(Array(0..<40)),
                                      options: TrainingOptions(epochs: 2, seed: seed, threads: threads))
            results.append(try run.run())
            runs.append(run)
        }
        #expect(runs[0].parameters == runs[1].parameters)
        #expect(runs[0].optimizer == runs[1].optimizer)
        #expect(results[0].epochs == results[1].epochs)
        #expect(runs[0].parameters != runs[2].parameters, "another seed must give another run")
        #expect(results[0].epochs.count == 2 && results[0].finalValidationAccuracy != nil)
        #expect(runs[0].optimizer.step == 10)  // 5 batches × 2 epochs
    }

    @Test func resumingFromACheckpointIsBitIdentical() throws {
        let dir = try SharedData.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let straight = try TrainingRun(hyperparameters: Self.hyperparameters(), training: Self.frames,
                                       options: TrainingOptions(epochs: 3, seed: 3))
        let expected = try straight.run()

        let path = dir.appendingPathComponent("run.ckpt").path
        let first = try TrainingRun(hyperparameters: Self.hyperparameters(), training: Self.frames,
                                    options: TrainingOptions(epochs: 3, seed: 3, checkpointPath: path))
        _ = try first.run(stopAfter: 2)  // "killed" after epoch 2
        #expect(FileManager.default.fileExists(atPath: path))
        let resumed = try TrainingRun(hyperparameters: Self.hyperparameters(), training: Self.frames,
                                      options: TrainingOptions(epochs: 3, seed: 3, checkpointPath: path))
        #expect(resumed.epochsDone == 2)
        let result = try resumed.run()
        #expect(resumed.parameters == straight.parameters)
        #expect(resumed.optimizer == straight.optimizer)
        #expect(resumed.shuffler == straight.shuffler)
        #expect(result.epochs == expected.epochs)
    }

    @Test func divergenceIsAFailureWithAClearMessage() throws {
        var options = TrainingOptions(epochs: 3, seed: 1)
        options.faultInjection = .nonFiniteLoss(epoch: 2, batch: 3)
        let run = try TrainingRun(hyperparameters: Self.hyperparameters(), training: Self.frames, options: options)
        #expect(throws: TrainingError.diverged(epoch: 2, batch: 3)) { try run.run() }
        #expect("\(TrainingError.diverged(epoch: 2, batch: 3))".contains("diverged"))
        #expect(run.epochsDone == 1)
    }

    @Test func aHugeLearningRateDivergesInsteadOfCrashing() throws {
        var h = Self.hyperparameters()
        h.learningRate = 1e38
        let run = try TrainingRun(hyperparameters: h, training: Self.frames, options: TrainingOptions(epochs: 3, seed: 1))
        #expect(throws: TrainingError.self) { try run.run() }
    }

    @Test(arguments: [
        ("beta", { (h: inout Hyperparameters) in h.beta = 0 }),
        ("beta", { (h: inout Hyperparameters) in h.beta = 1.5 }),
        ("hidden", { (h: inout Hyperparameters) in h.hidden = 0 }),
        ("window_us", { (h: inout Hyperparameters) in h.windowMicros = 0 }),
        ("target_ratio", { (h: inout Hyperparameters) in h.targetRatio = TargetRatio(correct: 1.2, incorrect: 0.2) }),
        ("target_ratio", { (h: inout Hyperparameters) in h.targetRatio = TargetRatio(correct: 0.8, incorrect: -0.1) }),
        ("batch_size", { (h: inout Hyperparameters) in h.batchSize = 0 }),
    ] as [(String, @Sendable (inout Hyperparameters) -> Void)])
    func impossibleHyperparametersAreRejected(parameter: String, change: @Sendable (inout Hyperparameters) -> Void) {
        var h = Self.hyperparameters()
        change(&h)
        do {
            _ = try TrainingRun(hyperparameters: h, training: Self.frames, options: TrainingOptions(epochs: 1, seed: 1))
            Issue.record("\(parameter): accepted")
        } catch let error as HyperparameterError {
            #expect(error.parameter == parameter)
            #expect(!error.description.contains("\n"))
        } catch {
            Issue.record("\(parameter): unexpected error \(error)")
        }
    }

    /// The study's final configuration (H=800, β=0.9, 2000 µs, 0.8/0.2, batch 128, lr 5e-3)
    /// on the 1000 real recordings for 15 epochs: snnTorch reaches 0.99 training accuracy.
    @Test func learnsTheRealSubset() throws {
        guard let frames = RealFrames.window2000 else { print(SharedData.skipMessage); return }
        let run = try TrainingRun(hyperparameters: Hyperparameters(), training: frames,
                                  options: TrainingOptions(epochs: 15, seed: 1, threads: 2))
        let result = try run.run()
        print(String(format: "15 epochs on %d real recordings: training accuracy %.4f, loss %.4f, %.1f s (%.0f recordings/s)",
                     frames.count, result.finalTrainAccuracy, result.epochs.last!.trainLoss, result.wallSeconds,
                     result.recordingsPerSecond))
        #expect(result.finalTrainAccuracy >= 0.97)
        #expect(result.epochs.first!.trainLoss > result.epochs.last!.trainLoss)
    }
}

extension TrainingRunTests {
    @Test func framesThatDoNotFitTheNetworkAreRejected() throws {
        let badLabel = FrameSet(windowMicros: 2000, denoiseMicros: nil, recordings: [(12, [[(input: 3, count: 1)]])])
        let badInput = FrameSet(windowMicros: 2000, denoiseMicros: nil, recordings: [(1, [[(input: 2400, count: 1)]])])
        let empty = FrameSet(windowMicros: 2000, denoiseMicros: nil, recordings: [(1, [])])
        for (frames, text) in [(badLabel, "label 12"), (badInput, "input index 2400"), (empty, "no steps")] {
            do {
                _ = try TrainingRun(hyperparameters: Self.hyperparameters(), training: frames, options: TrainingOptions(epochs: 1, seed: 1))
                Issue.record("accepted frames with \(text)")
            } catch let error as TrainingError {
                #expect("\(error)".contains(text), "\(error)")
            }
        }
    }
}
