import Foundation
import SpikeEvents

/// What one batch produced: spike counts, predictions and the MSE spike-count loss.
public struct BatchOutput: Sendable, Equatable {
    /// Padded length T of the batch (its longest recording).
    public var steps: Int
    /// Output spike counts, [B][outputs] row-major.
    public var counts: [Int32]
    /// `accuracy_rate` prediction of each recording.
    public var predictions: [Int]
    /// Recordings whose prediction equals the label.
    public var correct: Int
    /// `mse_count_loss` of the batch (without the L2 term).
    public var loss: Double
    /// Hidden spikes in the whole batch (padded steps included).
    public var hiddenSpikes: Int
}

/// Per-step membranes and spikes of a batch, for parity tests and debugging.
public struct BatchTrace: Sendable {
    public var steps: Int
    /// [B][T][hidden]
    public var hiddenMembrane: [Float]
    public var hiddenSpikes: [UInt8]
    /// [B][T][outputs]
    public var outputMembrane: [Float]
    public var outputSpikes: [UInt8]
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
/// 3. **Hidden backward**, per tile and per recording: the tile's forward is recomputed
///    (cheaper than storing T×H surrogate values for the whole batch), then backward in time
///    `dmem1[t] = (W2ᵀ·dmem2[t])·sg(mem1[t]−thr) + β·dmem1[t+1]`, and `dW1` is scattered into the
///    active inputs' rows only; `dW2` accumulates from the spiking neurons only.
///
/// Phases 1 and 3 run the tiles on `threads` threads (tile k on thread k mod threads); each
/// gradient element is summed by one thread in a fixed order, so results are bit-identical
/// for every thread count. Phase 2 runs recordings in parallel into per-recording buffers.
///
/// Forward sums are evaluated as `((b + c₁·w₁) + c₂·w₂) + …` with fused multiply-adds in
/// ascending input (or hidden) order, which the dense reference in the tests reproduces bit
/// for bit; padded steps (no input) still run, as with snnTorch after `PadTensors`.
public final class SpikeEngine {
    public let shape: NetworkShape
    public let neuron: LeakyParameters
    public let surrogate: ArctanSurrogate
    public let lossFunction: SpikeCountLoss
    public let threads: Int

    // Per-batch buffers, grown on demand.
    private var spikeBits: [UInt32] = []   // [B][T][tiles]
    private var outSurrogate: [Float] = [] // [B][T][C]
    private var outDelta: [Float] = []     // [B][T][C]  dL/dmem2
    private var counts: [Int32] = []       // [B][C]
    private var w2Transposed: [Float] = [] // [C][paddedHidden]
    private var scratch: [Workspace<Float>] // per thread: [T][tileWidth] surrogate values, then 4×[C]
    private let hiddenTraceBuffer = Workspace<Float>()
    private let outputTraceBuffer = Workspace<Float>()

    public init(shape: NetworkShape, neuron: LeakyParameters, surrogate: ArctanSurrogate = ArctanSurrogate(),
                loss: SpikeCountLoss, threads: Int = 1) {
        self.shape = shape
        self.neuron = neuron
        self.surrogate = surrogate
        self.lossFunction = loss
        self.threads = max(1, threads)
        scratch = (0..<max(1, threads)).map { _ in Workspace<Float>() }
    }

    public convenience init(shape: NetworkShape, hyperparameters h: Hyperparameters, threads: Int = 1) {
        self.init(shape: shape, neuron: LeakyParameters(beta: h.beta, threshold: h.threshold),
                  loss: SpikeCountLoss(ratio: h.targetRatio), threads: threads)
    }

    /// The batch's recordings located in `frames`.
    struct BatchLayout {
        var stepBase: [Int]   // first global step of each recording
        var stepCount: [Int]  // its own length
        var labels: [Int]
        var steps: Int        // padded length T
    }

    func layout(_ frames: FrameSet, _ batch: [Int]) -> BatchLayout {
        var base = [Int](), count = [Int](), labels = [Int]()
        for r in batch {
            base.append(Int(frames.recordingStepStart[r]))
            count.append(frames.stepCount(of: r))
            labels.append(Int(frames.labels[r]))
        }
        return BatchLayout(stepBase: base, stepCount: count, labels: labels, steps: count.max() ?? 0)
    }

    private func prepare(batchSize b: Int, steps t: Int) {
        let tiles = shape.tileCount, c = shape.outputs
        func grow<T: Numeric>(_ a: inout [T], _ n: Int) { if a.count < n { a = [T](repeating: 0, count: n) } }
        grow(&spikeBits, b * t * tiles)
        grow(&outSurrogate, b * t * c)
        grow(&outDelta, b * t * c)
        grow(&counts, b * c)
        grow(&w2Transposed, c * shape.paddedHidden)
        for buffer in scratch { buffer.reserve(t * NetworkShape.tileWidth + 4 * c) }
    }

