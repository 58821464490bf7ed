import CSpikeSIMD

extension SpikeEngine {
    /// Phase 1, hidden forward, for one half tile (32 hidden neurons) and one recording, in two
    /// passes over `block` (this recording's [T][32] block of the half tile, 19 KB at T = 150,
    /// which stays in L1 between them):
    /// 1. the input currents `b1 + Σ count·W1[input]` over each step's active inputs
    ///    (`gatherCurrents`), on the half tile's lanes that hold real neurons
    ///    (`NetworkShape.w1LaneBlocks`); the padding lanes keep their bias, zero, which is what
    ///    their zero rows of W1 sum to;
    /// 2. the Leaky time loop (`hiddenTimeLoop`): spike bits, and in place the surrogate
    ///    derivatives when `training`.
    /// With `ctx.avx512` (and no trace), the engine runs `tileForward` instead.
    /// - Complexity: O(T·32 + 32·entries of the recording).
    static func hiddenForward(_ ctx: Context, _ ev: Events, tile: Int, half: Int, recording b: Int,
                              w1: UnsafePointer<Float>, b1: UnsafePointer<Float>, bits: UnsafeMutablePointer<UInt64>,
                              block: UnsafeMutablePointer<Float>, training: Bool,
                              membraneTrace: UnsafeMutablePointer<Float>?) {
        let H = HalfLanes.width
        let w1Half = w1 + ctx.shape.w1HalfTileOffset(tile: tile, half: half)
        let bias = b1 + tile * NetworkShape.tileWidth + half * H
        let blocks = ctx.shape.w1LaneBlocks(halfTile: tile * 2 + half)
        if blocks < 4 {
            let full = HalfLanes(bias)
            for t in 0..<ctx.steps { full.store(block + t * H) }
        }
        switch blocks {
        case 0: break
        case 1: gatherCurrents(EighthLanes.self, ctx, ev, recording: b, w1Half: w1Half, bias: bias, block: block)
        case 2: gatherCurrents(QuarterLanes.self, ctx, ev, recording: b, w1Half: w1Half, bias: bias, block: block)
        default:
            gatherCurrents(HalfLanes.self, ctx, ev, recording: b, w1Half: w1Half, bias: bias, block: block)
        }
        hiddenTimeLoop(ctx, tile: tile, half: half, recording: b, currents: block, bits: bits, training: training,
                       membraneTrace: membraneTrace)
    }

    /// `hiddenForward` for both half tiles of `tile` at once, with the AVX-512 kernels
    /// (`spike_forward_tile_avx512`; the same operations in the same order, hence the same
    /// bits): one pass over the recording's steps gathers both halves' rows, masked to the tile's
    /// real neurons, two steps at a time, and runs the two steps' Leaky updates on the currents
    /// still in registers (spike bits, and the surrogate values into `low` and `high` when
    /// `training`). Against a pass per half tile and a separate time loop, the loop over a step's
    /// entries ends (a mispredicted branch, its length varying) once per tile instead of once per
    /// half tile, and no current goes through memory: the forward phase took 13% less time at
    /// H = 100 and 2–18% less at H = 800 for the first, 10–14% less again at H = 100 for the
    /// second (best of repeated batches, 2 threads, Zen 5). The tile's two slices of W1 (592 KB)
    /// fit in the L2 of the CPUs with AVX-512 this was measured on (1 MB). No membrane trace: the
    /// engine traces through `hiddenForward`.
    /// - Complexity: O(T·64 + 64·entries of the recording).
    static func tileForward(_ ctx: Context, _ ev: Events, tile: Int, recording b: Int,
                            w1: UnsafePointer<Float>, b1: UnsafePointer<Float>, bits: UnsafeMutablePointer<UInt64>,
                            low: UnsafeMutablePointer<Float>, high: UnsafeMutablePointer<Float>, training: Bool) {
        #if arch(x86_64)
        spike_forward_tile_avx512(ev.inputs, ev.counts, ev.stepStart + ctx.stepBase[b], ctx.stepCount[b], ctx.steps,
                                  ctx.shape.realLanes(tile: tile), w1 + ctx.shape.w1HalfTileOffset(tile: tile, half: 0),
                                  w1 + ctx.shape.w1HalfTileOffset(tile: tile, half: 1),
                                  b1 + tile * NetworkShape.tileWidth, ctx.neuron.beta, ctx.neuron.threshold,
                                  ctx.surrogate.scale, ctx.surrogate.halfAlpha, training ? 1 : 0,
                                  bits + b * ctx.steps * ctx.shape.tileCount + tile, ctx.shape.tileCount, low, high)
        #endif
    }

