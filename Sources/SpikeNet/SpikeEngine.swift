import CSpikeSIMD
import Dispatch
import SpikeEvents

/// The event-driven engine: forward and BPTT backward of
/// Linear(inputs→H) → Leaky → Linear(H→outputs) → Leaky on sparse frames.
///
/// Work per batch (B recordings, padded length T), in three phases:
/// 1. **Hidden forward** (`SpikeEngine+Forward.swift`), per half tile of 32 hidden neurons
///    (half of a `NetworkShape.tileWidth` tile; its slice of W1, 296 KB, is contiguous and stays
///    in L2 while the group's recordings run through it) and per recording, in two passes over
///    the recording's [T][32] block (which stays in L1): the input currents
///    `b1 + Σ count·W1[input]` over each step's *active* inputs only (a gather of their rows,
///    ~25 of 2312 per step on N-MNIST), two steps at a time; then the Leaky time loop (with the
///    AVX-512 kernels, per tile and in the same pass). Spikes are kept as bits, and when
///    training the surrogate derivatives `sg(mem1[t]−thr)` are kept in the block for phase 3.
///    Alongside, when training with the index (below), the index of the group's entries by
///    input (`SpikeEngine+InputIndex.swift`).
/// 2. **Output layer** (`SpikeEngine+Forward.swift`), per recording, sixteen classes at a time:
///    the current is `b2 + Σ W2[j]` over the *spiking* hidden neurons j (spikes are binary and
///    sparse), the Leaky step, counts, loss and when training the output layer's BPTT
///    `dmem2[t] = g·sg(mem2[t]−thr) + β·dmem2[t+1]`, `g = 2(count−target)/(B·C·T)`.
/// 3. **Hidden backward** (`SpikeEngine+Backward.swift`), per tile and per recording, from the
///    surrogate values phase 1 kept: backward in time
///    `dmem1[t] = (W2ᵀ·dmem2[t])·sg(mem1[t]−thr) + β·dmem1[t+1]`, `db1`, and `dW2` from the
///    spiking neurons only. Then `dW1` is updated per half tile only in the rows of the active
///    inputs, its updates applied in (recording, descending step) order: from the index of the
///    group's entries by input, each row read and written once per group; or, with the AVX-512
///    kernels on networks of up to two tiles, where building the index would cost more than it
///    saves, directly from each recording's steps, inside the backward time loop as soon as a
///    step's dL/dmem1 is known (`EngineTuning.WeightGradient`). Last, `db2 = Σ dmem2`.
///
/// Where a batch's frames are dense, phases 1 and 3 take the dense path instead
/// (`SpikeEngine+Dense.swift`, `EngineTuning.inputs`): OpenBLAS products on the group's frames.
///
/// The batch runs in groups of `tuning.groupSize` recordings so that the kept surrogate values
/// stay in cache. Each phase is a list of independent items that `threads` workers (the calling
/// thread and the engine's `WorkerPool`) take as they become free: (half tile, recording) pairs
/// — (tile, recording) pairs with the AVX-512 kernels — and the item building the group's input
/// index in phase 1; recordings in phase 2; whole tiles for the backward time loop and (half
/// tile, row range) — or half tiles, without the index and the AVX-512 kernels — for the dW1
/// update in phase 3. Each gradient element is summed by one worker in a fixed order, so
/// results are bit-identical for every thread count, schedule, group size, huge-page setting,
/// kernel set and dW1 path.
///
/// Forward sums are evaluated as `((b + c₁·w₁) + c₂·w₂) + …` in ascending input (or hidden)
/// order: fused multiply-adds for the hidden layer, plain additions of W2 rows for the output
/// layer (a spike is 1, so each equals a fused multiply-add). The dense reference in the tests
/// reproduces this bit for bit; padded steps (no input) still run, as with snnTorch after
/// `PadTensors`.
///
/// An engine keeps per-batch buffers between calls: use one engine from one thread at a time
/// (it runs its own workers inside a call).
package final class SpikeEngine {
    package let shape: NetworkShape
    package let neuron: LeakyParameters
    package let surrogate: ArctanSurrogate
    package let lossFunction: SpikeCountLoss
    package let threads: Int
    /// Group size and memory hints; results do not depend on them.
    package let tuning: EngineTuning
    /// Wall time spent in each phase since the engine was made (hidden forward with the input
    /// index, output layer, hidden backward), for profiling.
    package private(set) var phaseSeconds: [Double] = [0, 0, 0]
    /// Whether the last batch took the dense path (`EngineTuning.inputs`).
    package private(set) var lastBatchWasDense = false

    /// Recordings per group (see `EngineTuning.groupSize`).
    private let groupSize: Int
    /// Whether the event-driven path sums dW1 without the input index
    /// (`EngineTuning.sumsWeightGradientDirectly`).
    package let sumsWeightGradientDirectly: Bool

    // Per-batch buffers, grown on demand; their addresses stay put between calls.
    private let spikeBits: Workspace<UInt64>        // [B][T][tiles]
    private let hiddenSurrogate: Workspace<Float>   // [tiles][2][min(B, group)][T][32]: currents, sg(mem1−thr), dL/dmem1
    private let outputSurrogate: Workspace<Float>   // [B][T][classStride]: sg(mem2−thr)
    private let outputDelta: Workspace<Float>       // [B][T][classStride]: dL/dmem2
    private let counts: Workspace<Int32>            // [B][C]
    private let w2Transposed: Workspace<Float>      // [C][paddedHidden]
    private let inputIndex: InputIndexStorage       // the group's entries by input, for dW1
    private let w2Padded: Workspace<Float>          // [paddedHidden][classStride]: W2, zero padded
    private let w2GradientPadded: Workspace<Float>  // [paddedHidden][classStride]: dW2 of the batch
    private let counter: Workspace<Int32>           // one counter per input, for the input index
    let pool: WorkerPool                            // the `threads − 1` helper threads (Adam's too)
    private let denseInputs: Workspace<Float>       // [min(B, group)][T][inputs]: a group's frames, dense path only
    private let hiddenTrace: Workspace<Float>       // [B][T][paddedHidden], for `trace`
    private let outputTrace: Workspace<Float>       // [B][T][C], for `trace`

    package init(shape: NetworkShape, neuron: LeakyParameters, surrogate: ArctanSurrogate = ArctanSurrogate(),
                loss: SpikeCountLoss, threads: Int = 1, tuning: EngineTuning = EngineTuning()) {
        self.shape = shape
        self.neuron = neuron
        self.surrogate = surrogate
        self.lossFunction = loss
        self.threads = max(1, threads)
        self.tuning = tuning
        groupSize = max(1, tuning.groupSize)
        sumsWeightGradientDirectly = tuning.sumsWeightGradientDirectly(shape, avx512: tuning.runsAVX512)
        let hugePages = tuning.hugePages
        spikeBits = Workspace(hugePages: hugePages)
        hiddenSurrogate = Workspace(hugePages: hugePages)
        outputSurrogate = Workspace(hugePages: hugePages)
        outputDelta = Workspace(hugePages: hugePages)
        counts = Workspace(hugePages: hugePages)
        w2Transposed = Workspace(hugePages: hugePages)
        inputIndex = InputIndexStorage(hugePages: hugePages)
        w2Padded = Workspace(hugePages: hugePages)
        w2GradientPadded = Workspace(hugePages: hugePages)
        counter = Workspace(hugePages: hugePages)
        pool = WorkerPool(threads: self.threads)
        denseInputs = Workspace(hugePages: hugePages)
        hiddenTrace = Workspace(hugePages: hugePages)
        outputTrace = Workspace(hugePages: hugePages)
    }

    package convenience init(shape: NetworkShape, hyperparameters h: Hyperparameters, threads: Int = 1,
                             tuning: EngineTuning = EngineTuning()) {
        self.init(shape: shape, neuron: LeakyParameters(beta: h.beta, threshold: h.threshold),
                  loss: SpikeCountLoss(ratio: h.targetRatio), threads: threads, tuning: tuning)
    }

    // MARK: - Entry points

    /// Checks that `frames` can be fed to a network of `shape`: labels below the output count,
    /// input indices below the input count, every recording at least one step long, and
    /// consistent offsets. The engine itself does not check (it reads raw pointers).
    /// - Complexity: O(entries).
    package static func check(_ frames: FrameSet, shape: NetworkShape) throws {
        func fail(_ message: String) -> TrainingError { .invalidInput("frames: \(message)") }
        let s = frames.storage
        guard s.recordingStepStart.count == s.labels.count + 1, s.recordingStepStart.first == 0,
              Int(s.recordingStepStart.last!) == s.stepEntryStart.count - 1,
              s.stepEntryStart.first == 0, Int(s.stepEntryStart.last!) == s.inputs.count,
              s.counts.count == s.inputs.count else { throw fail("inconsistent offsets") }
        for r in 0..<frames.count {
            guard Int(frames.label(of: r)) < shape.outputs else {
                throw fail("recording \(r) has label \(frames.label(of: r)), outside 0..<\(shape.outputs)")
            }
            let steps = frames.stepRange(of: r)
            guard !steps.isEmpty else { throw fail("recording \(r) has no steps") }
            for k in steps where s.stepEntryStart[k + 1] < s.stepEntryStart[k] { throw fail("inconsistent offsets") }
            let entries = Int(s.stepEntryStart[steps.lowerBound])..<Int(s.stepEntryStart[steps.upperBound])
            if let bad = s.inputs.base[entries].first(where: { Int($0) >= shape.inputs }) {
                throw fail("input index \(bad) is outside 0..<\(shape.inputs)")
            }
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
        gradients.zero()
        return gradients.withRawGradients { g in
            run(parameters, frames: frames, batch: batch, gradients: g, tracing: false)
        }
    }

    /// Forward pass recording every membrane and spike (slow; for tests).
    package func trace(_ parameters: NetworkParameters, frames: FrameSet, batch: [Int]) -> (BatchOutput, BatchTrace) {
        let out = run(parameters, frames: frames, batch: batch, gradients: nil, tracing: true)
        // Drop the padding of the hidden layer and derive spikes.
        let t = out.steps, hp = shape.paddedHidden, h = shape.hidden
        var mem = [Float](); mem.reserveCapacity(batch.count * t * h)
        for row in 0..<(batch.count * t) {
            mem.append(contentsOf: UnsafeBufferPointer(start: hiddenTrace.pointer + row * hp, count: h))
        }
        let outMem = Array(UnsafeBufferPointer(start: outputTrace.pointer, count: batch.count * t * shape.outputs))
        let thr = neuron.threshold
        let trace = BatchTrace(steps: t, hiddenMembrane: mem, hiddenSpikes: mem.map { $0 - thr > 0 ? 1 : 0 },
                               outputMembrane: outMem, outputSpikes: outMem.map { $0 - thr > 0 ? 1 : 0 })
        return (out, trace)
    }

    // MARK: - The three phases

    /// One batch: the three phases group by group; with `gradients` (zeroed by the caller) the
    /// backward pass too, otherwise the forward pass only.
    private func run(_ parameters: NetworkParameters, frames: FrameSet, batch: [Int],
                     gradients: RawGradients?, tracing: Bool) -> BatchOutput {
        precondition(parameters.shape == shape, "parameters do not match the engine's network shape")
        precondition(!batch.isEmpty, "empty batch")
        let ctx = Context(frames: frames, batch: batch, shape: shape, neuron: neuron, surrogate: surrogate,
                          loss: lossFunction, avx512: usesAVX512)
        let training = gradients != nil
        let dense = usesDenseInputs(ctx)
        lastBatchWasDense = dense
        reserve(for: ctx, training: training, tracing: tracing, dense: dense)
        frames.withEvents { ev in
            parameters.withRawParameters { p in
                prepareW2(ctx, p.w2, b2: p.b2, training: training)
                var clock = DispatchTime.now().uptimeNanoseconds
                func lap(_ phase: Int) {
                    let now = DispatchTime.now().uptimeNanoseconds
                    phaseSeconds[phase] += Double(now - clock) / 1e9
                    clock = now
                }
                // Every gradient element is still summed over the recordings in ascending order.
                for first in stride(from: 0, to: ctx.batch, by: groupSize) {
                    let group = first..<min(first + groupSize, ctx.batch)
                    let distinctInputs = dense
                        ? runDenseHiddenForward(ctx, ev, p, group: group, training: training, tracing: tracing)
                        : runHiddenForward(ctx, ev, p, group: group, training: training, tracing: tracing)
                    lap(0)
                    runOutputLayer(ctx, p, group: group, training: training, tracing: tracing)
                    lap(1)
                    guard let gradients else { continue }
                    runHiddenBackward(ctx, ev, group: group, distinctInputs: distinctInputs, dense: dense, into: gradients)
                    lap(2)
                }
                if let gradients {
                    sumOutputBiasGradient(ctx, into: gradients.b2)
                    copyW2Gradient(ctx, into: gradients.w2)
                }
            }
        }
        return output(ctx)
    }

    /// Phase 1 for `group`: one item per half tile and recording (with the AVX-512 kernels and
    /// no trace, per tile and recording), in tile order, so that a worker taking consecutive
    /// items (from either end) runs a half tile's (or tile's) recordings one after the other
    /// while its slice of W1 stays in its caches; and, when training with the index (not
    /// `sumsWeightGradientDirectly`), one more (taken first) that builds the group's input index
    /// for phase 3. Items of one recording rather than of the whole group leave less of the
    /// phase to one worker at its end. Returns the index's number of distinct inputs (0 without
    /// an index).
    private func runHiddenForward(_ ctx: Context, _ ev: Events, _ p: RawParameters, group: Range<Int>,
                                  training: Bool, tracing: Bool) -> Int {
        let bits = spikeBits.pointer, kept = surrogateBlocks(ctx, group: group)
        let trace = tracing ? hiddenTrace.pointer : nil
        let counter = counter.pointer, index = inputIndex.index
        let extra = training && !sumsWeightGradientDirectly ? 1 : 0
        var distinctInputs = 0
        let byTile = ctx.avx512 && !tracing, m = group.count, halves = byTile ? 1 : 2
        pool.forEachItem(shape.tileCount * halves * m + extra) { _, taken in
            if extra == 1 && taken == 0 {
                distinctInputs = Self.buildGroupIndex(ctx, ev, members: group, counter: counter, index: index)
                return
            }
            let item = taken - extra, b = group.lowerBound + item % m
            if byTile {
                let tile = item / m
                Self.tileForward(ctx, ev, tile: tile, recording: b, w1: p.w1, b1: p.b1, bits: bits,
                                 low: kept.block(tile: tile, half: 0, recording: b),
                                 high: kept.block(tile: tile, half: 1, recording: b), training: training)
                return
            }
            let tile = item / (2 * m), half = item / m % 2
            Self.hiddenForward(ctx, ev, tile: tile, half: half, recording: b, w1: p.w1, b1: p.b1, bits: bits,
                               block: kept.block(tile: tile, half: half, recording: b), training: training,
                               membraneTrace: trace)
        }
        return distinctInputs
    }

    /// Phase 1 on the dense path (see `SpikeEngine+Dense.swift`): the group's frames written
    /// densely, one item per recording; then one item per tile (products, time loops). Returns 0
    /// (the dense dW1 needs no input index).
    private func runDenseHiddenForward(_ ctx: Context, _ ev: Events, _ p: RawParameters, group: Range<Int>,
                                       training: Bool, tracing: Bool) -> Int {
        let x = denseInputs.pointer, rows = ctx.steps * shape.inputs
        pool.forEachItem(group.count) { _, item in
            Self.denseFrames(ctx, ev, recording: group.lowerBound + item, rows: x + item * rows)
        }
        let bits = spikeBits.pointer, kept = surrogateBlocks(ctx, group: group)
        let trace = tracing ? hiddenTrace.pointer : nil
        pool.forEachItem(shape.tileCount) { _, tile in
            Self.denseHiddenForward(ctx, tile: tile, group: group, x: x, w1: p.w1, b1: p.b1, bits: bits,
                                    kept: kept, training: training, membraneTrace: trace)
        }
        return 0
    }

    /// Whether the CPU runs the engine's AVX-512 kernels (once per process; false on other
    /// architectures). The binary is built for AVX2 (`haswell`) and picks these at run time.
    package static let cpuHasAVX512: Bool = {
        #if arch(x86_64)
        return spike_has_avx512() != 0
        #else
        return false
        #endif
    }()

    /// Whether this engine runs its AVX-512 kernels (`EngineTuning.runsAVX512`).
    package var usesAVX512: Bool { tuning.runsAVX512 }

    /// The Adam kernel a training run with this engine takes: AVX-512 where the engine runs its
    /// AVX-512 kernels, else the fastest the CPU has (the same bits either way).
    package var adamKernel: Adam.Kernel { .fastest(avx512: usesAVX512) }

    /// Whether this batch takes the dense path: per `EngineTuning.inputs`, and only where
    /// OpenBLAS could be loaded.
    private func usesDenseInputs(_ ctx: Context) -> Bool {
        guard Self.denseUnavailableReason == nil else { return false }
        switch tuning.inputs {
        case .eventDriven: return false
        case .dense: return true
        case .automatic: return tuning.automaticTakesDensePath(density: ctx.density, avx512: usesAVX512)
        }
    }

    /// Phase 2 for `group`: one item per recording.
    private func runOutputLayer(_ ctx: Context, _ p: RawParameters, group: Range<Int>, training: Bool, tracing: Bool) {
        let m = group.count, bits = spikeBits.pointer, counts = counts.pointer, sg = outputSurrogate.pointer
        let delta = training ? outputDelta.pointer : nil, trace = tracing ? outputTrace.pointer : nil
        let w2 = w2Padded.pointer
        pool.forEachItem(m) { _, item in
            Self.outputLayer(ctx, recording: group.lowerBound + item, bits: bits, w2: w2, b2: w2 + shape.paddedHidden * ctx.classStride,
                             counts: counts, surrogate: sg, delta: delta, membraneTrace: trace)
        }
    }

    /// Phase 3 for `group`: the backward time loop, one item per tile (so a tile's bias and
    /// output-weight gradients are summed by one worker, recordings in order); then dW1, whose
    /// rows are independent, in items of (half tile, range of the group's distinct inputs), each
    /// row still updated by one worker in the same order; without the index, one item per half
    /// tile with real neurons, recordings in order (with the AVX-512 kernels, none: the time
    /// loop's items have summed it); on the dense path, products per tile.
    private func runHiddenBackward(_ ctx: Context, _ ev: Events, group: Range<Int>, distinctInputs: Int, dense: Bool,
                                   into g: RawGradients) {
        let bits = spikeBits.pointer, delta = outputDelta.pointer, w2t = w2Transposed.pointer
        let kept = surrogateBlocks(ctx, group: group), index = inputIndex.index
        // Without the index and with the AVX-512 kernels, the backward time loop sums dW1 too.
        let fused = sumsWeightGradientDirectly && ctx.avx512 && !dense
        pool.forEachItem(shape.tileCount) { _, tile in
            let biasSlot = g.b1 + tile * NetworkShape.tileWidth
            var biasGradient = Lanes(biasSlot)
            for b in group {
                Self.hiddenBackward(ctx, tile: tile, recording: b, w2t: w2t, bits: bits, delta: delta,
                                    low: kept.block(tile: tile, half: 0, recording: b),
                                    high: kept.block(tile: tile, half: 1, recording: b),
                                    biasGradient: &biasGradient, dw2: w2GradientPadded.pointer,
                                    scatter: fused ? (ev, g.w1) : nil)
            }
            biasGradient.store(biasSlot)
        }
        if dense {
            let x = denseInputs.pointer
            pool.forEachItem(shape.tileCount) { _, tile in
                Self.denseWeightGradient(ctx, tile: tile, group: group, x: x, kept: kept, dw1: g.w1)
            }
            return
        }
        if fused { return }
        if sumsWeightGradientDirectly {
            pool.forEachItem(shape.tileCount * 2) { _, halfTile in
                let tile = halfTile / 2, half = halfTile % 2
                for b in group {
                    Self.scatterWeightGradient(ctx, ev, tile: tile, half: half, recording: b,
                                               delta: kept.block(tile: tile, half: half, recording: b), dw1: g.w1)
                }
            }
            return
        }
        let parts = 2
        pool.forEachItem(shape.tileCount * 2 * parts) { _, item in
            let tile = item / (2 * parts), half = item / parts % 2, part = item % parts
            Self.weightGradient(ctx, tile: tile, half: half, index: index,
                                rows: (distinctInputs * part / parts) ..< (distinctInputs * (part + 1) / parts),
                                delta: kept.block(tile: tile, half: half, recording: group.lowerBound), dw1: g.w1)
        }
    }

    /// `db2 = Σ_b Σ_t dmem2`, in a fixed order (recordings, then steps, ascending).
    private func sumOutputBiasGradient(_ ctx: Context, into db2: UnsafeMutablePointer<Float>) {
        let C = shape.outputs, cp = ctx.classStride, T = ctx.steps, delta = outputDelta.pointer
        for k in stride(from: 0, to: cp, by: 16) {
            var sum = V16(repeating: 0)
            for row in 0..<(ctx.batch * T) { sum += V16(delta + row * cp + k) }
            for c in k..<min(k + 16, C) { db2[c] += sum[c - k] }
        }
    }

    /// dW2 of the batch, from the padded rows the hidden backward pass summed into.
    private func copyW2Gradient(_ ctx: Context, into dw2: UnsafeMutablePointer<Float>) {
        let C = shape.outputs, cp = ctx.classStride, padded = w2GradientPadded.pointer
        for j in 0..<shape.paddedHidden {
            for c in 0..<C { dw2[j * C + c] += padded[j * cp + c] }
        }
    }

    /// Counts, predictions, loss and hidden spike total of the batch just run.
    private func output(_ ctx: Context) -> BatchOutput {
        let C = shape.outputs, B = ctx.batch
        let batchCounts = Array(UnsafeBufferPointer(start: counts.pointer, count: B * C))
        var predictions = [Int](), correct = 0, hiddenSpikes = 0
        for b in 0..<B {
            let p = SpikeCountLoss.predictedClass(counts: batchCounts[(b * C)..<((b + 1) * C)])
            predictions.append(p)
            if p == ctx.labels[b] { correct += 1 }
        }
        for w in UnsafeBufferPointer(start: spikeBits.pointer, count: B * ctx.steps * shape.tileCount) {
            hiddenSpikes += w.nonzeroBitCount
        }
        let lossValue = lossFunction.loss(counts: batchCounts, labels: ctx.labels, classes: C, steps: ctx.steps)
        return BatchOutput(steps: ctx.steps, counts: batchCounts, predictions: predictions, correct: correct,
                           loss: lossValue, hiddenSpikes: hiddenSpikes)
    }

    // MARK: - Buffers

    /// Grows the per-batch buffers for `ctx`.
    private func reserve(for ctx: Context, training: Bool, tracing: Bool, dense: Bool) {
        if dense { denseInputs.reserve(min(ctx.batch, groupSize) * ctx.steps * shape.inputs) }
        let b = ctx.batch, t = ctx.steps, c = shape.outputs
        spikeBits.reserve(b * t * shape.tileCount)
        hiddenSurrogate.reserve(min(b, groupSize) * t * shape.paddedHidden)
        let cp = ctx.classStride
        outputSurrogate.reserve(b * t * cp)
        outputDelta.reserve(b * t * cp)
        w2Padded.reserve((shape.paddedHidden + 1) * cp)
        w2GradientPadded.reserve(shape.paddedHidden * cp)
        counts.reserve(b * c)
        w2Transposed.reserve(c * shape.paddedHidden)
        counter.reserve(shape.inputs)
        if training { inputIndex.reserve(entries: ctx.entries) }
        if tracing {
            hiddenTrace.reserve(b * t * shape.paddedHidden)
            outputTrace.reserve(b * t * c)
        }
    }

    /// W2 and b2 padded to `classStride` columns (b2 as the last row) for the output layer;
    /// when training, also W2ᵀ ([C][paddedHidden]) for the backward time loop and zeroed dW2 rows.
    private func prepareW2(_ ctx: Context, _ w2: UnsafePointer<Float>, b2: UnsafePointer<Float>, training: Bool) {
        let C = shape.outputs, cp = ctx.classStride, hp = shape.paddedHidden, padded = w2Padded.pointer
        padded.update(repeating: 0, count: (hp + 1) * cp)
        for j in 0..<hp {
            for c in 0..<C { padded[j * cp + c] = w2[j * C + c] }
        }
        for c in 0..<C { padded[hp * cp + c] = b2[c] }
        guard training else { return }
        w2GradientPadded.pointer.update(repeating: 0, count: hp * cp)
        let w2t = w2Transposed.pointer
        for c in 0..<C {
            for j in 0..<hp { w2t[c * hp + j] = w2[j * C + c] }
        }
    }

    /// Where the half-tile blocks of a group are (the currents, then the kept surrogate values,
    /// then dL/dmem1): [tiles][2][min(B, groupSize)][T][32], recording `group.lowerBound` first.
    private func surrogateBlocks(_ ctx: Context, group: Range<Int>) -> SurrogateBlocks {
        let recordingStride = ctx.steps * HalfLanes.width
        return SurrogateBlocks(base: hiddenSurrogate.pointer, halfStride: min(groupSize, ctx.batch) * recordingStride,
                               recordingStride: recordingStride, first: group.lowerBound)
    }

    struct SurrogateBlocks {
        let base: UnsafeMutablePointer<Float>
        let halfStride: Int
        let recordingStride: Int
        let first: Int

        /// Recording `b`'s [T][32] block in half `half` of `tile`.
        @inline(__always)
        func block(tile: Int, half: Int, recording b: Int) -> UnsafeMutablePointer<Float> {
            base + (tile * 2 + half) * halfStride + (b - first) * recordingStride
        }
    }
}
