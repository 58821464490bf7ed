import CBLASLoader

/// The dense path: where frames are dense (long windows, no denoising, other data), the two
/// products with W1 are cheaper as matrix products (OpenBLAS `sgemm`, loaded at run time) on a
/// group's frames laid out densely, `X` = [m·T][inputs], than as gathers over active inputs:
/// - hidden forward, per half tile k: `CUR_k = b1_k + X · W1_k` into the half tile's [m][T][32]
///   block (W1's layout makes each half tile a row-major inputs × 32 matrix), then the Leaky
///   time loop over the block as on the event-driven path;
/// - dW1, per half tile k: `dW1_k += Xᵀ · Δ_k`, Δ_k the block of dL/dmem1.
/// Everything else (output layer, backward time loop, dW2, biases) is shared with the
/// event-driven path. `sgemm` sums in its own order, so the dense path's currents and dW1 agree
/// with the event-driven path's to float32 rounding, not bit for bit (the snnTorch parity tests
/// run on both). Each half tile's products are single-threaded `sgemm` calls with the same shapes
/// whatever the thread count, so results do not depend on it.
extension SpikeEngine {
    /// Whether OpenBLAS could be loaded (once per process); `nil` when it could, else why not.
    package static let denseUnavailableReason: String? = {
        cblas_loader_load() == 1 ? nil : String(cString: cblas_loader_error())
    }()

    /// The OpenBLAS kernel the dense path runs on ("" when OpenBLAS is missing).
    package static var denseKernelName: String {
        denseUnavailableReason == nil ? String(cString: cblas_loader_corename()) : ""
    }

    /// Writes recording `b`'s frames (its [T][inputs] rows of `x`, a group's dense matrix)
    /// densely: zeros, then each active input's count; padded steps stay zero.
    /// - Complexity: O(T·inputs + entries of the recording).
    static func denseFrames(_ ctx: Context, _ ev: Events, recording b: Int, rows x: UnsafeMutablePointer<Float>) {
        let inputs = ctx.shape.inputs
        x.update(repeating: 0, count: ctx.steps * inputs)
        for t in 0..<ctx.stepCount[b] {
            let row = x + t * inputs
            for e in ctx.entryRange(ev, recording: b, step: t) { row[Int(ev.inputs[e])] = Float(ev.counts[e]) }
        }
    }

    /// Dense hidden forward of one tile over a group, half tile by half tile: the half's block
    /// of the group ([m][T][32], `kept`) = b1 + X·W1_k, then per recording the Leaky time loop
    /// (`hiddenTimeLoop`).
    static func denseHiddenForward(_ ctx: Context, tile: Int, group: Range<Int>, x: UnsafePointer<Float>,
                                   w1: UnsafePointer<Float>, b1: UnsafePointer<Float>,
                                   bits: UnsafeMutablePointer<UInt64>, kept: SurrogateBlocks,
                                   training: Bool, membraneTrace: UnsafeMutablePointer<Float>?) {
        let W = NetworkShape.tileWidth, H = HalfLanes.width, T = ctx.steps, rows = group.count * T
        let inputs = ctx.shape.inputs
        for half in 0..<2 {
            let lane0 = half * H, block = kept.block(tile: tile, half: half, recording: group.lowerBound)
            let bias = HalfLanes(b1 + tile * W + lane0)
            for r in 0..<rows { bias.store(block + r * H) }
            cblas_loader_sgemm(0, 0, Int32(rows), Int32(H), Int32(inputs), 1, x, Int32(inputs),
                               w1 + ctx.shape.w1HalfTileOffset(tile: tile, half: half), Int32(H), 1, block, Int32(H))
            for b in group {
                hiddenTimeLoop(ctx, tile: tile, half: half, recording: b,
                               currents: kept.block(tile: tile, half: half, recording: b),
                               bits: bits, training: training, membraneTrace: membraneTrace)
            }
        }
    }

    /// Dense dW1 of one tile over a group, half tile by half tile: `dW1_k += Xᵀ · Δ_k`, Δ_k the
    /// half's block of dL/dmem1.
    static func denseWeightGradient(_ ctx: Context, tile: Int, group: Range<Int>, x: UnsafePointer<Float>,
                                    kept: SurrogateBlocks, dw1: UnsafeMutablePointer<Float>) {
        let H = HalfLanes.width, rows = group.count * ctx.steps
        let inputs = ctx.shape.inputs
        for half in 0..<2 {
            cblas_loader_sgemm(1, 0, Int32(inputs), Int32(H), Int32(rows), 1, x, Int32(inputs),
                               kept.block(tile: tile, half: half, recording: group.lowerBound), Int32(H), 1,
                               dw1 + ctx.shape.w1HalfTileOffset(tile: tile, half: half), Int32(H))
        }
    }
}