    // MARK: - Public entry points

    /// Forward pass only: spike counts, predictions and loss of `batch` (indices into `frames`).
    public func forward(_ parameters: NetworkParameters, frames: FrameSet, batch: [Int]) -> BatchOutput {
        run(parameters, frames: frames, batch: batch, gradients: nil, tracing: false)
    }

    /// Forward and backward pass. `gradients` receives dL/dθ of the MSE spike-count loss alone
    /// (the L2 term's `2λW` is added by the trainer); it is overwritten, not accumulated.
    public func forwardBackward(_ parameters: NetworkParameters, frames: FrameSet, batch: [Int],
                                gradients: inout NetworkParameters) -> BatchOutput {
        run(parameters, frames: frames, batch: batch, gradients: &gradients, tracing: false)
    }

    /// Forward pass recording every membrane and spike (slow; for tests).
    public func trace(_ parameters: NetworkParameters, frames: FrameSet, batch: [Int]) -> (BatchOutput, BatchTrace) {
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
        let training = gradients != nil
        let loss = lossFunction.targets(steps: T)
        if training {
            for c in 0..<C { for j in 0..<shape.paddedHidden { w2Transposed[c * shape.paddedHidden + j] = parameters.w2[j * C + c] } }
            gradients!.pointee.zero()
        }
        let ctx = Context(shape: shape, neuron: neuron, surrogate: surrogate, steps: T,
                          stepBase: lay.stepBase, stepCount: lay.stepCount, labels: lay.labels,
                          on: loss.on, off: loss.off, batch: bCount)

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
            let hiddenTrace = tracing ? hiddenTraceBuffer.pointer : nil
            let outTrace = tracing ? outputTraceBuffer.pointer : nil

            // Phase 1: hidden forward, tile by tile.
            perThread { th in
                for tile in stride(from: th, to: tiles, by: self.threads) {
                    for b in 0..<bCount {
                        Kernels.hiddenForward(ctx, ev, tile: tile, recording: b,
                                              w1: w1.baseAddress!, b1: b1.baseAddress!,
                                              bits: bits.baseAddress!, surrogateOut: nil,
                                              membraneTrace: hiddenTrace)
                    }
                }
            }
            // Phase 2: output layer, recording by recording.
            perThread { th in
                for b in stride(from: th, to: bCount, by: self.threads) {
                    Kernels.outputLayer(ctx, recording: b, bits: bits.baseAddress!, w2: w2.baseAddress!, b2: b2.baseAddress!,
                                        counts: cnt.baseAddress!, surrogate: outSg.baseAddress!,
                                        delta: training ? outD.baseAddress! : nil,
                                        scratch: scratchPointers[th], membraneTrace: outTrace)
                }
            }
            guard let gradients else { return }
            let g = gradients
            g.pointee.w1.withUnsafeMutableBufferPointer { dw1 in
            g.pointee.b1.withUnsafeMutableBufferPointer { db1 in
            g.pointee.w2.withUnsafeMutableBufferPointer { dw2 in
            g.pointee.b2.withUnsafeMutableBufferPointer { db2 in
                // Phase 3: hidden backward, tile by tile.
                perThread { th in
                    for tile in stride(from: th, to: tiles, by: self.threads) {
                        for b in 0..<bCount {
                            Kernels.hiddenBackward(ctx, ev, tile: tile, recording: b,
                                                   w1: w1.baseAddress!, b1: b1.baseAddress!, w2t: w2t.baseAddress!,
                                                   bits: bits.baseAddress!, delta: outD.baseAddress!,
                                                   scratch: scratchPointers[th],
                                                   dw1: dw1.baseAddress!, db1: db1.baseAddress!, dw2: dw2.baseAddress!)
                        }
                    }
                }
                // db2 = Σ_b Σ_t dmem2, in a fixed order.
                for b in 0..<bCount {
                    for t in 0..<T {
                        for c in 0..<C { db2[c] += outD[(b * T + t) * C + c] }
                    }
                }
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

    private func perThread(_ body: (Int) -> Void) {
        if threads == 1 { body(0) } else { DispatchQueue.concurrentPerform(iterations: threads, execute: body) }
    }
}

/// A growable raw buffer owned by the engine (stable address between `reserve` calls).
final class Workspace<Element: Numeric> {
    private(set) var pointer: UnsafeMutablePointer<Element>
    private(set) var capacity: Int

    init() {
        capacity = 0
        pointer = .allocate(capacity: 1)
    }

    /// Makes room for `count` elements (contents are not preserved when it grows).
    func reserve(_ count: Int) {
        guard count > capacity else { return }
        pointer.deallocate()
        pointer = .allocate(capacity: count)
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
}

/// Raw views of a frame set's sparse entries.
struct Events {
    let inputs: UnsafePointer<UInt16>
    let counts: UnsafePointer<UInt8>
    let stepStart: UnsafePointer<Int32>
}

typealias V8 = SIMD8<Float>

enum Kernels {
    static let lanePowers = SIMD8<UInt32>(1, 2, 4, 8, 16, 32, 64, 128)

    @inline(__always)
    static func load(_ p: UnsafePointer<Float>, _ offset: Int) -> V8 {
        UnsafeRawPointer(p + offset).loadUnaligned(as: V8.self)
    }

    @inline(__always)
    static func store(_ v: V8, _ p: UnsafeMutablePointer<Float>, _ offset: Int) {
        UnsafeMutableRawPointer(p + offset).storeBytes(of: v, as: V8.self)
    }

    @inline(__always)
    static func maskBits(_ mask: SIMDMask<SIMD8<Int32>>) -> UInt32 {
        SIMD8<UInt32>(repeating: 0).replacing(with: lanePowers, where: mask).wrappedSum()
    }

    /// The tile's input current at step t: b1 + Σ count·W1[input] over the active inputs (FMA,
    /// ascending input order), then one Leaky step. Returns the new membrane in 4 vectors.
    @inline(__always)
    static func leakyStep(_ ev: Events, entries: Range<Int>, w1Tile: UnsafePointer<Float>,
                          bias: (V8, V8, V8, V8), mem: inout (V8, V8, V8, V8), beta: Float, thr: Float) {
        var a0 = bias.0, a1 = bias.1, a2 = bias.2, a3 = bias.3
        for e in entries {
            let row = w1Tile + Int(ev.inputs[e]) &* NetworkShape.tileWidth
            let c = Float(ev.counts[e])
            a0 = a0.addingProduct(c, load(row, 0))
            a1 = a1.addingProduct(c, load(row, 8))
            a2 = a2.addingProduct(c, load(row, 16))
            a3 = a3.addingProduct(c, load(row, 24))
        }
        let zero = V8(repeating: 0), thrV = V8(repeating: thr)
        @inline(__always) func step(_ m: V8, _ a: V8) -> V8 {
            let reset = zero.replacing(with: thrV, where: m .> thrV)
            return ((beta * m) + a) - reset
        }
        mem = (step(mem.0, a0), step(mem.1, a1), step(mem.2, a2), step(mem.3, a3))
    }

    @inline(__always)
    static func entryRange(_ ctx: Context, _ ev: Events, recording b: Int, step t: Int) -> Range<Int> {
        guard t < ctx.stepCount[b] else { return 0..<0 }
        let s = ctx.stepBase[b] + t
        return Int(ev.stepStart[s]) ..< Int(ev.stepStart[s + 1])
    }

    /// Phase 1 for one tile and one recording: spike bits, and optionally surrogate values
    /// [T][32] and membranes (trace, [B][T][paddedHidden]).
    static func hiddenForward(_ ctx: Context, _ ev: Events, tile: Int, recording b: Int,
                              w1: UnsafePointer<Float>, b1: UnsafePointer<Float>,
                              bits: UnsafeMutablePointer<UInt32>, surrogateOut: UnsafeMutablePointer<Float>?,
                              membraneTrace: UnsafeMutablePointer<Float>?) {
        let W = NetworkShape.tileWidth, T = ctx.steps, tiles = ctx.shape.tileCount
        let w1Tile = w1 + tile * ctx.shape.inputs * W
        let j0 = tile * W
        let bias = (load(b1, j0), load(b1, j0 + 8), load(b1, j0 + 16), load(b1, j0 + 24))
        let beta = ctx.neuron.beta, thr = ctx.neuron.threshold
        let thrV = V8(repeating: thr)
        var mem = (V8(repeating: 0), V8(repeating: 0), V8(repeating: 0), V8(repeating: 0))
        for t in 0..<T {
            leakyStep(ev, entries: entryRange(ctx, ev, recording: b, step: t), w1Tile: w1Tile,
                      bias: bias, mem: &mem, beta: beta, thr: thr)
            let word = maskBits(mem.0 .> thrV) | maskBits(mem.1 .> thrV) << 8 | maskBits(mem.2 .> thrV) << 16 | maskBits(mem.3 .> thrV) << 24
            bits[(b * T + t) * tiles + tile] = word
            if let sg = surrogateOut {
                let o = t * W
                store(ctx.surrogate.derivative(mem.0 - thrV), sg, o)
                store(ctx.surrogate.derivative(mem.1 - thrV), sg, o + 8)
                store(ctx.surrogate.derivative(mem.2 - thrV), sg, o + 16)
                store(ctx.surrogate.derivative(mem.3 - thrV), sg, o + 24)
            }
            if let trace = membraneTrace {
                let o = (b * T + t) * ctx.shape.paddedHidden + j0
                store(mem.0, trace, o); store(mem.1, trace, o + 8); store(mem.2, trace, o + 16); store(mem.3, trace, o + 24)
            }
        }
    }

    /// Phase 2 for one recording: output currents from the spiking hidden neurons, Leaky steps,
    /// counts, and (when `delta` is given) the output layer's BPTT into `delta` [T][C].
    static func outputLayer(_ ctx: Context, recording b: Int, bits: UnsafePointer<UInt32>,
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

    /// Phase 3 for one tile and one recording: recompute the tile's forward (surrogate values
    /// into `scratch`), then BPTT backward in time, scattering dW1 into the active inputs' rows.
    static func hiddenBackward(_ ctx: Context, _ ev: Events, tile: Int, recording b: Int,
                               w1: UnsafePointer<Float>, b1: UnsafePointer<Float>, w2t: UnsafePointer<Float>,
                               bits: UnsafeMutablePointer<UInt32>, delta: UnsafePointer<Float>,
                               scratch: UnsafeMutablePointer<Float>,
                               dw1: UnsafeMutablePointer<Float>, db1: UnsafeMutablePointer<Float>,
                               dw2: UnsafeMutablePointer<Float>) {
        let W = NetworkShape.tileWidth, T = ctx.steps, C = ctx.shape.outputs, hp = ctx.shape.paddedHidden
        let tiles = ctx.shape.tileCount
        hiddenForward(ctx, ev, tile: tile, recording: b, w1: w1, b1: b1, bits: bits,
                      surrogateOut: scratch, membraneTrace: nil)
        let j0 = tile * W
        let dw1Tile = dw1 + tile * ctx.shape.inputs * W
        let betaV = V8(repeating: ctx.neuron.beta)
        var d0 = V8(repeating: 0), d1 = d0, d2 = d0, d3 = d0
        var s0 = load(db1, j0), s1 = load(db1, j0 + 8), s2 = load(db1, j0 + 16), s3 = load(db1, j0 + 24)
        for t in stride(from: T - 1, through: 0, by: -1) {
            let dm2 = delta + (b * T + t) * C
            // dL/dspk1 = W2ᵀ · dmem2[t] for the tile.
            var g0 = V8(repeating: 0), g1 = g0, g2 = g0, g3 = g0
            for c in 0..<C {
                let w = w2t + c * hp + j0
                let x = dm2[c]
                g0 = g0.addingProduct(x, load(w, 0))
                g1 = g1.addingProduct(x, load(w, 8))
                g2 = g2.addingProduct(x, load(w, 16))
                g3 = g3.addingProduct(x, load(w, 24))
            }
            let sg = UnsafePointer(scratch) + t * W
            d0 = g0 * load(sg, 0) + betaV * d0
            d1 = g1 * load(sg, 8) + betaV * d1
            d2 = g2 * load(sg, 16) + betaV * d2
            d3 = g3 * load(sg, 24) + betaV * d3
            s0 += d0; s1 += d1; s2 += d2; s3 += d3
            // dW2[j] += dmem2[t] for the tile's spiking neurons.
            var word = bits[(b * T + t) * tiles + tile]
            while word != 0 {
                let j = j0 + word.trailingZeroBitCount
                word &= word &- 1
                let row = dw2 + j * C
                for c in 0..<C { row[c] += dm2[c] }
            }
            // dW1[input] += count · dmem1[t] for the active inputs.
            for e in entryRange(ctx, ev, recording: b, step: t) {
                let row = dw1Tile + Int(ev.inputs[e]) &* W
                let c = Float(ev.counts[e])
                store(load(row, 0).addingProduct(c, d0), row, 0)
                store(load(row, 8).addingProduct(c, d1), row, 8)
                store(load(row, 16).addingProduct(c, d2), row, 16)
                store(load(row, 24).addingProduct(c, d3), row, 24)
            }
        }
        store(s0, db1, j0); store(s1, db1, j0 + 8); store(s2, db1, j0 + 16); store(s3, db1, j0 + 24)
    }
}
