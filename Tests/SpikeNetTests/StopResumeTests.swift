import Foundation
import SpikeEvents
import SpikeNet
import SpikeSupport
import TestSupport
import Testing

/// Asks a run to stop at given calls of `stopRequested`, counted over every run it is given
/// to; the run asks once per trained batch, so the count is also the batches trained.
final class StopSwitch: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    let stopAt: Set<Int>

    init(stopAt: Set<Int>) { self.stopAt = stopAt }

    var calls: Int { lock.withLock { count } }

    var closure: @Sendable () -> Bool {
        { [self] in
            lock.withLock {
                count += 1
                return stopAt.contains(count)
            }
        }
    }
}

@Suite struct StopResumeTests {
    static let epochs = 3
    static let seed: UInt64 = 3
    /// 150 recordings in batches of 32: 5 batches per epoch, the last one smaller.
    static let batchesPerEpoch = 5
    static let validation = TrainingRunTests.frames.subset(Array(0..<40))

    /// What an uninterrupted run ends with.
    struct Outcome: Sendable {
        var parameters: NetworkParameters
        var optimizer: Adam
        var shuffler: Xoshiro256
        var history: [EpochMetrics]
    }

    static let uninterrupted: Outcome = {
        let run = try! makeRun(checkpointPath: nil, stop: nil)
        _ = try! run.run()
        return Outcome(parameters: run.parameters, optimizer: run.optimizer, shuffler: run.shuffler, history: run.history)
    }()

    static func makeRun(checkpointPath: String?, stop: StopSwitch?) throws -> TrainingRun {
        try TrainingRun(hyperparameters: TrainingRunTests.hyperparameters(), training: TrainingRunTests.frames,
                        validation: validation,
                        options: TrainingOptions(epochs: epochs, seed: seed, checkpointPath: checkpointPath,
                                                 stopRequested: stop?.closure))
    }

    /// Bit-for-bit equality of every tensor (== would let −0 pass for +0). A Bool, because a
    /// failed `#expect` on arrays this large would diff them element by element.
    static func identical(_ a: NetworkParameters, _ b: NetworkParameters) -> Bool {
        func same(_ x: some Sequence<Float>, _ y: some Sequence<Float>) -> Bool { x.elementsEqual(y) { $0.bitPattern == $1.bitPattern } }
        return same(a.w1, b.w1) && same(a.b1, b.b1) && same(a.w2, b.w2) && same(a.b2, b.b2)
    }

    /// Bit-for-bit equality of Adam's settings, step and moments.
    static func identical(_ a: Adam, _ b: Adam) -> Bool {
        [a.learningRate, a.beta1, a.beta2, a.epsilon].map(\.bitPattern) == [b.learningRate, b.beta1, b.beta2, b.epsilon].map(\.bitPattern)
            && a.step == b.step && identical(a.firstMoment, b.firstMoment) && identical(a.secondMoment, b.secondMoment)
    }

    /// Bit-for-bit equality of per-epoch metrics.
    static func identical(_ a: [EpochMetrics], _ b: [EpochMetrics]) -> Bool {
        func bits(_ m: EpochMetrics) -> [UInt64] {
            [UInt64(m.epoch), m.trainLoss.bitPattern, m.trainAccuracy.bitPattern, m.validationAccuracy?.bitPattern ?? 1]
        }
        return a.map(bits) == b.map(bits)
    }

    static func expectUninterrupted(_ run: TrainingRun, _ result: FoldResult, sourceLocation: SourceLocation = #_sourceLocation) {
        let expected = uninterrupted
        let sameParameters = identical(run.parameters, expected.parameters)
        #expect(sameParameters, "parameters differ from the uninterrupted run", sourceLocation: sourceLocation)
        let sameOptimizer = identical(run.optimizer, expected.optimizer)
        #expect(sameOptimizer, "Adam state differs from the uninterrupted run", sourceLocation: sourceLocation)
        #expect(run.optimizer.step == epochs * batchesPerEpoch, sourceLocation: sourceLocation)
        #expect(run.shuffler == expected.shuffler, sourceLocation: sourceLocation)
        #expect(run.history == expected.history, sourceLocation: sourceLocation)
        #expect(identical(run.history, expected.history), sourceLocation: sourceLocation)
        #expect(identical(result.epochs, expected.history), sourceLocation: sourceLocation)
    }

    /// Epoch and batch (1-based) of the `n`th batch of the run.
    static func position(ofBatch n: Int) -> (epoch: Int, batch: Int) {
        ((n - 1) / batchesPerEpoch + 1, (n - 1) % batchesPerEpoch + 1)
    }

