extension SpikeEngine {
    /// Phase 1, hidden forward, for one half tile (32 hidden neurons) and one recording. Per
    /// step t (padded steps included): the input current `b1 + Σ count·W1[input]` over the
    /// step's active inputs (fused multiply-adds in ascending input order), the Leaky step
    /// `((β·mem) + cur) − reset·thr`, the half tile's 32 spike bits into `bits` ([B][T][tiles]
    /// words of 64 bits, low half first), and, when given, the surrogate derivatives
    /// `sg(mem1 − thr)` into `surrogateOut` (this recording's [T][64] block of the tile) and
    /// the membranes into `membraneTrace` ([B][T][paddedHidden]).
    /// - Complexity: O(T·32 + 32·entries of the recording).
    static func hiddenForward(_ ctx: Context, _ ev: Events, tile: Int, half: Int, recording b: Int,
                              w1: UnsafePointer<Float>, b1: UnsafePointer<Float>,
                              bits: UnsafeMutablePointer<UInt64>, surrogateOut: UnsafeMutablePointer<Float>?,
                              membraneTrace: UnsafeMutablePointer<Float>?) {
        let W = NetworkShape.tileWidth, T = ctx.steps
        let lane0 = half * HalfLanes.width
        let w1Half = w1 + tile * ctx.shape.inputs * W + lane0
        let j0 = tile * W + lane0
        let bias = HalfLanes(b1 + j0)
        @inline(__always) func add(_ cur: inout HalfLanes, _ e: Int) {
            cur.addProduct(Float(ev.counts[e]), w1Half + Int(ev.inputs[e]) &* W)
        }
        var mem = HalfLanes(repeating: 0)
        var next = bias
        for t in 0..<T {
            // Two steps' currents at a time: their chains of fused multiply-adds are
            // independent, so they overlap (each still sums its own inputs in order).
            var cur = next
            if t % 2 == 0 {
                cur = bias
                let first = ctx.entryRange(ev, recording: b, step: t)
                let second = t + 1 < T ? ctx.entryRange(ev, recording: b, step: t + 1) : 0..<0
                next = bias
                let shared = min(first.count, second.count)
                for k in 0..<shared { add(&cur, first.lowerBound + k); add(&next, second.lowerBound + k) }
                for e in (first.lowerBound + shared)..<first.upperBound { add(&cur, e) }
                for e in (second.lowerBound + shared)..<second.upperBound { add(&next, e) }
            }
            hiddenStep(ctx, membrane: &mem, current: cur, tile: tile, half: half, recording: b, step: t, bits: bits,
                       surrogateOut: surrogateOut.map { $0 + t * W + lane0 }, membraneTrace: membraneTrace)
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
    /// `g = 2(count − target)/(B·C·T)` into `delta` ([B][T][classStride]).
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
            for c in classes { counts[b * C + c] = spikes[c - k] }
            guard let delta else { continue }
            var g = zero
            for c in classes {
                g[c - k] = SpikeCountLoss.spikeGradient(count: Int(spikes[c - k]), target: c == label ? ctx.on : ctx.off,
                                                        batch: ctx.batch, classes: C, steps: T)
            }
            var d = zero
            for t in stride(from: T - 1, through: 0, by: -1) {
                let at = (b * T + t) * cp + k
                d = g * V16(sgOut + at) + beta * d
                d.store(delta + at)
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
