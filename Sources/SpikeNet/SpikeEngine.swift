import Foundation
import SpikeEvents

/// What one batch produced: spike counts, predictions and the MSE spike-count loss.
package struct BatchOutput: Sendable, Equatable {
    /// Padded length T of the batch (its longest recording).
    package var steps: Int
    /// Output spike counts, [B][outputs] row-major.
    package var counts: [Int32]
    /// `accuracy_rate` prediction of each recording.
    package var predictions: [Int]
    /// Recordings whose prediction equals the label.
    package var correct: Int
    /// `mse_count_loss` of the batch (without the L2 term).
    package var loss: Double
    /// Hidden spikes in the whole batch (padded steps included).
    package var hiddenSpikes: Int
}

/// Per-step membranes and spikes of a batch, for parity tests and debugging.
package struct BatchTrace: Sendable {
    package var steps: Int
    /// [B][T][hidden]
    package var hiddenMembrane: [Float]
    package var hiddenSpikes: [UInt8]
    /// [B][T][outputs]
    package var outputMembrane: [Float]
    package var outputSpikes: [UInt8]
}

/// The event-driven engine: forward and BPTT backward of
/// Linear(inputs→H) → Leaky → Linear(H→outputs) → Leaky on sparse frames.
///
/// Work per batch (B recordings, padded length T), in three phases:
/// 1. **Hidden forward**, per tile of 32 hidden neurons and per recording: the input current
///    is `b1 + Σ count·W1[input]` over the step's *active* inputs only (a gather of their tile
///    rows, ~25 of 2312 per step on N-MNIST), then the Leaky step; spikes are kept as bits.
/// 2. **Output layer**, per recording: the current is `b2 + Σ W2[j]` over the *spiking* hidden
///    neurons j (spikes are binary and sparse), the Leaky step, counts, loss, and the output
///    layer's BPTT `dmem2[t] = g·sg(mem2[t]−thr) + β·dmem2[t+1]`, `g = 2(count−target)/(B·C·T)`.
/// 3. **Hidden backward**, per tile and per recording, from the surrogate values phase 1 kept:
///    backward in time `dmem1[t] = (W2ᵀ·dmem2[t])·sg(mem1[t]−thr) + β·dmem1[t+1]`, `db1`, and
///    `dW2` from the spiking neurons only. Then `dW1` is updated only in the rows of the
///    active inputs, from an index of the group's entries by input: each row is read and
///    written once per group, its updates applied in (recording, descending step) order.
///
/// The batch runs in groups of `groupSize` recordings so that the kept surrogate values stay
/// in cache. Each phase is a list of independent items that `threads` workers take as they
/// become free: (tile, recording) in phase 1, recordings in phase 2, whole tiles for the
/// backward time loop and (tile, row range) for the dW1 update in phase 3. Each gradient
/// element is summed by one worker in a fixed order, so results are bit-identical for every
/// thread count, schedule and group size.
///
/// Forward sums are evaluated as `((b + c₁·w₁) + c₂·w₂) + …` with fused multiply-adds in
/// ascending input (or hidden) order, which the dense reference in the tests reproduces bit
/// for bit; padded steps (no input) still run, as with snnTorch after `PadTensors`.
///
/// An engine keeps per-batch buffers between calls: use one engine from one thread at a time
/// (it runs its own workers inside a call).
package final class SpikeEngine {
    package let shape: NetworkShape
    package let neuron: LeakyParameters
    package let surrogate: ArctanSurrogate
    package let lossFunction: SpikeCountLoss
    package let threads: Int
    /// Wall time spent in each phase since the engine was made (hidden forward, output layer,
    /// hidden backward), for profiling.
    package private(set) var phaseSeconds: [Double] = [0, 0, 0]
    /// Group size and memory hints; results do not depend on them.
    package let tuning: EngineTuning
    /// Recordings per group (see `EngineTuning.groupSize`).
    private let groupSize: Int

    // Per-batch buffers, grown on demand.
    private var spikeBits: [UInt64] = []   // [B][T][tiles]
    private let hiddenSurrogate: Workspace<Float>  // [tiles][B][T][64]
    private var outSurrogate: [Float] = [] // [B][T][C]
    private var outDelta: [Float] = []     // [B][T][C]  dL/dmem2
    private var counts: [Int32] = []       // [B][C]
    private var w2Transposed: [Float] = [] // [C][paddedHidden]
    private var scratch: [Workspace<Float>] // per thread: 4×[C]
    private let hiddenTraceBuffer: Workspace<Float>
    // The batch's entries regrouped by input (a transposed index), for the dW1 scatter.
    private let distinctInput: Workspace<Int32>    // the group's active inputs, ascending
    private let distinctEnd: Workspace<Int32>      // end of each input's occurrences
    private let occurrenceOffset: Workspace<Int32> // occurrences: position of dL/dmem1 in the group block
    private let occurrenceCount: Workspace<Float>  // and event count
    private var counters: [Workspace<Int32>]          // per thread: one counter per input
    private let outputTraceBuffer: Workspace<Float>

    package init(shape: NetworkShape, neuron: LeakyParameters, surrogate: ArctanSurrogate = ArctanSurrogate(),
                loss: SpikeCountLoss, threads: Int = 1, tuning: EngineTuning = EngineTuning()) {
        self.shape = shape
        self.neuron = neuron
        self.surrogate = surrogate
        self.lossFunction = loss
        self.threads = max(1, threads)
        self.tuning = tuning
        groupSize = max(1, tuning.groupSize)
        let hugePages = tuning.hugePages
        hiddenSurrogate = Workspace(hugePages: hugePages)
        hiddenTraceBuffer = Workspace(hugePages: hugePages)
        distinctInput = Workspace(hugePages: hugePages)
        distinctEnd = Workspace(hugePages: hugePages)
        occurrenceOffset = Workspace(hugePages: hugePages)
        occurrenceCount = Workspace(hugePages: hugePages)
        outputTraceBuffer = Workspace(hugePages: hugePages)
        scratch = (0..<max(1, threads)).map { _ in Workspace<Float>(hugePages: hugePages) }
        counters = (0..<max(1, threads)).map { _ in Workspace<Int32>(hugePages: hugePages) }
    }

    package convenience init(shape: NetworkShape, hyperparameters h: Hyperparameters, threads: Int = 1,
                             tuning: EngineTuning = EngineTuning()) {
        self.init(shape: shape, neuron: LeakyParameters(beta: h.beta, threshold: h.threshold),
                  loss: SpikeCountLoss(ratio: h.targetRatio), threads: threads, tuning: tuning)
    }

    /// The batch's recordings located in `frames`.
    struct BatchLayout {
        var stepBase: [Int]   // first global step of each recording
        var stepCount: [Int]  // its own length
        var labels: [Int]
        var steps: Int        // padded length T
        var entryOffset: [Int] // prefix sums of the recordings' entry counts, [B+1]
    }

    func layout(_ frames: FrameSet, _ batch: [Int]) -> BatchLayout {
        var base = [Int](), count = [Int](), labels = [Int]()
        for r in batch {
            base.append(Int(frames.recordingStepStart[r]))
            count.append(frames.stepCount(of: r))
            labels.append(Int(frames.labels[r]))
        }
        var offsets = [0]
        for k in batch.indices {
            let entries = Int(frames.stepEntryStart[base[k] + count[k]] - frames.stepEntryStart[base[k]])
            offsets.append(offsets.last! + entries)
        }
        return BatchLayout(stepBase: base, stepCount: count, labels: labels, steps: count.max() ?? 0, entryOffset: offsets)
    }

    private func prepare(batchSize b: Int, steps t: Int) {
        let tiles = shape.tileCount, c = shape.outputs
        func grow<T: Numeric>(_ a: inout [T], _ n: Int) { if a.count < n { a = [T](repeating: 0, count: n) } }
        grow(&spikeBits, b * t * tiles)
        hiddenSurrogate.reserve(min(b, groupSize) * t * shape.paddedHidden)
        grow(&outSurrogate, b * t * c)
        grow(&outDelta, b * t * c)
        grow(&counts, b * c)
        grow(&w2Transposed, c * shape.paddedHidden)
        for buffer in scratch { buffer.reserve(4 * c) }
        for buffer in counters { buffer.reserve(shape.inputs) }
    }

    // MARK: - Public entry points

    /// Checks that `frames` can be fed to a network of `shape`: labels below the output count,
    /// input indices below the input count, every recording at least one step long, and
    /// consistent offsets. The engine itself does not check (it reads raw pointers).
    /// - Complexity: O(entries).
    package static func check(_ frames: FrameSet, shape: NetworkShape) throws {
        func fail(_ message: String) -> TrainingError { .invalidInput("frames: \(message)") }
        guard frames.recordingStepStart.count == frames.count + 1, frames.recordingStepStart.first == 0,
              Int(frames.recordingStepStart.last!) == frames.stepEntryStart.count - 1,
              frames.stepEntryStart.first == 0, Int(frames.stepEntryStart.last!) == frames.inputs.count,
              frames.counts.count == frames.inputs.count else { throw fail("inconsistent offsets") }
        for r in 0..<frames.count {
            guard Int(frames.labels[r]) < shape.outputs else {
                throw fail("recording \(r) has label \(frames.labels[r]), outside 0..<\(shape.outputs)")
            }
            guard frames.recordingStepStart[r + 1] > frames.recordingStepStart[r] else { throw fail("recording \(r) has no steps") }
        }
        for k in 1..<frames.stepEntryStart.count where frames.stepEntryStart[k] < frames.stepEntryStart[k - 1] {
            throw fail("inconsistent offsets")
        }
        if let bad = frames.inputs.first(where: { Int($0) >= shape.inputs }) {
            throw fail("input index \(bad) is outside 0..<\(shape.inputs)")
        }
    }

    /// Forward pass only: spike counts, predictions and loss of `batch` (indices into `frames`).
    package func forward(_ parameters: NetworkParameters, frames: FrameSet, batch: [Int]) -> BatchOutput {
        run(parameters, frames: frames, batch: batch, gradients: nil, tracing: false)
    }

    /// Forward and backward pass. `gradients` receives dL/dθ of the MSE spike-count loss alone
    /// (the L2 term's `2λW` is added by the trainer); it is overwritten, not accumulated.
    package func forwardBackward(_ parameters: NetworkParameters, frames: FrameSet, batch: [Int],
                                gradients: inout NetworkParameters) -> BatchOutput {
        run(parameters, frames: frames, batch: batch, gradients: &gradients, tracing: false)
    }

    /// Forward pass recording every membrane and spike (slow; for tests).
    package func trace(_ parameters: NetworkParameters, frames: FrameSet, batch: [Int]) -> (BatchOutput, BatchTrace) {
        let t = layout(frames, batch).steps
        hiddenTraceBuffer.reserve(batch.count * t * shape.paddedHidden)
        outputTraceBuffer.reserve(batch.count * t * shape.outputs)
        let out = run(parameters, frames: frames, batch: batch, gradients: nil, tracing: true)
        // Drop the padding of the hidden layer and derive spikes.
        let hp = shape.paddedHidden, h = shape.hidden
        var mem = [Float](); mem.reserveCapacity(batch.count * t * h)
        for row in 0..<(batch.count * t) {
            mem.append(contentsOf: UnsafeBufferPointer(start: hiddenTraceBuffer.pointer + row * hp, count: h))
        }
        let outMem = Array(UnsafeBufferPointer(start: outputTraceBuffer.pointer, count: batch.count * t * shape.outputs))
        let thr = neuron.threshold
        let trace = BatchTrace(steps: t, hiddenMembrane: mem, hiddenSpikes: mem.map { $0 - thr > 0 ? 1 : 0 },
                               outputMembrane: outMem, outputSpikes: outMem.map { $0 - thr > 0 ? 1 : 0 })
        return (out, trace)
    }

    // MARK: - The three phases

    private func run(_ parameters: NetworkParameters, frames: FrameSet, batch: [Int],
                     gradients: UnsafeMutablePointer<NetworkParameters>?, tracing: Bool) -> BatchOutput {
        precondition(parameters.shape == shape, "parameters do not match the engine's network shape")
        let lay = layout(frames, batch)
        let bCount = batch.count, T = lay.steps, C = shape.outputs, tiles = shape.tileCount
        precondition(bCount > 0, "empty batch")
        prepare(batchSize: bCount, steps: T)
        if gradients != nil {
            let n = max(1, lay.entryOffset.last!)
            for w in [distinctInput, distinctEnd, occurrenceOffset] { w.reserve(n) }
            occurrenceCount.reserve(n)
        }
        let training = gradients != nil
        let loss = lossFunction.targets(steps: T)
        if training {
            for c in 0..<C { for j in 0..<shape.paddedHidden { w2Transposed[c * shape.paddedHidden + j] = parameters.w2[j * C + c] } }
            gradients!.pointee.zero()
        }
        let ctx = Context(shape: shape, neuron: neuron, surrogate: surrogate, steps: T,
                          stepBase: lay.stepBase, stepCount: lay.stepCount, labels: lay.labels,
                          on: loss.on, off: loss.off, batch: bCount,
                          entryCount: (0..<bCount).map { lay.entryOffset[$0 + 1] - lay.entryOffset[$0] })

        frames.inputs.withUnsafeBufferPointer { inputs in
        frames.counts.withUnsafeBufferPointer { eventCounts in
        frames.stepEntryStart.withUnsafeBufferPointer { stepStart in
        parameters.w1.withUnsafeBufferPointer { w1 in
        parameters.b1.withUnsafeBufferPointer { b1 in
        parameters.w2.withUnsafeBufferPointer { w2 in
        parameters.b2.withUnsafeBufferPointer { b2 in
        spikeBits.withUnsafeMutableBufferPointer { bits in
        outSurrogate.withUnsafeMutableBufferPointer { outSg in
        outDelta.withUnsafeMutableBufferPointer { outD in
        counts.withUnsafeMutableBufferPointer { cnt in
        w2Transposed.withUnsafeBufferPointer { w2t in
            let ev = Events(inputs: inputs.baseAddress!, counts: eventCounts.baseAddress!, stepStart: stepStart.baseAddress!)
            let scratchPointers = scratch.map(\.pointer)
            let counterPointers = counters.map(\.pointer)
            let index = InputIndex(distinctInput: distinctInput.pointer, distinctEnd: distinctEnd.pointer,
                                   occurrenceOffset: occurrenceOffset.pointer, occurrenceCount: occurrenceCount.pointer)
            let hiddenTrace = tracing ? hiddenTraceBuffer.pointer : nil
            let sgHidden = hiddenSurrogate.pointer
            let outTrace = tracing ? outputTraceBuffer.pointer : nil
            let group = groupSize
            let tileBlock = min(group, bCount) * T * NetworkShape.tileWidth
            // Surrogate values of recording b (of the current group starting at g0) in `tile`.
            @inline(__always) func surrogate(_ tile: Int, _ b: Int, _ g0: Int) -> UnsafeMutablePointer<Float> {
                sgHidden + tile * tileBlock + (b - g0) * T * NetworkShape.tileWidth
            }
            var clock = DispatchTime.now().uptimeNanoseconds
            func lap(_ phase: Int) {
                let now = DispatchTime.now().uptimeNanoseconds
                phaseSeconds[phase] += Double(now - clock) / 1e9
                clock = now
            }
            func phases(_ dw1: UnsafeMutablePointer<Float>?, _ db1: UnsafeMutablePointer<Float>?,
                        _ dw2: UnsafeMutablePointer<Float>?, _ db2: UnsafeMutablePointer<Float>?) {
                // The batch runs in groups of recordings, so that the surrogate values kept
                // between the forward and the backward pass stay in cache. Every gradient
                // element is still summed over recordings in ascending order.
                for g0 in stride(from: 0, to: bCount, by: group) {
                    let members = g0..<min(g0 + group, bCount)
                    // Phase 1: hidden forward. The (tile, recording) items are independent;
                    // workers take them in order as they become free.
                    let m = members.count
                    forEachItem(tiles * m, threads: threads) { _, u in
                        let tile = u / m, b = members.lowerBound + u % m
                        Kernels.hiddenForward(ctx, ev, tile: tile, recording: b,
                                              w1: w1.baseAddress!, b1: b1.baseAddress!, bits: bits.baseAddress!,
                                              surrogateOut: training ? surrogate(tile, b, g0) : nil,
                                              membraneTrace: hiddenTrace)
                    }
                    lap(0)
                    // Phase 2: output layer, recording by recording; when training, the last
                    // item builds the group's index of entries by input (for the dW1 update).
                    var distinct = 0
                    forEachItem(m + (training ? 1 : 0), threads: threads) { worker, item in
                        if item == m {
                            distinct = Kernels.buildGroupIndex(ctx, ev, members: members, counter: counterPointers[worker], index: index)
                            return
                        }
                        Kernels.outputLayer(ctx, recording: members.lowerBound + item, bits: bits.baseAddress!,
                                            w2: w2.baseAddress!, b2: b2.baseAddress!,
                                            counts: cnt.baseAddress!, surrogate: outSg.baseAddress!,
                                            delta: training ? outD.baseAddress! : nil,
                                            scratch: scratchPointers[worker], membraneTrace: outTrace)
                    }
                    lap(1)
                    guard let dw1, let db1, let dw2 else { continue }
                    // Phase 3: hidden backward in time, one item per tile (a tile's bias and
                    // output-weight gradients are summed by one worker, recordings in order).
                    forEachItem(tiles, threads: threads) { _, tile in
                        let biasSlot = db1 + tile * NetworkShape.tileWidth
                        var biasGradient = Lanes(biasSlot)
                        for b in members {
                            Kernels.hiddenBackward(ctx, tile: tile, recording: b, w2t: w2t.baseAddress!,
                                                   bits: bits.baseAddress!, delta: outD.baseAddress!,
                                                   surrogate: surrogate(tile, b, g0), biasGradient: &biasGradient, dw2: dw2)
                        }
                        biasGradient.store(biasSlot)
                    }
                    // Then dW1: rows are independent, so the items are (tile, row range);
                    // each row is still updated by one worker, in the same order.
                    let parts = 4
                    forEachItem(tiles * parts, threads: threads) { _, u in
                        let tile = u / parts, part = u % parts
                        Kernels.weightGradient(ctx, tile: tile, index: index,
                                               rows: (distinct * part / parts) ..< (distinct * (part + 1) / parts),
                                               delta: surrogate(tile, g0, g0), dw1: dw1)
                    }
                    lap(2)
                }
                guard let db2 else { return }
                // db2 = Σ_b Σ_t dmem2, in a fixed order.
                for b in 0..<bCount {
                    for t in 0..<T {
                        for c in 0..<C { db2[c] += outD[(b * T + t) * C + c] }
                    }
                }
            }
            guard let g = gradients else { phases(nil, nil, nil, nil); return }
            g.pointee.w1.withUnsafeMutableBufferPointer { dw1 in
            g.pointee.b1.withUnsafeMutableBufferPointer { db1 in
            g.pointee.w2.withUnsafeMutableBufferPointer { dw2 in
            g.pointee.b2.withUnsafeMutableBufferPointer { db2 in
                phases(dw1.baseAddress!, db1.baseAddress!, dw2.baseAddress!, db2.baseAddress!)
            }}}}
        }}}}}}}}}}}}

        var predictions = [Int](), correct = 0, hiddenSpikes = 0
        for b in 0..<bCount {
            let p = SpikeCountLoss.predictedClass(counts: counts[(b * C)..<((b + 1) * C)])
            predictions.append(p)
            if p == lay.labels[b] { correct += 1 }
        }
        for w in spikeBits[0..<(bCount * T * tiles)] { hiddenSpikes += w.nonzeroBitCount }
        let batchCounts = Array(counts[0..<(bCount * C)])
        let lossValue = lossFunction.loss(counts: batchCounts, labels: lay.labels, classes: C, steps: T)
        return BatchOutput(steps: T, counts: batchCounts, predictions: predictions, correct: correct,
                           loss: lossValue, hiddenSpikes: hiddenSpikes)
    }

}