    @Test func stopMidEpochThenResumeIsBitIdentical() throws {
        let dir = try SharedData.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("run.ckpt").path
        let stop = StopSwitch(stopAt: [7])  // epoch 2, batch 2
        let first = try Self.makeRun(checkpointPath: path, stop: stop)
        #expect(first.resumedFrom == nil)
        #expect(throws: TrainingError.stopped(epoch: 2, batchesDone: 2)) { try first.run() }
        #expect(first.epochsDone == 1)
        #expect(first.optimizer.step == 7)

        let checkpoint = try Checkpoint.read(path: path, shape: first.shape)
        #expect(checkpoint.history.count == 1)
        #expect(checkpoint.partialEpoch?.batchesDone == 2)
        let sameState = Self.identical(checkpoint.parameters, first.parameters) && Self.identical(checkpoint.optimizer, first.optimizer)
        #expect(sameState, "the checkpoint holds the state after the last trained batch")
        #expect(checkpoint.shuffler == first.shuffler)

        let resumed = try Self.makeRun(checkpointPath: path, stop: stop)
        let from = try #require(resumed.resumedFrom)
        #expect(from.epoch == 2 && from.batchesDone == 2)
        #expect(resumed.epochsDone == 1)
        var reported: [Int] = []
        let result = try resumed.run { reported.append($0.epoch) }
        #expect(reported == [2, 3])
        #expect(stop.calls == 15, "every batch trained exactly once")
        Self.expectUninterrupted(resumed, result)
        #expect(try Checkpoint.read(path: path, shape: resumed.shape).partialEpoch == nil)
    }

    /// Stops (1-based batch numbers over the whole run, 5 batches per epoch) at the first batch,
    /// inside epochs, at the last batch of an epoch, at the run's last batch (ignored: the run is
    /// complete) and several times in a row.
    @Test(arguments: [[1], [4], [5], [7], [10], [13], [14], [15], [1, 2, 3], [5, 6], [2, 7, 12, 14]])
    func stopAnywhereThenResumeIsBitIdentical(stops: [Int]) throws {
        let dir = try SharedData.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("run.ckpt").path
        let stop = StopSwitch(stopAt: Set(stops))
        let total = Self.epochs * Self.batchesPerEpoch
        var expectedStops = stops.filter { $0 < total }
        var resumes: [(epoch: Int, batchesDone: Int)] = []
        var result: FoldResult?
        var run = try Self.makeRun(checkpointPath: path, stop: stop)
        for _ in 0...stops.count {
            do {
                result = try run.run()
                break
            } catch let error as TrainingError {
                let n = try #require(expectedStops.first, "unexpected \(error)")
                expectedStops.removeFirst()
                let (epoch, batch) = Self.position(ofBatch: n)
                #expect(error == .stopped(epoch: epoch, batchesDone: batch))
                #expect(stop.calls == n)
                let checkpoint = try Checkpoint.read(path: path, shape: run.shape)
                if batch == Self.batchesPerEpoch {
                    #expect(checkpoint.partialEpoch == nil, "a stop after an epoch's last batch finishes the epoch")
                    #expect(checkpoint.history.count == epoch)
                    resumes.append((epoch + 1, 0))
                } else {
                    #expect(checkpoint.partialEpoch?.batchesDone == batch)
                    #expect(checkpoint.history.count == epoch - 1)
                    resumes.append((epoch, batch))
                }
                run = try Self.makeRun(checkpointPath: path, stop: stop)
                let from = try #require(run.resumedFrom)
                #expect(from == resumes.last!)
            }
        }
        #expect(expectedStops.isEmpty)
        #expect(stop.calls == total, "every batch trained exactly once")
        Self.expectUninterrupted(run, try #require(result))
    }

    @Test func stopWithoutACheckpointPathThrowsAndTheSameRunContinues() throws {
        let dir = try SharedData.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let stop = StopSwitch(stopAt: [3, 9])
        let run = try Self.makeRun(checkpointPath: nil, stop: stop)
        #expect(throws: TrainingError.stopped(epoch: 1, batchesDone: 3)) { try run.run() }
        let message = "\(TrainingError.stopped(epoch: 1, batchesDone: 3))"
        #expect(message == "stopped on request at epoch 1 after 3 batches")
        #expect(run.epochsDone == 0 && run.optimizer.step == 3)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).isEmpty)
        // In memory the run keeps the partial epoch: calling it again continues.
        #expect(throws: TrainingError.stopped(epoch: 2, batchesDone: 4)) { try run.run() }
        let result = try run.run()
        #expect(stop.calls == 15)
        #expect(run.resumedFrom == nil)
        Self.expectUninterrupted(run, result)
    }

    @Test func aStopAtTheLastBatchOfTheRunIsIgnored() throws {
        let stop = StopSwitch(stopAt: [10])
        let run = try TrainingRun(hyperparameters: TrainingRunTests.hyperparameters(), training: TrainingRunTests.frames,
                                  options: TrainingOptions(epochs: 2, seed: 4, stopRequested: stop.closure))
        let result = try run.run()
        #expect(result.epochs.count == 2 && stop.calls == 10)
    }

    /// A checkpoint stopped after batch `k` (epoch 1 or 2).
    static func partialCheckpoint(in dir: URL, stopAt k: Int) throws -> (path: String, run: TrainingRun) {
        let path = dir.appendingPathComponent("partial.ckpt").path
        let run = try makeRun(checkpointPath: path, stop: StopSwitch(stopAt: [k]))
        #expect(throws: TrainingError.self) { try run.run() }
        return (path, run)
    }

    /// Bytes of the 12 tensors at the end of a checkpoint, before its CRC.
    static func tensorBytes(_ shape: NetworkShape) -> Int {
        let p = NetworkParameters(zerosFor: shape)
        return 3 * [p.w1.count, p.b1.count, p.w2.count, p.b2.count].map { 8 + 4 * $0 }.reduce(0, +)
    }

    /// Replaces the CRC so that a deliberately changed file passes the checksum.
    static func resealed(_ bytes: [UInt8]) -> [UInt8] {
        var body = Array(bytes.dropLast(4))
        withUnsafeBytes(of: Checksum.crc32(body).littleEndian) { body.append(contentsOf: $0) }
        return body
    }

    static func expectCheckpointError(_ bytes: [UInt8], at path: String, containing text: String,
                                      sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            _ = try makeRun(checkpointPath: path, stop: nil)
            Issue.record("accepted a bad checkpoint (\(text))", sourceLocation: sourceLocation)
        } catch TrainingError.checkpoint(let errorPath, let problem) {
            let message = "\(TrainingError.checkpoint(path: errorPath, problem: problem))"
            #expect(errorPath == path, sourceLocation: sourceLocation)
            #expect(problem.contains(text), "\(message)", sourceLocation: sourceLocation)
            #expect(!message.contains("\n"), sourceLocation: sourceLocation)
        } catch {
            Issue.record("unexpected \(error)", sourceLocation: sourceLocation)
        }
    }

