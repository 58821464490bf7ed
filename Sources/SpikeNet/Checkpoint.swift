import Foundation
import SpikeEvents
import SpikeSupport

/// The state of a training run at an epoch end, or between two batches of an epoch when the
/// run was stopped on request: parameters, Adam's moments and step, the shuffling generator,
/// the metrics so far and the partial epoch — everything a killed run needs to continue
/// bit-identically.
///
/// Binary, little-endian: magic `SPKCKPT2`, the hyper-parameters as JSON, seed, training-set
/// fingerprint, Adam step, generator state, per-epoch metrics, a flag byte (0 at an epoch end,
/// 1 with a partial epoch, then its generator state before the shuffle, batches done, loss sum
/// and correct count), the 12 tensors (engine layout), then a CRC-32 of everything before it.
/// Written atomically (temporary file, fsync, rename).
package struct Checkpoint: Sendable {
    package var hyperparameters: Hyperparameters
    package var seed: UInt64
    package var trainingFingerprint: UInt64
    package var parameters: NetworkParameters
    package var optimizer: Adam
    package var shuffler: Xoshiro256
    package var history: [EpochMetrics]
    /// The epoch after `history`, when the run was stopped inside it (nil at an epoch end).
    package var partialEpoch: PartialEpoch?

    /// An epoch stopped between two batches.
    package struct PartialEpoch: Sendable, Equatable {
        /// The shuffling generator before the epoch's shuffle (the order is drawn again from it).
        package var shufflerBeforeShuffle: Xoshiro256
        /// Batches of the epoch already trained (at least 1, fewer than the epoch has).
        package var batchesDone: Int
        /// Sum of those batches' losses.
        package var lossSum: Double
        /// Recordings of those batches classified correctly.
        package var correct: Int

        package init(shufflerBeforeShuffle: Xoshiro256, batchesDone: Int, lossSum: Double, correct: Int) {
            self.shufflerBeforeShuffle = shufflerBeforeShuffle
            self.batchesDone = batchesDone
            self.lossSum = lossSum
            self.correct = correct
        }
    }

    static let magic = Array("SPKCKPT2".utf8)
    /// The format before partial epochs.
    static let magicVersion1 = Array("SPKCKPT1".utf8)

    package func write(path: String) throws {
        var w = ByteWriter()
        w.bytes = Self.magic
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys  // the same state gives the same bytes
        let json = try encoder.encode(hyperparameters)
        w.append(String(decoding: json, as: UTF8.self))
        w.append(seed)
        w.append(trainingFingerprint)
        w.append(UInt64(parameters.shape.hidden))
        w.append(optimizer.learningRate); w.append(optimizer.beta1); w.append(optimizer.beta2); w.append(optimizer.epsilon)
        w.append(UInt64(optimizer.step))
        let s = shuffler.state
        for word in [s.0, s.1, s.2, s.3] { w.append(word) }
        w.append(UInt32(history.count))
        for m in history {
            w.append(UInt32(m.epoch)); w.append(m.trainLoss); w.append(m.trainAccuracy)
            w.append(m.validationAccuracy ?? .nan)
        }
        if let p = partialEpoch {
            w.append(UInt8(1))
            let s = p.shufflerBeforeShuffle.state
            for word in [s.0, s.1, s.2, s.3] { w.append(word) }
            w.append(UInt32(p.batchesDone)); w.append(p.lossSum); w.append(UInt64(p.correct))
        } else {
            w.append(UInt8(0))
        }
        for set in [parameters, optimizer.firstMoment, optimizer.secondMoment] {
            w.append(floats: set.w1); w.append(floats: set.b1); w.append(floats: set.w2); w.append(floats: set.b2)
        }
        w.append(Checksum.crc32(w.bytes))
        // One process trains a task at a time, so its checkpoint has one writer: a fixed
        // temporary name that the task's cleanup removes directly, even after a killed writer.
        do { try AtomicFile.write(w.bytes, to: path, temporary: AtomicFile.singleWriterTemporary(of: path)) } catch let error as FileError {
            throw TrainingError.checkpoint(path: path, problem: error.problem)
        }
    }

    package static func read(path: String, shape: NetworkShape) throws -> Checkpoint {
        let fail = { (problem: String) -> Error in TrainingError.checkpoint(path: path, problem: problem) }
        guard let data = FileManager.default.contents(atPath: path) else { throw fail("cannot read the file") }
        let bytes = [UInt8](data)
        guard bytes.count >= magic.count + 4, Array(bytes[0..<magic.count]) == magic else {
            if bytes.starts(with: magicVersion1) { throw fail("written by an older version; delete it to restart the task") }
            throw fail("not a SpikeSweep checkpoint (bad magic)")
        }
        let stored = bytes[(bytes.count - 4)...].withUnsafeBytes { UInt32(littleEndian: $0.loadUnaligned(as: UInt32.self)) }
        guard Checksum.crc32(Array(bytes[0..<(bytes.count - 4)])) == stored else { throw fail("checksum mismatch (corrupt file)") }
        var r = ByteReader(Array(bytes[0..<(bytes.count - 4)]), failure: fail)
        r.offset = magic.count
        let h: Hyperparameters
        do { h = try JSONDecoder().decode(Hyperparameters.self, from: Data(try r.readString().utf8)) } catch {
            throw fail("unreadable hyper-parameters")
        }
        let seed = try r.read(UInt64.self)
        let fingerprint = try r.read(UInt64.self)
        let hidden = Int(try r.read(UInt64.self))
        guard hidden == shape.hidden else { throw fail("hidden size \(hidden), expected \(shape.hidden)") }
        var adam = Adam(shape: shape, learningRate: try r.readDouble(), beta1: try r.readDouble(),
                        beta2: try r.readDouble(), epsilon: try r.readDouble())
        adam.step = Int(try r.read(UInt64.self))
        let state = (try r.read(UInt64.self), try r.read(UInt64.self), try r.read(UInt64.self), try r.read(UInt64.self))
        var history: [EpochMetrics] = []
        let epochs = Int(try r.read(UInt32.self))
        guard epochs <= 1_000_000 else { throw fail("implausible epoch count \(epochs)") }
        for _ in 0..<epochs {
            let e = Int(try r.read(UInt32.self))
            let loss = try r.readDouble(), acc = try r.readDouble(), val = try r.readDouble()
            history.append(EpochMetrics(epoch: e, trainLoss: loss, trainAccuracy: acc, validationAccuracy: val.isNaN ? nil : val))
        }
        var partial: PartialEpoch?
        switch try r.read(UInt8.self) {
        case 0: break
        case 1:
            let before = (try r.read(UInt64.self), try r.read(UInt64.self), try r.read(UInt64.self), try r.read(UInt64.self))
            let done = Int(try r.read(UInt32.self))
            let lossSum = try r.readDouble()
            let correct = try r.read(UInt64.self)
            guard done >= 1, correct <= UInt64(Int32.max) else { throw fail("implausible partial epoch (\(done) batches, \(correct) correct)") }
            partial = PartialEpoch(shufflerBeforeShuffle: Xoshiro256(state: before), batchesDone: done,
                                   lossSum: lossSum, correct: Int(correct))
        case let flag: throw fail("unknown epoch flag \(flag)")
        }
        func tensors() throws -> NetworkParameters {
            var p = NetworkParameters(zerosFor: shape)
            p.w1 = AlignedFloats(try r.readFloats(expected: p.w1.count)); p.b1 = try r.readFloats(expected: p.b1.count)
            p.w2 = try r.readFloats(expected: p.w2.count); p.b2 = try r.readFloats(expected: p.b2.count)
            return p
        }
        let parameters = try tensors()
        adam.firstMoment = try tensors()
        adam.secondMoment = try tensors()
        guard r.remaining == 0 else { throw fail("\(r.remaining) unexpected trailing bytes") }
        return Checkpoint(hyperparameters: h, seed: seed, trainingFingerprint: fingerprint, parameters: parameters,
                          optimizer: adam, shuffler: Xoshiro256(state: state), history: history, partialEpoch: partial)
    }

    /// Refuses to resume a different run.
    func checkCompatible(hyperparameters h: Hyperparameters, seed s: UInt64, trainingFingerprint f: UInt64, path: String) throws {
        if h != hyperparameters { throw TrainingError.checkpoint(path: path, problem: "was written with other hyper-parameters") }
        if s != seed { throw TrainingError.checkpoint(path: path, problem: "was written with seed \(seed), not \(s)") }
        if f != trainingFingerprint { throw TrainingError.checkpoint(path: path, problem: "was written for other training data") }
    }

    /// Refuses a partial epoch that does not fit the training set: too many batches or correct
    /// recordings, or generator states that one shuffle does not connect.
    func checkPartialEpoch(trainingCount: Int, batchSize: Int, path: String) throws {
        guard let p = partialEpoch else { return }
        let fail = { (problem: String) in TrainingError.checkpoint(path: path, problem: problem) }
        let batchesPerEpoch = (trainingCount + batchSize - 1) / batchSize
        guard p.batchesDone < batchesPerEpoch else {
            throw fail("partial epoch of \(p.batchesDone) batches, but an epoch has \(batchesPerEpoch)")
        }
        guard p.correct <= p.batchesDone * batchSize, p.lossSum.isFinite else {
            throw fail("implausible partial epoch (\(p.correct) correct, loss sum \(p.lossSum))")
        }
        var generator = p.shufflerBeforeShuffle
        var order = Array(0..<trainingCount)
        generator.shuffle(&order)
        guard generator == shuffler else { throw fail("generator states of the partial epoch do not match") }
    }
}