/// A growable raw buffer owned by the engine (stable address between `reserve` calls).
final class Workspace<Element: Numeric> {
    private(set) var pointer: UnsafeMutablePointer<Element>
    private(set) var capacity: Int
    /// Whether a large allocation is advised to use transparent huge pages.
    let hugePages: Bool

    init(hugePages: Bool) {
        self.hugePages = hugePages
        capacity = 0
        pointer = .allocate(capacity: 1)
    }

    /// Makes room for `count` elements (contents are not preserved when it grows).
    func reserve(_ count: Int) {
        guard count > capacity else { return }
        pointer.deallocate()
        pointer = .allocate(capacity: count)
        if hugePages { HugePages.advise(UnsafeMutableRawPointer(pointer), bytes: count * MemoryLayout<Element>.stride) }
        pointer.initialize(repeating: 0, count: count)
        capacity = count
    }

    deinit { pointer.deallocate() }
}

/// Immutable per-batch facts shared by the kernels.
struct Context {
    let shape: NetworkShape
    let neuron: LeakyParameters
    let surrogate: ArctanSurrogate
    let steps: Int
    let stepBase: [Int]
    let stepCount: [Int]
    let labels: [Int]
    let on: Int
    let off: Int
    let batch: Int
    let entryCount: [Int]
}