    /// The input currents `b1 + Σ count·W1[input]` of recording b's steps on the first
    /// `L.width` lanes of a half tile, into `block` ([T][32]; padded steps get the bias): fused
    /// multiply-adds in ascending input order, each a gather of a row of the half tile's
    /// contiguous slice of W1 (`w1Half`, rows of 32 floats), two steps at a time so that their
    /// independent chains overlap.
    @inline(__always)
    static func gatherCurrents<L: LaneBlock>(_: L.Type, _ ctx: Context, _ ev: Events, recording b: Int,
                                             w1Half: UnsafePointer<Float>, bias biasLanes: UnsafePointer<Float>,
                                             block: UnsafeMutablePointer<Float>) {
        let H = HalfLanes.width, steps = ctx.stepCount[b]
        let bias = L(biasLanes)
        let start = ev.stepStart + ctx.stepBase[b]
        @inline(__always) func add(_ cur: inout L, _ e: Int) {
            cur.addProduct(Float(ev.counts[e]), w1Half + Int(ev.inputs[e]) &* H)
        }
        var t = 0
        while t + 1 < steps {
            var cur = bias, next = bias
            let first = Int(start[t]), second = Int(start[t + 1]), end = Int(start[t + 2])
            let shared = min(second - first, end - second)
            for k in 0..<shared { add(&cur, first + k); add(&next, second + k) }
            for e in (first + shared)..<second { add(&cur, e) }
            for e in (second + shared)..<end { add(&next, e) }
            cur.store(block + t * H)
            next.store(block + (t + 1) * H)
            t += 2
        }
        if t < steps {
            var cur = bias
            for e in Int(start[t])..<Int(start[t + 1]) { add(&cur, e) }
            cur.store(block + t * H)
            t += 1
        }
        for padded in t..<ctx.steps { bias.store(block + padded * H) }
    }

    /// The Leaky time loop of one half tile of one recording over its currents, already summed
    /// into `currents` (its [T][32] block), shared by both input paths: spike bits, and in place
    /// the surrogate derivatives when `training`; membranes into `membraneTrace` when given.
    static func hiddenTimeLoop(_ ctx: Context, tile: Int, half: Int, recording b: Int,
                               currents: UnsafeMutablePointer<Float>, bits: UnsafeMutablePointer<UInt64>,
                               training: Bool, membraneTrace: UnsafeMutablePointer<Float>?) {
        var mem = HalfLanes(repeating: 0)
        for t in 0..<ctx.steps {
            let slot = currents + t * HalfLanes.width
            hiddenStep(ctx, membrane: &mem, current: HalfLanes(slot), tile: tile, half: half, recording: b, step: t,
                       bits: bits, surrogateOut: training ? slot : nil, membraneTrace: membraneTrace)
        }
    }

    /// One step of a half tile of the hidden layer, shared by both input paths: the Leaky step
    /// `((β·mem) + cur) − reset·thr` on `membrane`, the 32 spike bits into `bits` ([B][T][tiles]
    /// words of 64 bits, low half first), the surrogate derivatives `sg(mem1 − thr)` into
    /// `surrogateOut` (32 floats) when given, the membranes into `membraneTrace`
    /// ([B][T][paddedHidden]) when given.
    @inline(__always)
    static func hiddenStep(_ ctx: Context, membrane mem: inout HalfLanes, current: HalfLanes, tile: Int, half: Int,
                           recording b: Int, step t: Int, bits: UnsafeMutablePointer<UInt64>,
                           surrogateOut: UnsafeMutablePointer<Float>?, membraneTrace: UnsafeMutablePointer<Float>?) {
        let thrV = V8(repeating: ctx.neuron.threshold), word = (b * ctx.steps + t) * ctx.shape.tileCount + tile
        mem.leakyStep(input: current, beta: V8(repeating: ctx.neuron.beta), threshold: thrV)
        (UnsafeMutableRawPointer(bits + word) + half * MemoryLayout<UInt32>.size).storeBytes(of: mem.bits(above: thrV),
                                                                                             as: UInt32.self)
        if let sg = surrogateOut { mem.surrogate(ctx.surrogate, threshold: thrV).store(sg) }
        if let trace = membraneTrace {
            mem.store(trace + (b * ctx.steps + t) * ctx.shape.paddedHidden + tile * NetworkShape.tileWidth + half * HalfLanes.width)
        }
    }

