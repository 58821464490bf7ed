import Foundation
import SpikeEvents
import SpikeSupport

/// Training throughput of the engine on one configuration.
package struct BenchmarkCase: Sendable, Codable, Equatable {
    package var hidden: Int
    package var windowMicros: Int
    package var batchSize: Int
    package var threads: Int
    /// Mean padded batch length T of the measured batches.
    package var meanSteps: Double
    package var batches: Int
    package var recordingsPerSecond: Double
    package var millisecondsPerBatch: Double
    /// Share of the timed wall time per part of a training step: hidden forward, output
    /// layer, hidden backward, and the rest (L2 gradient, Adam, zeroing).
    package var timeShares: [String: Double]
    /// snnTorch on the same frames, batches, threads and hyper-parameters, measured in the
    /// same run (`bench --compare-snntorch`); nil when not compared.
    package var snnTorch: SnnTorchMeasurement?
    /// `recordingsPerSecond / snnTorch.recordingsPerSecond`, when compared.
    package var speedup: Double?
    /// Recordings per second of CPU time used by the process (user + system) while timing:
    /// equals `recordingsPerSecond / threads` on an otherwise idle machine, and shows how
    /// much a busy machine slowed the wall-clock figure.
    package var recordingsPerCPUSecond: Double
    /// Peak private memory of the training task, in MB: how far `Anonymous:` in
    /// /proc/PID/smaps_rollup grew from just before the task was built (frames loaded, free
    /// heap handed back) to its largest value at the end of any batch. It includes the
    /// parameters, gradients, Adam moments, the engine's per-batch buffers and its workers'
    /// stacks; not the frames (`framesMegabytes`), which the tasks of a node share. `bench`
    /// measures each case in a process of its own, so no other case's memory is in it. Nil
    /// where the kernel does not report it (see `ProcessClock.anonymousBytes()`).
    package var taskPrivateMegabytes: Double?
    /// The largest `Anonymous:` of the measuring process, in MB: the task plus the runtime and
    /// whatever the process held before it (frames loaded onto the heap count here; mapped
    /// frame caches do not). Nil where the kernel does not report it.
    package var processPrivateMegabytes: Double?
    /// The frames' own storage (labels, offsets, entries), in MB.
    package var framesMegabytes: Double
    /// Peak resident set size of the process that measured this case (frames, task, runtime).
    package var peakRSSMegabytes: Double
    /// The input path the engine took ("event-driven" or "dense", `EngineTuning.Inputs`).
    package var inputPath: String?
    /// The event-driven path's kernels: "avx512" where the CPU has AVX-512
    /// (`SpikeEngine.usesAVX512`), else "avx2".
    package var kernels: String?
    /// How the event-driven path summed dW1: "direct" or "indexed"
    /// (`SpikeEngine.sumsWeightGradientDirectly`); nil on the dense path.
    package var weightGradient: String?
    /// Which of `bench --runs N`'s rounds measured this case (1-based); nil with one round.
    package var run: Int?
}

/// What `spikesweep bench` reports.
package struct BenchmarkReport: Sendable, Codable, Equatable {
    /// "real" or "synthetic".
    package var frames: String
    package var source: String?
    package var recordings: Int
    package var cases: [BenchmarkCase]
    /// The largest peak resident set size of the bench process and the processes that
    /// measured the cases (getrusage ru_maxrss).
    package var peakRSSMegabytes: Double

    package init(frames: String, source: String?, recordings: Int, cases: [BenchmarkCase], peakRSSMegabytes: Double) {
        self.frames = frames
        self.source = source
        self.recordings = recordings
        self.cases = cases
        self.peakRSSMegabytes = peakRSSMegabytes
    }
}