/// The transposed (by input) view of a batch's entries built by `Kernels.buildInputIndex`.
struct InputIndex {
    let distinctInput: UnsafeMutablePointer<Int32>
    let distinctEnd: UnsafeMutablePointer<Int32>
    let occurrenceOffset: UnsafeMutablePointer<Int32>
    let occurrenceCount: UnsafeMutablePointer<Float>
}

/// Raw views of a frame set's sparse entries.
struct Events {
    let inputs: UnsafePointer<UInt16>
    let counts: UnsafePointer<UInt8>
    let stepStart: UnsafePointer<Int32>
}

typealias V8 = SIMD8<Float>

/// The 64 lanes of one hidden tile, held in eight AVX registers.
struct Lanes {
    var v0, v1, v2, v3, v4, v5, v6, v7: V8

    @inline(__always)
    init(repeating x: Float) {
        let v = V8(repeating: x)
        (v0, v1, v2, v3, v4, v5, v6, v7) = (v, v, v, v, v, v, v, v)
    }

    @inline(__always)
    init(_ p: UnsafePointer<Float>) {
        @inline(__always) func l(_ k: Int) -> V8 { UnsafeRawPointer(p + 8 &* k).loadUnaligned(as: V8.self) }
        (v0, v1, v2, v3, v4, v5, v6, v7) = (l(0), l(1), l(2), l(3), l(4), l(5), l(6), l(7))
    }