    /// Phase 2, output layer, for one recording, sixteen classes at a time (`Context.classStride`
    /// floats per row of `w2`, `b2`, `surrogate` and `delta`; the padding lanes carry zero
    /// weights and are never read back). Per step: the current `b2 + Σ W2[j]` over the spiking
    /// hidden neurons j read from `bits` (plain additions in ascending hidden order, which equal
    /// fused multiply-adds by a spike of 1), the Leaky step, the spike counts into `counts`
    /// ([B][C]) and the surrogate derivatives into `surrogate` ([B][T][classStride]); membranes
    /// into `membraneTrace` ([B][T][C]) when given. When `delta` is given, the output layer's
    /// BPTT `dmem2[t] = g·sg(mem2[t] − thr) + β·dmem2[t+1]` with
    /// `g = 2(count − target)/(B·C·T)` into `delta` ([B][T][classStride]). With `ctx.avx512`,
    /// the time loops are `spike_output_forward_avx512` (without a trace) and
    /// `spike_output_backward_avx512`: the same operations in the same order, hence the same bits.
    /// - Complexity: O(T·C + C·hidden spikes of the recording).
    static func outputLayer(_ ctx: Context, recording b: Int, bits: UnsafePointer<UInt64>,
                            w2: UnsafePointer<Float>, b2: UnsafePointer<Float>,
                            counts: UnsafeMutablePointer<Int32>, surrogate sgOut: UnsafeMutablePointer<Float>,
                            delta: UnsafeMutablePointer<Float>?, membraneTrace: UnsafeMutablePointer<Float>?) {
        let C = ctx.shape.outputs, cp = ctx.classStride, T = ctx.steps, tiles = ctx.shape.tileCount
        let W = NetworkShape.tileWidth
        let beta = V16(repeating: ctx.neuron.beta), thr = V16(repeating: ctx.neuron.threshold)
        let zero = V16(repeating: 0)
        let label = ctx.labels[b]
        for k in stride(from: 0, to: cp, by: 16) {
            let classes = k..<min(k + 16, C)
            let bias = V16(b2 + k)
            var mem = zero, spikes = SIMD16<Int32>(repeating: 0)
            if ctx.avx512 && membraneTrace == nil {
                #if arch(x86_64)
                withUnsafeMutableBytes(of: &spikes) { s in
                    spike_output_forward_avx512(T, tiles, bits + b * T * tiles, w2 + k, cp, b2 + k, ctx.neuron.beta,
                                                ctx.neuron.threshold, ctx.surrogate.scale, ctx.surrogate.halfAlpha,
                                                sgOut + b * T * cp + k, s.baseAddress!.assumingMemoryBound(to: Int32.self))
                }
                #endif
            } else {
                for t in 0..<T {
                    var cur = bias
                    let row = bits + (b * T + t) * tiles
                    for tile in 0..<tiles {
                        var word = row[tile]
                        while word != 0 {
                            let j = tile * W + word.trailingZeroBitCount
                            word &= word &- 1
                            cur += V16(w2 + j * cp + k)
                        }
                    }
                    let reset = zero.replacing(with: thr, where: (mem - thr) .> zero)
                    mem = ((beta * mem) + cur) - reset
                    spikes &+= SIMD16<Int32>(repeating: 0).replacing(with: 1, where: (mem - thr) .> zero)
                    ctx.surrogate.derivative(mem - thr).store(sgOut + (b * T + t) * cp + k)
                    if let trace = membraneTrace {
                        for c in classes { trace[(b * T + t) * C + c] = mem[c - k] }
                    }
                }
            }
            for c in classes { counts[b * C + c] = spikes[c - k] }
            guard let delta else { continue }
            var g = zero
            for c in classes {
                g[c - k] = SpikeCountLoss.spikeGradient(count: Int(spikes[c - k]), target: c == label ? ctx.on : ctx.off,
                                                        batch: ctx.batch, classes: C, steps: T)
            }
            if ctx.avx512 {
                #if arch(x86_64)
                withUnsafeBytes(of: g) { gv in
                    spike_output_backward_avx512(T, cp, gv.baseAddress!.assumingMemoryBound(to: Float.self), ctx.neuron.beta,
                                                 sgOut + b * T * cp + k, delta + b * T * cp + k)
                }
                #endif
            } else {
                var d = zero
                for t in (0..<T).reversed() {
                    let at = (b * T + t) * cp + k
                    d = g * V16(sgOut + at) + beta * d
                    d.store(delta + at)
                }
            }
        }
    }
}

/// Sixteen float lanes (two AVX registers): the classes of the output layer.
typealias V16 = SIMD16<Float>

extension SIMD16 where Scalar == Float {
    /// Loads p[0..<16] (unaligned).
    @inline(__always)
    init(_ p: UnsafePointer<Float>) { self = UnsafeRawPointer(p).loadUnaligned(as: V16.self) }

    /// Stores into p[0..<16] (unaligned).
    @inline(__always)
    func store(_ p: UnsafeMutablePointer<Float>) { UnsafeMutableRawPointer(p).storeBytes(of: self, as: V16.self) }
}
