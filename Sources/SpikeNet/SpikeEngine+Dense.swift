import CBLASLoader

/// The dense path: where frames are dense (long windows, no denoising, other data), the two
/// products with W1 are cheaper as matrix products (OpenBLAS `sgemm`, loaded at run time) on a
/// group's frames laid out densely, `X` = [m·T][inputs], than as gathers over active inputs:
/// - hidden forward, per tile k: `CUR_k = b1_k + X · W1_k` into the tile's [m][T][64] block
///   (W1's tiled layout makes each tile a row-major inputs × 64 matrix), then the Leaky time
///   loop over the block as on the event-driven path;
/// - dW1, per tile k: `dW1_k += Xᵀ · Δ_k`, Δ_k the block of dL/dmem1.
/// Everything else (output layer, backward time loop, dW2, biases) is shared with the
/// event-driven path. `sgemm` sums in its own order, so the dense path's currents and dW1 agree
/// with the event-driven path's to float32 rounding, not bit for bit (the snnTorch parity tests
/// run on both). Each tile's products are one single-threaded `sgemm` call with the same shapes
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

    /// Dense hidden forward of one tile over a group: `block` ([m][T][64]) = b1 + X·W1_k, then
    /// per recording and half tile the Leaky time loop (`hiddenTimeLoop`).
    static func denseHiddenForward(_ ctx: Context, tile: Int, group: Range<Int>, x: UnsafePointer<Float>,
                                   w1: UnsafePointer<Float>, b1: UnsafePointer<Float>,
                                   bits: UnsafeMutablePointer<UInt64>, block: UnsafeMutablePointer<Float>,
                                   training: Bool, membraneTrace: UnsafeMutablePointer<Float>?) {
        let W = NetworkShape.tileWidth, T = ctx.steps, rows = group.count * T, inputs = ctx.shape.inputs
        let bias = Lanes(b1 + tile * W)
        for r in 0..<rows { bias.store(block + r * W) }
        cblas_loader_sgemm(0, 0, Int32(rows), Int32(W), Int32(inputs), 1, x, Int32(inputs),
                           w1 + tile * inputs * W, Int32(W), 1, block, Int32(W))
        for b in group {
            for half in 0..<2 {
                hiddenTimeLoop(ctx, tile: tile, half: half, recording: b, currents: block + (b - group.lowerBound) * T * W,
                               bits: bits, training: training, membraneTrace: membraneTrace)
            }
        }
    }

    /// The Leaky time loop of one half tile of one recording over currents already summed into
    /// `currents` (its [T][64] block): spike bits, and in place the surrogate derivatives when
    /// `training`; membranes into `membraneTrace` when given (`hiddenStep`, as in `hiddenForward`).
    static func hiddenTimeLoop(_ ctx: Context, tile: Int, half: Int, recording b: Int,
                               currents: UnsafeMutablePointer<Float>, bits: UnsafeMutablePointer<UInt64>,
                               training: Bool, membraneTrace: UnsafeMutablePointer<Float>?) {
        let lane0 = half * HalfLanes.width
        var mem = HalfLanes(repeating: 0)
        for t in 0..<ctx.steps {
            let slot = currents + t * NetworkShape.tileWidth + lane0
            hiddenStep(ctx, membrane: &mem, current: HalfLanes(slot), tile: tile, half: half, recording: b, step: t,
                       bits: bits, surrogateOut: training ? slot : nil, membraneTrace: membraneTrace)
        }
    }

    /// Dense dW1 of one tile over a group: `dW1_k += Xᵀ · Δ_k`.
    static func denseWeightGradient(_ ctx: Context, tile: Int, group: Range<Int>, x: UnsafePointer<Float>,
                                    delta: UnsafePointer<Float>, dw1: UnsafeMutablePointer<Float>) {
        let W = NetworkShape.tileWidth, rows = group.count * ctx.steps, inputs = ctx.shape.inputs
        cblas_loader_sgemm(1, 0, Int32(inputs), Int32(W), Int32(rows), 1, x, Int32(inputs), delta, Int32(W), 1,
                           dw1 + tile * inputs * W, Int32(W))
    }
}