    @inline(__always)
    init(_ v0: V8, _ v1: V8, _ v2: V8, _ v3: V8, _ v4: V8, _ v5: V8, _ v6: V8, _ v7: V8) {
        (self.v0, self.v1, self.v2, self.v3, self.v4, self.v5, self.v6, self.v7) = (v0, v1, v2, v3, v4, v5, v6, v7)
    }

    @inline(__always)
    func store(_ p: UnsafeMutablePointer<Float>) {
        @inline(__always) func s(_ v: V8, _ k: Int) { UnsafeMutableRawPointer(p + 8 &* k).storeBytes(of: v, as: V8.self) }
        s(v0, 0); s(v1, 1); s(v2, 2); s(v3, 3); s(v4, 4); s(v5, 5); s(v6, 6); s(v7, 7)
    }

    /// self = fma(c, p[0..<64], self), lane by lane.
    @inline(__always)
    mutating func addProduct(_ c: Float, _ p: UnsafePointer<Float>) {
        @inline(__always) func l(_ k: Int) -> V8 { UnsafeRawPointer(p + 8 &* k).loadUnaligned(as: V8.self) }
        v0 = v0.addingProduct(c, l(0)); v1 = v1.addingProduct(c, l(1))
        v2 = v2.addingProduct(c, l(2)); v3 = v3.addingProduct(c, l(3))
        v4 = v4.addingProduct(c, l(4)); v5 = v5.addingProduct(c, l(5))
        v6 = v6.addingProduct(c, l(6)); v7 = v7.addingProduct(c, l(7))
    }

