import CSpikeSIMD

extension SpikeEngine {
    /// Phase 3, hidden backward in time, for one tile and one recording, from the surrogate
    /// values phase 1 stored (this recording's two [T][32] half-tile blocks at `low` and `high`,
    /// overwritten with dL/dmem1): `dmem1[t] = (W2ᵀ·dmem2[t])·sg[t] + β·dmem1[t+1]` with `w2t` = W2ᵀ
    /// ([C][paddedHidden]) and `delta` = dL/dmem2 ([B][T][classStride]); `db1` summed into
    /// `biasGradient`, `dW2[j] += dmem2[t]` for the tile's spiking neurons j (`dw2` padded
    /// like `delta`: [paddedHidden][classStride]).
    /// With `ctx.avx512`, the time loop is `spike_backward_tile_avx512` (same bits); given
    /// `scatter` (the events and dW1), it also sums the tile's dW1 without the input index, step
    /// by step as soon as it has dL/dmem1 (what `scatterWeightGradient` does for each half tile
    /// afterwards, in the same order, hence the same bits).
    /// - Complexity: O(T·64·C + C·hidden spikes of the tile), plus O(64 · entries of the
    ///   recording) with `scatter`.
    static func hiddenBackward(_ ctx: Context, tile: Int, recording b: Int,
                               w2t: UnsafePointer<Float>, bits: UnsafePointer<UInt64>, delta: UnsafePointer<Float>,
                               low: UnsafeMutablePointer<Float>, high: UnsafeMutablePointer<Float>,
                               biasGradient: inout Lanes,
                               dw2: UnsafeMutablePointer<Float>,
                               scatter: (events: Events, dw1: UnsafeMutablePointer<Float>)? = nil) {
        let W = NetworkShape.tileWidth, T = ctx.steps, C = ctx.shape.outputs, hp = ctx.shape.paddedHidden
        let tiles = ctx.shape.tileCount, cp = ctx.classStride
        let j0 = tile * W
        if ctx.avx512 {
            #if arch(x86_64)
            if let (ev, dw1) = scatter {
                spike_backward_tile_avx512(T, C, cp, hp, tile, tiles, b, w2t, bits, delta, low, high, ctx.neuron.beta, dw2,
                                           ev.inputs, ev.counts, ev.stepStart + ctx.stepBase[b], ctx.stepCount[b],
                                           ctx.shape.realLanes(tile: tile),
                                           dw1 + ctx.shape.w1HalfTileOffset(tile: tile, half: 0),
                                           dw1 + ctx.shape.w1HalfTileOffset(tile: tile, half: 1))
            } else {
                spike_backward_tile_avx512(T, C, cp, hp, tile, tiles, b, w2t, bits, delta, low, high, ctx.neuron.beta, dw2,
                                           nil, nil, nil, 0, 0, nil, nil)
            }
            #endif
        } else {
            let betaV = V8(repeating: ctx.neuron.beta)
            var d = Lanes(repeating: 0)
            for t in (0..<T).reversed() {
                let dm2 = delta + (b * T + t) * cp
                // dL/dspk1 = W2ᵀ · dmem2[t] for the tile.
                var g = Lanes(repeating: 0)
                for c in 0..<C { g.addProduct(dm2[c], w2t + c * hp + j0) }
                let lowSlot = low + t * HalfLanes.width, highSlot = high + t * HalfLanes.width
                d.backwardStep(gradient: g, surrogate: Lanes(low: lowSlot, high: highSlot), beta: betaV)
                d.store(low: lowSlot, high: highSlot)
                // dW2[j] += dmem2[t] for the tile's spiking neurons.
                var word = bits[(b * T + t) * tiles + tile]
                while word != 0 {
                    let j = j0 + word.trailingZeroBitCount
                    word &= word &- 1
                    let row = dw2 + j * cp
                    for k in stride(from: 0, to: cp, by: 16) { (V16(row + k) + V16(dm2 + k)).store(row + k) }
                }
            }
        }
        // db1 from the stored dL/dmem1, in the same order (steps descending), after the loop so
        // that the loop keeps eight registers fewer live (no spills around the W2ᵀ products).
        var s = biasGradient
        for t in (0..<T).reversed() {
            s.add(Lanes(low: low + t * HalfLanes.width, high: high + t * HalfLanes.width))
        }
        biasGradient = s
    }