    @Test func damagedPartialCheckpointsAreRefusedInOneLine() throws {
        let dir = try SharedData.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let (path, run) = try Self.partialCheckpoint(in: dir, stopAt: 8)
        let good = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        // Flag byte, then 4 generator words, batches done, loss sum, correct: 53 bytes.
        let flag = good.count - 4 - Self.tensorBytes(run.shape) - 53
        #expect(good[flag] == 1)
        let batchesDone = flag + 1 + 32

        Self.expectCheckpointError(Array(good.prefix(good.count / 2)), at: path, containing: "checksum")
        Self.expectCheckpointError(Array(good.prefix(6)), at: path, containing: "bad magic")
        Self.expectCheckpointError(Self.resealed(Array(good.prefix(flag + 20)) + [0, 0, 0, 0]), at: path,
                                   containing: "truncated")
        var flipped = good
        flipped[batchesDone] ^= 0x01
        Self.expectCheckpointError(flipped, at: path, containing: "checksum")
        var older = good
        older.replaceSubrange(0..<8, with: Array("SPKCKPT1".utf8))
        Self.expectCheckpointError(older, at: path, containing: "older version; delete it")
        var badFlag = good
        badFlag[flag] = 2
        Self.expectCheckpointError(Self.resealed(badFlag), at: path, containing: "unknown epoch flag 2")
        var tooMany = good
        tooMany[batchesDone] = 5  // an epoch has 5 batches: 5 done is not a partial epoch
        Self.expectCheckpointError(Self.resealed(tooMany), at: path, containing: "an epoch has 5")
        var noneDone = good
        noneDone[batchesDone] = 0
        Self.expectCheckpointError(Self.resealed(noneDone), at: path, containing: "implausible partial epoch")
        var otherGenerator = good
        otherGenerator[flag + 1] ^= 0x01
        Self.expectCheckpointError(Self.resealed(otherGenerator), at: path, containing: "generator states")

        // The intact file still resumes.
        try Data(good).write(to: URL(fileURLWithPath: path))
        let resumed = try Self.makeRun(checkpointPath: path, stop: nil)
        Self.expectUninterrupted(resumed, try resumed.run())
    }
}