    /// p[0..<64] = fma(c, self, p[0..<64]).
    @inline(__always)
    func scatterProduct(_ c: Float, into p: UnsafeMutablePointer<Float>) {
        @inline(__always) func f(_ v: V8, _ k: Int) {
            let q = UnsafeMutableRawPointer(p + 8 &* k)
            q.storeBytes(of: q.loadUnaligned(as: V8.self).addingProduct(c, v), as: V8.self)
        }
        f(v0, 0); f(v1, 1); f(v2, 2); f(v3, 3); f(v4, 4); f(v5, 5); f(v6, 6); f(v7, 7)
    }

    @inline(__always)
    func map(_ f: (V8) -> V8) -> Lanes { Lanes(f(v0), f(v1), f(v2), f(v3), f(v4), f(v5), f(v6), f(v7)) }

    @inline(__always)
    func map(_ o: Lanes, _ f: (V8, V8) -> V8) -> Lanes {
        Lanes(f(v0, o.v0), f(v1, o.v1), f(v2, o.v2), f(v3, o.v3), f(v4, o.v4), f(v5, o.v5), f(v6, o.v6), f(v7, o.v7))
    }

    /// Bit k set when lane k is above `thr` (a spike).
    @inline(__always)
    func bits(above thr: V8) -> UInt64 {
        @inline(__always) func b(_ v: V8) -> UInt64 {
            UInt64(SIMD8<UInt32>(repeating: 0).replacing(with: Kernels.lanePowers, where: v .> thr).wrappedSum())
        }
        return b(v0) | b(v1) << 8 | b(v2) << 16 | b(v3) << 24 | b(v4) << 32 | b(v5) << 40 | b(v6) << 48 | b(v7) << 56
    }
}