package enum Benchmark {
    /// The study's configurations: (hidden, window µs).
    package static let studyConfigurations = [(800, 2000), (800, 1000), (400, 2000), (100, 2000)]

    /// The median of `values` (the mean of the middle two for an even count; 0 when empty).
    package static func median(_ values: [Double]) -> Double {
        guard !values.isEmpty else { return 0 }
        let sorted = values.sorted(), middle = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    }

    /// Times full training steps (forward, BPTT, L2, Adam) of the network `hyperparameters`
    /// describe (hidden size, β, threshold, target ratio, batch size, learning rate, L2) on
    /// batches of `frames` in `BatchOrder(count:batchSize:seed:)`: the first `warmup` batches
    /// untimed, then at least `minBatches` batches and `minSeconds` seconds. Data loading is
    /// not included. `tuning` is the engine's (its huge-page setting also applies to the
    /// parameters, gradients and Adam moments).
    ///
    /// With `measuresPrivateMemory`, the free heap is handed back before the task is built and
    /// the process's private memory is read at the end of every batch (outside the timed
    /// region) for `taskPrivateMegabytes`; this is meaningful in a process that has done
    /// nothing but load `frames`.
    package static func measure(frames: FrameSet, hyperparameters: Hyperparameters, threads: Int, seed: UInt64 = Benchmark.seed,
                               warmup: Int = warmupBatches, minBatches: Int = 4, minSeconds: Double = 2,
                               tuning: EngineTuning = EngineTuning(), measuresPrivateMemory: Bool = false) -> BenchmarkCase {
        var h = hyperparameters
        h.windowMicros = frames.windowMicros
        if measuresPrivateMemory { ProcessClock.releaseFreeHeapMemory() }
        let memoryBefore = measuresPrivateMemory ? ProcessClock.anonymousBytes() : nil
        var memoryPeak = memoryBefore ?? 0
        var samplingSeconds = 0.0  // spent reading memory, taken out of the timed seconds
        func sampleMemory() {
            guard memoryBefore != nil else { return }
            let start = DispatchTime.now().uptimeNanoseconds
            memoryPeak = max(memoryPeak, ProcessClock.anonymousBytes() ?? 0)
            samplingSeconds += Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        }
        let shape = NetworkShape(hidden: h.hidden)
        var rng = Xoshiro256(seed: seed)
        var parameters = NetworkParameters.pytorchDefault(shape: shape, rng: &rng, hugePages: tuning.hugePages)
        var adam = Adam(shape: shape, learningRate: h.learningRate, hugePages: tuning.hugePages)
        var gradients = NetworkParameters(zerosFor: shape, hugePages: tuning.hugePages)
        let engine = SpikeEngine(shape: shape, hyperparameters: h, threads: threads, tuning: tuning)
        var order = BatchOrder(count: frames.count, batchSize: h.batchSize, seed: seed)
        func step(_ batch: [Int]) -> Int {
            let out = engine.forwardBackward(parameters, frames: frames, batch: batch, gradients: &gradients)
            adam.update(&parameters, gradients: gradients, l2: h.l2, workers: engine.pool,
                        kernel: engine.adamKernel)
            return out.steps
        }
        for _ in 0..<warmup {
            _ = step(order.next())
            sampleMemory()
        }
        var batches = 0, recordings = 0, steps = 0
        let phasesBefore = engine.phaseSeconds
        let cpuBefore = ProcessClock.processCPUSeconds()
        let start = DispatchTime.now().uptimeNanoseconds
        samplingSeconds = 0
        var elapsed = 0.0
        while batches < minBatches || elapsed < minSeconds {
            let batch = order.next()
            steps += step(batch)
            batches += 1
            recordings += batch.count
            sampleMemory()
            elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 - samplingSeconds
        }
        let cpu = ProcessClock.processCPUSeconds() - cpuBefore - samplingSeconds
        let phases = zip(engine.phaseSeconds, phasesBefore).map { ($0 - $1) / elapsed }
        let shares = ["hidden_forward": phases[0], "output_layer": phases[1], "hidden_backward": phases[2],
                      "other": max(0, 1 - phases.reduce(0, +))]
        return BenchmarkCase(hidden: h.hidden, windowMicros: frames.windowMicros, batchSize: h.batchSize, threads: threads,
                             meanSteps: Double(steps) / Double(batches), batches: batches,
                             recordingsPerSecond: Double(recordings) / elapsed,
                             millisecondsPerBatch: elapsed * 1000 / Double(batches),
                             timeShares: shares, recordingsPerCPUSecond: Double(recordings) / cpu,
                             taskPrivateMegabytes: memoryBefore.map { Double(memoryPeak - $0) / megabyte },
                             processPrivateMegabytes: memoryBefore.map { _ in Double(memoryPeak) / megabyte },
                             framesMegabytes: Double(frames.storage.byteCount) / megabyte,
                             peakRSSMegabytes: ProcessClock.peakRSSMegabytes,
                             inputPath: engine.lastBatchWasDense ? EngineTuning.Inputs.dense.rawValue
                                                                 : EngineTuning.Inputs.eventDriven.rawValue,
                             kernels: engine.usesAVX512 ? "avx512" : "avx2",
                             weightGradient: engine.lastBatchWasDense ? nil
                                 : engine.sumsWeightGradientDirectly ? "direct" : "indexed")
    }

    private static let megabyte = 1024.0 * 1024

    /// The seed of `measure`'s initialisation and batch order, unless given.
    package static let seed: UInt64 = 1

    /// Untimed batches `measure` runs first.
    package static let warmupBatches = 2

    /// Synthetic frames standing in for N-MNIST at `windowMicros`: 1.1% density, about
    /// 150 steps at 2000 µs (proportionally more for shorter windows).
    package static func syntheticFrames(windowMicros: Int, count: Int = 512, seed: UInt64 = 7) -> FrameSet {
        let steps = max(1, 150 * 2000 / max(1, windowMicros))
        let density = min(1, 0.011 * Double(windowMicros) / 2000)
        return SyntheticFrames.make(count: count, meanSteps: steps, density: density, windowMicros: windowMicros, seed: seed)
    }
}

/// The batches the bench trains on, in order: the `count` recordings shuffled once with
/// `seed`, taken `batchSize` at a time (at most `count`), wrapping around to the start of the
/// same shuffled order. spikesweep's measurement and the snnTorch baseline both draw from it,
/// so they time the same batches.
package struct BatchOrder: Sendable {
    private let order: [Int]
    private let batchSize: Int
    private var cursor = 0

    package init(count: Int, batchSize: Int, seed: UInt64) {
        var order = Array(0..<count)
        var rng = Xoshiro256(seed: deriveSeed(seed, [1]))  // a stream apart from the weights' initialisation
        rng.shuffle(&order)
        self.order = order
        self.batchSize = min(batchSize, count)
    }

    /// The next batch: recordings by their index in the frame set.
    package mutating func next() -> [Int] {
        var batch: [Int] = []
        batch.reserveCapacity(batchSize)
        while batch.count < batchSize {
            if cursor == order.count { cursor = 0 }
            batch.append(order[cursor])
            cursor += 1
        }
        return batch
    }

    /// Batches `range` of the order (0 is the first batch `next()` returns).
    /// - Complexity: O(`range.upperBound` × batch size).
    package static func batches(count: Int, batchSize: Int, seed: UInt64, _ range: Range<Int>) -> [[Int]] {
        var order = BatchOrder(count: count, batchSize: batchSize, seed: seed)
        for _ in 0..<range.lowerBound { _ = order.next() }
        return range.map { _ in order.next() }
    }
}
