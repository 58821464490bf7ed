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
public struct Adam: Sendable, Equatable {
    public var learningRate: Double
    public var beta1: Double
    public var beta2: Double
    public var epsilon: Double
    /// Steps taken so far (torch's `state['step']`).
    public var step: Int
    /// First moments (`exp_avg`), laid out like the parameters.
    public var firstMoment: NetworkParameters
    /// Second moments (`exp_avg_sq`).
    public var secondMoment: NetworkParameters

    public init(shape: NetworkShape, learningRate: Double, beta1: Double = 0.9, beta2: Double = 0.999, epsilon: Double = 1e-8) {
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        step = 0
        firstMoment = NetworkParameters(zerosFor: shape)
        secondMoment = NetworkParameters(zerosFor: shape)
    }

    /// One update of every parameter from `gradients`. Element-wise, so splitting the work over
    /// `threads` changes nothing in the result.
    /// - Complexity: O(number of parameters).
    public mutating func update(_ parameters: inout NetworkParameters, gradients: NetworkParameters, threads: Int = 1) {
        step += 1
        let k = Double(step)
        let stepSize = learningRate / (1 - pow(beta1, k))
        let bc2Sqrt = (1 - pow(beta2, k)).squareRoot()
        let rule = Rule(lerpWeight: Float(1 - beta1), beta2: Float(beta2), oneMinusBeta2: Float(1 - beta2),
                        bc2Sqrt: Float(bc2Sqrt), epsilon: Float(epsilon), negStepSize: Float(-stepSize))
        Self.apply(rule, &parameters.w1, gradients.w1, &firstMoment.w1, &secondMoment.w1, threads: threads)
        Self.apply(rule, &parameters.b1, gradients.b1, &firstMoment.b1, &secondMoment.b1, threads: 1)
        Self.apply(rule, &parameters.w2, gradients.w2, &firstMoment.w2, &secondMoment.w2, threads: 1)
        Self.apply(rule, &parameters.b2, gradients.b2, &firstMoment.b2, &secondMoment.b2, threads: 1)
    }

    struct Rule {
        var lerpWeight, beta2, oneMinusBeta2, bc2Sqrt, epsilon, negStepSize: Float
    }

    static func apply(_ r: Rule, _ p: inout [Float], _ g: [Float], _ m: inout [Float], _ v: inout [Float], threads: Int) {
        let n = p.count
        p.withUnsafeMutableBufferPointer { pp in
            m.withUnsafeMutableBufferPointer { mp in
                v.withUnsafeMutableBufferPointer { vp in
                    g.withUnsafeBufferPointer { gp in
                        let (P, M, V, G) = (pp.baseAddress!, mp.baseAddress!, vp.baseAddress!, gp.baseAddress!)
                        parallelFor(chunks: threads, count: n) { range in
                            for e in range {
                                let gv = G[e]
                                let mv = M[e] + r.lerpWeight * (gv - M[e])
                                let vv = V[e] * r.beta2 + r.oneMinusBeta2 * gv * gv
                                M[e] = mv
                                V[e] = vv
                                let denom = vv.squareRoot() / r.bc2Sqrt + r.epsilon
                                P[e] = P[e] + r.negStepSize * (mv / denom)
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Runs `body` on `chunks` contiguous pieces of `0..<count`, in parallel when chunks > 1.
func parallelFor(chunks: Int, count: Int, _ body: (Range<Int>) -> Void) {
    let chunks = max(1, min(chunks, count))
    if chunks == 1 { body(0..<count); return }
    DispatchQueue.concurrentPerform(iterations: chunks) { c in
        body((count * c / chunks) ..< (count * (c + 1) / chunks))
    }
}