enum Kernels {
    static let lanePowers = SIMD8<UInt32>(1, 2, 4, 8, 16, 32, 64, 128)

    @inline(__always)
    static func entryRange(_ ctx: Context, _ ev: Events, recording b: Int, step t: Int) -> Range<Int> {
        guard t < ctx.stepCount[b] else { return 0..<0 }
        let s = ctx.stepBase[b] + t
        return Int(ev.stepStart[s]) ..< Int(ev.stepStart[s + 1])
    }

    /// Phase 1 for one tile and one recording. Per step: the input current
    /// `b1 + Σ count·W1[input]` over the active inputs (fused multiply-adds in ascending input
    /// order), the Leaky step `((β·mem) + cur) − reset·thr`, spike bits into `bits`, and the
    /// surrogate derivatives into `surrogateOut` ([T][64]) and membranes into `membraneTrace`
    /// ([B][T][paddedHidden]) when given.
    static func hiddenForward(_ ctx: Context, _ ev: Events, tile: Int, recording b: Int,
                              w1: UnsafePointer<Float>, b1: UnsafePointer<Float>,
                              bits: UnsafeMutablePointer<UInt64>, surrogateOut: UnsafeMutablePointer<Float>?,
                              membraneTrace: UnsafeMutablePointer<Float>?) {
        let W = NetworkShape.tileWidth, T = ctx.steps, tiles = ctx.shape.tileCount
        let w1Tile = w1 + tile * ctx.shape.inputs * W
        let j0 = tile * W
        let bias = Lanes(b1 + j0)
        let betaV = V8(repeating: ctx.neuron.beta), thrV = V8(repeating: ctx.neuron.threshold), zero = V8(repeating: 0)
        let surrogate = ctx.surrogate
        var mem = Lanes(repeating: 0)
        for t in 0..<T {
            var cur = bias
            for e in entryRange(ctx, ev, recording: b, step: t) {
                cur.addProduct(Float(ev.counts[e]), w1Tile + Int(ev.inputs[e]) &* W)
            }
            mem = mem.map(cur) { m, a in ((betaV * m) + a) - zero.replacing(with: thrV, where: m .> thrV) }
            bits[(b * T + t) * tiles + tile] = mem.bits(above: thrV)
            if let sg = surrogateOut {
                mem.map { surrogate.derivative($0 - thrV) }.store(sg + t * W)
            }
            if let trace = membraneTrace {
                mem.store(trace + (b * T + t) * ctx.shape.paddedHidden + j0)
            }
        }
    }

