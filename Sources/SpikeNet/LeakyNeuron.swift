/// Parameters of snnTorch's `Leaky` neuron with its defaults: subtract reset with
/// `reset_delay=True`, the reset detached from the graph, binary spikes (SEMANTICS §1).
///
/// One step, evaluated in float32 exactly in this order:
/// ```
/// reset = H(mem_prev - thr)                          // detached: no gradient
/// mem   = ((beta * mem_prev) + input) - reset * thr
/// spk   = H(mem - thr)                               // H(u) = u > 0, strict
/// ```
/// The backward rule (reset detached) is
/// `dL/dmem[t] = dL/dspk[t] · sg(mem[t] - thr) + beta · dL/dmem[t+1]`.
package struct LeakyParameters: Sendable, Hashable {
    /// Decay β as snnTorch stores it: a float32 buffer, clamped to [0, 1].
    package var beta: Float
    /// Firing threshold (float32 buffer).
    package var threshold: Float

    package init(beta: Double, threshold: Double = 1.0) {
        self.beta = min(max(Float(beta), 0), 1)
        self.threshold = Float(threshold)
    }

    /// One neuron step; returns the new membrane and whether it spikes.
    @inlinable
    package func step(membrane memPrev: Float, input: Float) -> (membrane: Float, spike: Bool) {
        let reset: Float = memPrev - threshold > 0 ? threshold : 0
        let mem = ((beta * memPrev) + input) - reset
        return (mem, mem - threshold > 0)
    }
}

/// snnTorch's `surrogate.atan(alpha)`: forward is the Heaviside step, backward is
/// `alpha/2 / (1 + (pi/2 · alpha · x)²)` (SEMANTICS §2; the docstring's 1/π is not in the code).
package struct ArctanSurrogate: Sendable, Hashable {
    /// The slope α (snnTorch default 2).
    package var alpha: Double
    /// `pi/2 · alpha`, a Python double rounded to float32 when it multiplies the tensor.
    @usableFromInline let scale: Float
    /// `alpha/2`.
    @usableFromInline let halfAlpha: Float

    package init(alpha: Double = 2.0) {
        self.alpha = alpha
        scale = Float(Double.pi / 2 * alpha)
        halfAlpha = Float(alpha / 2)
    }

    /// The surrogate derivative at x = mem − thr.
    @inlinable @inline(__always)
    package func derivative(_ x: Float) -> Float {
        let s = scale * x
        return halfAlpha / (1 + s * s)
    }

    /// The surrogate derivative of sixteen lanes at once.
    @inlinable @inline(__always)
    package func derivative(_ x: SIMD16<Float>) -> SIMD16<Float> {
        let s = scale * x
        return SIMD16(repeating: halfAlpha) / (1 + s * s)
    }

    /// The surrogate derivative of eight lanes at once.
    @inlinable @inline(__always)
    package func derivative(_ x: SIMD8<Float>) -> SIMD8<Float> {
        let s = scale * x
        return SIMD8(repeating: halfAlpha) / (1 + s * s)
    }
}