    /// Phase 3, weight gradient of one half tile (32 hidden neurons, `half` 0 or 1) over a
    /// group: `dW1[input] += count · dmem1` for every occurrence of the group's distinct inputs
    /// `rows` (indices into `index`), each row read and written once per group, its updates in
    /// (recording ascending, step descending) order — the same order, hence the same bits, as
    /// a scatter recording by recording and step by step. `delta` is the half tile's block of
    /// dL/dmem1 for the group ([m][T][32], what `hiddenBackward` left in the surrogate
    /// storage: 77 KB for 4 recordings of 150 steps, which stays in L2 with the half tile's
    /// contiguous slice of dW1). Only the lanes of real neurons (`NetworkShape.w1LaneBlocks`):
    /// the padding lanes' dL/dmem1 is zero, and adding `count · 0` changes no bit. With
    /// `ctx.avx512`, whole half tiles take `spike_accumulate32_avx512` (same bits).
    /// - Complexity: O(32 · occurrences of the rows).
    static func weightGradient(_ ctx: Context, tile: Int, half: Int, index: InputIndex, rows: Range<Int>,
                               delta: UnsafePointer<Float>, dw1: UnsafeMutablePointer<Float>) {
        let dw1Half = dw1 + ctx.shape.w1HalfTileOffset(tile: tile, half: half)
        switch ctx.shape.w1LaneBlocks(halfTile: tile * 2 + half) {
        case 0: break
        case 1: accumulateRows(EighthLanes.self, index: index, rows: rows, delta: delta, dw1Half: dw1Half)
        case 2: accumulateRows(QuarterLanes.self, index: index, rows: rows, delta: delta, dw1Half: dw1Half)
        default:
            #if arch(x86_64)
            if ctx.avx512 {
                spike_accumulate32_avx512(index.distinctInput, index.distinctEnd, index.occurrenceOffset,
                                          index.occurrenceCount, rows.lowerBound, rows.upperBound, delta, dw1Half)
                break
            }
            #endif
            accumulateRows(HalfLanes.self, index: index, rows: rows, delta: delta, dw1Half: dw1Half)
        }
    }

    /// `weightGradient` on the first `L.width` lanes of the half tile's slice of dW1 (`dw1Half`,
    /// rows of 32 floats). Two rows at a time, so that their independent chains of fused
    /// multiply-adds overlap.
    @inline(__always)
    static func accumulateRows<L: LaneBlock>(_: L.Type, index: InputIndex, rows: Range<Int>,
                                             delta: UnsafePointer<Float>, dw1Half: UnsafeMutablePointer<Float>) {
        let W = HalfLanes.width
        @inline(__always) func add(_ acc: inout L, _ q: Int) {
            acc.addProduct(index.occurrenceCount[q], delta + Int(index.occurrenceOffset[q]))
        }
        var k = rows.lowerBound
        var start = k == 0 ? 0 : Int(index.distinctEnd[k - 1])
        let distinctCount = rows.upperBound
        while k + 1 < distinctCount {
            let rowA = dw1Half + Int(index.distinctInput[k]) &* W
            let rowB = dw1Half + Int(index.distinctInput[k + 1]) &* W
            let endA = Int(index.distinctEnd[k]), endB = Int(index.distinctEnd[k + 1])
            var a = L(rowA), c = L(rowB)
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
            let row = dw1Half + Int(index.distinctInput[k]) &* W
            var acc = L(row)
            for q in start..<Int(index.distinctEnd[k]) { add(&acc, q) }
            acc.store(row)
        }
    }

    /// Phase 3 without the input index (`EngineTuning.WeightGradient.direct`): the weight
    /// gradient of one half tile from one recording's own entries, `dW1[input] += count · dmem1[t]`
    /// steps descending, so that each element's updates come in the same order as through the
    /// index (recordings ascending, then steps descending: the caller runs the group's recordings
    /// in order), hence the same bits; a row is read and written per entry instead of once per
    /// group. `delta` is the recording's [T][32] block of dL/dmem1. Only the lanes of real
    /// neurons (`NetworkShape.w1LaneBlocks`). With `ctx.avx512` the engine does this inside
    /// `spike_backward_tile_avx512` instead (see `hiddenBackward`).
    /// - Complexity: O(32 · entries of the recording).
    static func scatterWeightGradient(_ ctx: Context, _ ev: Events, tile: Int, half: Int, recording b: Int,
                                      delta: UnsafePointer<Float>, dw1: UnsafeMutablePointer<Float>) {
        let dw1Half = dw1 + ctx.shape.w1HalfTileOffset(tile: tile, half: half)
        let blocks = ctx.shape.w1LaneBlocks(halfTile: tile * 2 + half)
        guard blocks > 0 else { return }
        let start = ev.stepStart + ctx.stepBase[b], steps = ctx.stepCount[b]
        switch blocks {
        case 1: scatterRows(EighthLanes.self, ev, start: start, steps: steps, delta: delta, dw1Half: dw1Half)
        case 2: scatterRows(QuarterLanes.self, ev, start: start, steps: steps, delta: delta, dw1Half: dw1Half)
        default: scatterRows(HalfLanes.self, ev, start: start, steps: steps, delta: delta, dw1Half: dw1Half)
        }
    }

    /// `scatterWeightGradient` on the first `L.width` lanes of the half tile's slice of dW1
    /// (`dw1Half`, rows of 32 floats), for the `steps` steps whose entries start at `start`.
    @inline(__always)
    static func scatterRows<L: LaneBlock>(_: L.Type, _ ev: Events, start: UnsafePointer<Int32>, steps: Int,
                                          delta: UnsafePointer<Float>, dw1Half: UnsafeMutablePointer<Float>) {
        let W = HalfLanes.width
        for t in (0..<steps).reversed() {
            let d = delta + t * W
            for e in Int(start[t])..<Int(start[t + 1]) {
                let row = dw1Half + Int(ev.inputs[e]) &* W
                var acc = L(row)
                acc.addProduct(Float(ev.counts[e]), d)
                acc.store(row)
            }
        }
    }
}