    /// Phase 2 for one recording: output currents from the spiking hidden neurons, Leaky steps,
    /// counts, and (when `delta` is given) the output layer's BPTT into `delta` [T][C].
    static func outputLayer(_ ctx: Context, recording b: Int, bits: UnsafePointer<UInt64>,
                            w2: UnsafePointer<Float>, b2: UnsafePointer<Float>,
                            counts: UnsafeMutablePointer<Int32>, surrogate sgOut: UnsafeMutablePointer<Float>,
                            delta: UnsafeMutablePointer<Float>?, scratch: UnsafeMutablePointer<Float>,
                            membraneTrace: UnsafeMutablePointer<Float>?) {
        let C = ctx.shape.outputs, T = ctx.steps, tiles = ctx.shape.tileCount, W = NetworkShape.tileWidth
        let mem = scratch, cur = scratch + C, g = scratch + 2 * C, d = scratch + 3 * C
        let cnt = counts + b * C
        for c in 0..<C { mem[c] = 0; cnt[c] = 0 }
        let neuron = ctx.neuron, thr = neuron.threshold
        for t in 0..<T {
            for c in 0..<C { cur[c] = b2[c] }
            let row = bits + (b * T + t) * tiles
            for tile in 0..<tiles {
                var word = row[tile]
                while word != 0 {
                    let j = tile * W + word.trailingZeroBitCount
                    word &= word &- 1
                    let w = w2 + j * C
                    for c in 0..<C { cur[c] += w[c] }
                }
            }
            let sg = sgOut + (b * T + t) * C
            for c in 0..<C {
                let (m, spike) = neuron.step(membrane: mem[c], input: cur[c])
                mem[c] = m
                if spike { cnt[c] += 1 }
                sg[c] = ctx.surrogate.derivative(m - thr)
            }
            if let trace = membraneTrace {
                for c in 0..<C { trace[(b * T + t) * C + c] = mem[c] }
            }
        }
        guard let delta else { return }
        let label = ctx.labels[b]
        for c in 0..<C {
            g[c] = SpikeCountLoss.spikeGradient(count: Int(cnt[c]), target: c == label ? ctx.on : ctx.off,
                                                batch: ctx.batch, classes: C, steps: T)
            d[c] = 0
        }
        let beta = neuron.beta
        for t in stride(from: T - 1, through: 0, by: -1) {
            let sg = sgOut + (b * T + t) * C
            let out = delta + (b * T + t) * C
            for c in 0..<C {
                let v = g[c] * sg[c] + beta * d[c]
                d[c] = v
                out[c] = v
            }
        }
    }

    /// Regroups the entries of a group of recordings by input (ascending); each input's
    /// occurrences are ordered by recording (ascending), then step (descending), and point at
    /// the position `((b − first)·T + t)·64` of dL/dmem1 in a tile's block. Returns the number
    /// of distinct inputs.
    static func buildGroupIndex(_ ctx: Context, _ ev: Events, members: Range<Int>,
                                counter: UnsafeMutablePointer<Int32>, index: InputIndex) -> Int {
        let inputs = ctx.shape.inputs, T = ctx.steps, W = NetworkShape.tileWidth
        counter.update(repeating: 0, count: inputs)
        for b in members {
            let base = ctx.stepBase[b]
            for e in Int(ev.stepStart[base]) ..< Int(ev.stepStart[base + ctx.stepCount[b]]) {
                counter[Int(ev.inputs[e])] &+= 1
            }
        }
        var k = 0, running: Int32 = 0
        for i in 0..<inputs where counter[i] != 0 {
            let n = counter[i]
            index.distinctInput[k] = Int32(i)
            counter[i] = running
            running &+= n
            index.distinctEnd[k] = running
            k += 1
        }
        for b in members {
            let base = ctx.stepBase[b]
            for t in stride(from: ctx.stepCount[b] - 1, through: 0, by: -1) {
                let position = Int32(((b - members.lowerBound) * T + t) * W)
                for e in Int(ev.stepStart[base + t]) ..< Int(ev.stepStart[base + t + 1]) {
                    let i = Int(ev.inputs[e])
                    let q = Int(counter[i])
                    counter[i] = Int32(q + 1)
                    index.occurrenceOffset[q] = position
                    index.occurrenceCount[q] = Float(ev.counts[e])
                }
            }
        }
        return k
    }

