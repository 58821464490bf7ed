import CSpikeSIMD
import Foundation

/// `torch.optim.Adam` as PyTorch runs it on CPU (`_single_tensor_adam`, no weight decay,
/// no amsgrad), SEMANTICS §5. Per element, with step k starting at 1:
/// ```
/// m = m + (1-beta1)·(g - m)                  // exp_avg.lerp_(grad, 1-beta1)
/// v = v·beta2 + (1-beta2)·g·g                // mul_ then addcmul_
/// step_size = lr / (1 - beta1^k)             // Python doubles
/// denom = sqrt(v) / sqrt(1 - beta2^k) + eps  // float32 tensor ops
/// p = p - step_size · m / denom              // addcdiv_
/// ```
/// The optimizer owns only its moments and step count.
package struct Adam: Sendable, Equatable {
    package var learningRate: Double
    package var beta1: Double
    package var beta2: Double
    package var epsilon: Double
    /// Steps taken so far (torch's `state['step']`).
    package var step: Int
    /// First moments (`exp_avg`), laid out like the parameters.
    package var firstMoment: NetworkParameters
    /// Second moments (`exp_avg_sq`).
    package var secondMoment: NetworkParameters

    /// Zero moments for a network of `shape` (`hugePages` as in `NetworkParameters.init(zerosFor:hugePages:)`).
    package init(shape: NetworkShape, learningRate: Double, beta1: Double = 0.9, beta2: Double = 0.999, epsilon: Double = 1e-8,
                hugePages: Bool = true) {
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        step = 0
        firstMoment = NetworkParameters(zerosFor: shape, hugePages: hugePages)
        secondMoment = NetworkParameters(zerosFor: shape, hugePages: hugePages)
    }

    /// What an update saw and produced.
    package struct UpdateSummary: Sendable, Equatable {
        /// `lambda · (ΣW1² + ΣW2²)` of the parameters *before* the update (the batch's L2 term).
        package var l2Term: Double
        /// Whether every updated parameter is finite.
        package var isFinite: Bool
    }

    /// One update of every parameter from `gradients`, to which the L2 gradient `lambda·(2W)`
    /// of the weight matrices is added on the fly (as `addL2Gradient` would). Element-wise, in
    /// fixed blocks whose partial sums are added in order, so splitting the work over
    /// `threads` changes no bit of the parameters, the moments or the summary. The call starts
    /// and stops `threads − 1` helper threads of its own; a training run uses
    /// `update(_:gradients:l2:workers:)` with its engine's.
    /// - Complexity: O(number of parameters).
    @discardableResult
    package mutating func update(_ parameters: inout NetworkParameters, gradients: NetworkParameters,
                                l2 lambda: Double = 0, threads: Int = 1, kernel: Kernel = .fastest()) -> UpdateSummary {
        update(&parameters, gradients: gradients, l2: lambda, workers: WorkerPool(threads: threads), kernel: kernel)
    }

    /// Which loop runs the element-wise update; all give the same bits.
    package enum Kernel: Sendable, CaseIterable {
        /// Swift's eight-lane vectors: every CPU.
        case portable
        /// `spike_adam_avx2`: x86-64 CPUs with AVX2 and FMA.
        case avx2
        /// `spike_adam_avx512`: x86-64 CPUs with AVX-512.
        case avx512

        /// Whether this CPU runs the kernel.
        package var runsHere: Bool {
            switch self {
            case .portable: return true
            case .avx2: return Self.cpuHasAVX2
            case .avx512: return SpikeEngine.cpuHasAVX512
            }
        }

        /// The fastest kernel this CPU runs, AVX-512 only where `avx512` allows it (a training
        /// run passes its engine's `usesAVX512`).
        package static func fastest(avx512: Bool = true) -> Kernel {
            avx512 && Kernel.avx512.runsHere ? .avx512 : Kernel.avx2.runsHere ? .avx2 : .portable
        }

        private static let cpuHasAVX2: Bool = {
            #if arch(x86_64)
            return spike_has_avx2() != 0
            #else
            return false
            #endif
        }()
    }

    /// `update(_:gradients:l2:threads:)` on `workers` (a training run passes its engine's, whose
    /// helper threads are already running). W1's padding lanes, which stay zero
    /// (`NetworkShape.w1LaneBlocks`), are skipped: an update would leave them +0 and add +0 to
    /// the sums, so skipping them changes no bit either.
    @discardableResult
    mutating func update(_ parameters: inout NetworkParameters, gradients: NetworkParameters,
                         l2 lambda: Double = 0, workers: WorkerPool, kernel: Kernel) -> UpdateSummary {
        precondition(kernel.runsHere, "this CPU does not run Adam's \(kernel) kernel")
        step += 1
        let k = Double(step)
        let stepSize = learningRate / (1 - pow(beta1, k))
        let bc2Sqrt = (1 - pow(beta2, k)).squareRoot()
        let rule = Rule(lerpWeight: Float(1 - beta1), beta2: Float(beta2), oneMinusBeta2: Float(1 - beta2),
                        bc2Sqrt: Float(bc2Sqrt), epsilon: Float(epsilon), negStepSize: Float(-stepSize),
                        lambda: Float(lambda))
        var a = Self.apply(rule, &parameters.w1, gradients.w1, &firstMoment.w1, &secondMoment.w1, weights: true,
                           kernel: kernel, w1Layout: parameters.shape, workers: workers)
        let b = Self.apply(rule, &parameters.b1, gradients.b1, &firstMoment.b1, &secondMoment.b1, weights: false,
                           kernel: kernel)
        let c = Self.apply(rule, &parameters.w2, gradients.w2, &firstMoment.w2, &secondMoment.w2, weights: true,
                           kernel: kernel)
        let d = Self.apply(rule, &parameters.b2, gradients.b2, &firstMoment.b2, &secondMoment.b2, weights: false,
                           kernel: kernel)
        a.squares += c.squares
        return UpdateSummary(l2Term: lambda * a.squares, isFinite: a.isFinite && b.isFinite && c.isFinite && d.isFinite)
    }

    struct Rule {
        var lerpWeight, beta2, oneMinusBeta2, bc2Sqrt, epsilon, negStepSize, lambda: Float
    }

    /// Elements per block of the blocked sums.
    static let block = 1 << 14

    /// The update of one tensor, in blocks of `block` elements on `workers` (on the calling
    /// thread when nil), by `kernel`. With `w1Layout`, the tensor is that shape's W1
    /// (`NetworkShape.w1Index`) and only the lanes of real neurons are updated
    /// (`NetworkShape.w1LaneBlocks`).
    static func apply<S: FloatStorage>(_ r: Rule, _ p: inout S, _ g: S, _ m: inout S, _ v: inout S,
                                       weights: Bool, kernel: Kernel, w1Layout: NetworkShape? = nil,
                                       workers: WorkerPool? = nil) -> (squares: Double, isFinite: Bool) {
        let n = p.count
        let blocks = (n + block - 1) / block
        #if arch(x86_64)
        let cRule = spike_adam_rule(lerpWeight: r.lerpWeight, beta2: r.beta2, oneMinusBeta2: r.oneMinusBeta2,
                                    bc2Sqrt: r.bc2Sqrt, epsilon: r.epsilon, negStepSize: r.negStepSize, lambda: r.lambda)
        #endif
        var squares = [Double](repeating: 0, count: blocks)
        var finite = [Bool](repeating: true, count: blocks)
        p.withMutableFirst { P in
        m.withMutableFirst { M in
        v.withMutableFirst { V in
        g.withFirst { G in
        squares.withUnsafeMutableBufferPointer { sq in
        finite.withUnsafeMutableBufferPointer { fin in
            let (S, F) = (sq.baseAddress!, fin.baseAddress!)
            func run(block blk: Int) {
                let first = blk * block, end = min(n, (blk + 1) * block)
                // Eight lanes at a time (the same IEEE operations per element as one at a
                // time); squares summed per lane in double, lanes then added in order.
                var squares8 = SIMD8<Double>(repeating: 0)
                var check8 = SIMD8<Float>(repeating: 0)
                @inline(__always) func eight(at e: Int) {
                    let w = UnsafeRawPointer(P + e).loadUnaligned(as: SIMD8<Float>.self)
                    var gv = UnsafeRawPointer(G + e).loadUnaligned(as: SIMD8<Float>.self)
                    let m0 = UnsafeRawPointer(M + e).loadUnaligned(as: SIMD8<Float>.self)
                    let v0 = UnsafeRawPointer(V + e).loadUnaligned(as: SIMD8<Float>.self)
                    if weights {
                        let wd = SIMD8<Double>(w)
                        squares8 += wd * wd
                        gv += r.lambda * (2 * w)
                    }
                    let mv = m0 + r.lerpWeight * (gv - m0)
                    let vv = v0 * r.beta2 + r.oneMinusBeta2 * gv * gv
                    let denom = vv.squareRoot() / r.bc2Sqrt + r.epsilon
                    let updated = w + r.negStepSize * (mv / denom)
                    check8 += updated - updated
                    UnsafeMutableRawPointer(M + e).storeBytes(of: mv, as: SIMD8<Float>.self)
                    UnsafeMutableRawPointer(V + e).storeBytes(of: vv, as: SIMD8<Float>.self)
                    UnsafeMutableRawPointer(P + e).storeBytes(of: updated, as: SIMD8<Float>.self)
                }
                // `rows` rows of `lanes` floats (a multiple of 8) from element `e`, `stride`
                // apart: eight lanes at a time, or in a C kernel with the same operations on
                // the same lanes of `squares8`.
                func update(rows: Int, stride rowStride: Int, lanes: Int, at e: Int) {
                    guard kernel != .portable else {
                        for row in 0..<rows {
                            for lane in stride(from: 0, to: lanes, by: 8) { eight(at: e + row * rowStride + lane) }
                        }
                        return
                    }
                    #if arch(x86_64)
                    let finite = withUnsafeMutableBytes(of: &squares8) { sq in
                        let s = sq.baseAddress!.assumingMemoryBound(to: Double.self), w: Int32 = weights ? 1 : 0
                        return kernel == .avx512
                            ? spike_adam_avx512(P + e, G + e, M + e, V + e, rows, rowStride, lanes, w, cRule, s)
                            : spike_adam_avx2(P + e, G + e, M + e, V + e, rows, rowStride, lanes, w, cRule, s)
                    }
                    if finite == 0 { check8 = SIMD8(repeating: .nan) }
                    #endif
                }
                var e = first
                if let shape = w1Layout {
                    // Rows of a half tile's lanes; blocks and half tiles both hold whole rows.
                    let W = NetworkShape.halfTileWidth, halfTileSize = shape.inputs * W
                    while e < end {
                        let halfTile = e / halfTileSize, lanes = shape.w1LaneBlocks(halfTile: halfTile) * 8
                        let stop = min(end, (halfTile + 1) * halfTileSize)
                        if lanes == W {
                            update(rows: 1, stride: 0, lanes: stop - e, at: e)
                        } else {
                            update(rows: (stop - e) / W, stride: W, lanes: lanes, at: e)
                        }
                        e = stop
                    }
                } else {
                    let whole = (end - first) / 8 * 8
                    update(rows: 1, stride: 0, lanes: whole, at: e)
                    e += whole
                }
                var sum = 0.0
                for lane in 0..<8 { sum += squares8[lane] }
                var bad = check8 != SIMD8<Float>(repeating: 0)
                while e < end {
                    let w = P[e]
                    var gv = G[e]
                    if weights {
                        sum += Double(w) * Double(w)
                        gv += r.lambda * (2 * w)
                    }
                    let mv = M[e] + r.lerpWeight * (gv - M[e])
                    let vv = V[e] * r.beta2 + r.oneMinusBeta2 * gv * gv
                    M[e] = mv
                    V[e] = vv
                    let denom = vv.squareRoot() / r.bc2Sqrt + r.epsilon
                    let updated = w + r.negStepSize * (mv / denom)
                    P[e] = updated
                    bad = bad || !updated.isFinite
                    e += 1
                }
                S[blk] = sum
                F[blk] = !bad
            }
            if let workers {
                workers.forEachItem(blocks) { _, blk in run(block: blk) }
            } else {
                for blk in 0..<blocks { run(block: blk) }
            }
        }}}}}}
        return (squares.reduce(0, +), !finite.contains(false))
    }
}