    /// Phase 3, backward in time, for one tile and one recording, from the surrogate values
    /// phase 1 stored ([T][64] at `surrogate`, overwritten with dL/dmem1):
    /// `dmem1[t] = (W2ᵀ·dmem2[t])·sg[t] + β·dmem1[t+1]`, `db1` summed, `dW2` from the spiking neurons.
    static func hiddenBackward(_ ctx: Context, tile: Int, recording b: Int,
                               w2t: UnsafePointer<Float>, bits: UnsafePointer<UInt64>, delta: UnsafePointer<Float>,
                               surrogate: UnsafeMutablePointer<Float>, biasGradient: inout Lanes,
                               dw2: UnsafeMutablePointer<Float>) {
        let W = NetworkShape.tileWidth, T = ctx.steps, C = ctx.shape.outputs, hp = ctx.shape.paddedHidden
        let tiles = ctx.shape.tileCount
        let j0 = tile * W
        let betaV = V8(repeating: ctx.neuron.beta)
        var d = Lanes(repeating: 0)
        var s = biasGradient
        for t in stride(from: T - 1, through: 0, by: -1) {
            let dm2 = delta + (b * T + t) * C
            // dL/dspk1 = W2ᵀ · dmem2[t] for the tile.
            var g = Lanes(repeating: 0)
            for c in 0..<C { g.addProduct(dm2[c], w2t + c * hp + j0) }
            let slot = surrogate + t * W
            d = g.map(Lanes(slot)) { $0 * $1 }.map(d) { $0 + betaV * $1 }
            d.store(slot)
            s = s.map(d) { $0 + $1 }
            // dW2[j] += dmem2[t] for the tile's spiking neurons.
            var word = bits[(b * T + t) * tiles + tile]
            while word != 0 {
                let j = j0 + word.trailingZeroBitCount
                word &= word &- 1
                let row = dw2 + j * C
                for c in 0..<C { row[c] += dm2[c] }
            }
        }
        biasGradient = s
    }

    /// Phase 3, weight gradient of one tile over a group: `dW1[input] += count · dmem1` for
    /// every occurrence of every active input, each row read and written once per group, its
    /// updates in (recording ascending, step descending) order — the same order, hence the
    /// same bits, as a scatter recording by recording and step by step. Two rows at a time,
    /// so that their independent chains of fused multiply-adds overlap.
    static func weightGradient(_ ctx: Context, tile: Int, index: InputIndex, rows: Range<Int>,
                               delta: UnsafePointer<Float>, dw1: UnsafeMutablePointer<Float>) {
        let W = NetworkShape.tileWidth
        let dw1Tile = dw1 + tile * ctx.shape.inputs * W
        @inline(__always) func add(_ acc: inout Lanes, _ q: Int) {
            acc.addProduct(index.occurrenceCount[q], delta + Int(index.occurrenceOffset[q]))
        }
        var k = rows.lowerBound
        var start = k == 0 ? 0 : Int(index.distinctEnd[k - 1])
        let distinctCount = rows.upperBound
        while k + 1 < distinctCount {
            let rowA = dw1Tile + Int(index.distinctInput[k]) &* W
            let rowB = dw1Tile + Int(index.distinctInput[k + 1]) &* W
            let endA = Int(index.distinctEnd[k]), endB = Int(index.distinctEnd[k + 1])
            var a = Lanes(rowA), c = Lanes(rowB)
            let shared = min(endA - start, endB - endA)
            for q in 0..<shared { add(&a, start + q); add(&c, endA + q) }
            for q in (start + shared)..<endA { add(&a, q) }
            for q in (endA + shared)..<endB { add(&c, q) }
            a.store(rowA)
            c.store(rowB)
            start = endB
            k += 2
        }
        if k < distinctCount {
            let row = dw1Tile + Int(index.distinctInput[k]) &* W
            var acc = Lanes(row)
            for q in start..<Int(index.distinctEnd[k]) { add(&acc, q) }
            acc.store(row)
        }
    }
}
