import CSpikeSIMD

/// Eight float lanes: one AVX register.
typealias V8 = SIMD8<Float>

/// The 64 lanes of one hidden tile (`NetworkShape.tileWidth`), held in eight AVX registers.
/// Loads and stores are unaligned; every operation is lane by lane.
struct Lanes {
    var v0, v1, v2, v3, v4, v5, v6, v7: V8

    @inline(__always)
    init(repeating x: Float) {
        let v = V8(repeating: x)
        (v0, v1, v2, v3, v4, v5, v6, v7) = (v, v, v, v, v, v, v, v)
    }

    /// Loads p[0..<64].
    @inline(__always)
    init(_ p: UnsafePointer<Float>) {
        @inline(__always) func l(_ k: Int) -> V8 { UnsafeRawPointer(p + 8 &* k).loadUnaligned(as: V8.self) }
        (v0, v1, v2, v3, v4, v5, v6, v7) = (l(0), l(1), l(2), l(3), l(4), l(5), l(6), l(7))
    }

    @inline(__always)
    init(_ v0: V8, _ v1: V8, _ v2: V8, _ v3: V8, _ v4: V8, _ v5: V8, _ v6: V8, _ v7: V8) {
        (self.v0, self.v1, self.v2, self.v3, self.v4, self.v5, self.v6, self.v7) = (v0, v1, v2, v3, v4, v5, v6, v7)
    }

    /// Loads lanes 0..<32 from `low` and 32..<64 from `high` (a tile kept as two half tiles).
    @inline(__always)
    init(low: UnsafePointer<Float>, high: UnsafePointer<Float>) {
        let a = HalfLanes(low), b = HalfLanes(high)
        (v0, v1, v2, v3, v4, v5, v6, v7) = (a.v0, a.v1, a.v2, a.v3, b.v0, b.v1, b.v2, b.v3)
    }

    /// Stores lanes 0..<32 into `low` and 32..<64 into `high`.
    @inline(__always)
    func store(low: UnsafeMutablePointer<Float>, high: UnsafeMutablePointer<Float>) {
        HalfLanes(v0, v1, v2, v3).store(low)
        HalfLanes(v4, v5, v6, v7).store(high)
    }

    /// Stores into p[0..<64].
    @inline(__always)
    func store(_ p: UnsafeMutablePointer<Float>) {
        @inline(__always) func s(_ v: V8, _ k: Int) { UnsafeMutableRawPointer(p + 8 &* k).storeBytes(of: v, as: V8.self) }
        s(v0, 0); s(v1, 1); s(v2, 2); s(v3, 3); s(v4, 4); s(v5, 5); s(v6, 6); s(v7, 7)
    }

    /// self = fma(c, p[0..<64], self), lane by lane.
    @inline(__always)
    mutating func addProduct(_ c: Float, _ p: UnsafePointer<Float>) {
        @inline(__always) func l(_ k: Int) -> V8 { UnsafeRawPointer(p + 8 &* k).loadUnaligned(as: V8.self) }
        v0 = v0.addingProduct(c, l(0)); v1 = v1.addingProduct(c, l(1))
        v2 = v2.addingProduct(c, l(2)); v3 = v3.addingProduct(c, l(3))
        v4 = v4.addingProduct(c, l(4)); v5 = v5.addingProduct(c, l(5))
        v6 = v6.addingProduct(c, l(6)); v7 = v7.addingProduct(c, l(7))
    }

    /// self = self + o, lane by lane.
    @inline(__always)
    mutating func add(_ o: Lanes) {
        v0 += o.v0; v1 += o.v1; v2 += o.v2; v3 += o.v3; v4 += o.v4; v5 += o.v5; v6 += o.v6; v7 += o.v7
    }

    /// One step of the Leaky neuron's BPTT, lane by lane, with `self` = dL/dmem[t+1]:
    /// self = (g · sg) + β · self, the products rounded before the sum.
    @inline(__always)
    mutating func backwardStep(gradient g: Lanes, surrogate sg: Lanes, beta: V8) {
        @inline(__always) func f(_ d: V8, _ g: V8, _ sg: V8) -> V8 { (g * sg) + beta * d }
        v0 = f(v0, g.v0, sg.v0); v1 = f(v1, g.v1, sg.v1); v2 = f(v2, g.v2, sg.v2); v3 = f(v3, g.v3, sg.v3)
        v4 = f(v4, g.v4, sg.v4); v5 = f(v5, g.v5, sg.v5); v6 = f(v6, g.v6, sg.v6); v7 = f(v7, g.v7, sg.v7)
    }
}

/// Half a hidden tile: 32 lanes in four AVX registers. The gathers of the hidden layer work
/// on half tiles, so that the rows they read (an inputs × 32 slice of W1, 296 KB for
/// N-MNIST) stay in a 512 KB L2 cache. Loads and stores are unaligned; lane by lane.
struct HalfLanes {
    var v0, v1, v2, v3: V8

    static let width = NetworkShape.halfTileWidth

    @inline(__always)
    init(repeating x: Float) {
        let v = V8(repeating: x)
        (v0, v1, v2, v3) = (v, v, v, v)
    }

    /// Loads p[0..<32].
    @inline(__always)
    init(_ p: UnsafePointer<Float>) {
        @inline(__always) func l(_ k: Int) -> V8 { UnsafeRawPointer(p + 8 &* k).loadUnaligned(as: V8.self) }
        (v0, v1, v2, v3) = (l(0), l(1), l(2), l(3))
    }

    @inline(__always)
    init(_ v0: V8, _ v1: V8, _ v2: V8, _ v3: V8) { (self.v0, self.v1, self.v2, self.v3) = (v0, v1, v2, v3) }

    /// Stores into p[0..<32].
    @inline(__always)
    func store(_ p: UnsafeMutablePointer<Float>) {
        @inline(__always) func s(_ v: V8, _ k: Int) { UnsafeMutableRawPointer(p + 8 &* k).storeBytes(of: v, as: V8.self) }
        s(v0, 0); s(v1, 1); s(v2, 2); s(v3, 3)
    }

    /// self = fma(c, p[0..<32], self), lane by lane.
    @inline(__always)
    mutating func addProduct(_ c: Float, _ p: UnsafePointer<Float>) {
        @inline(__always) func l(_ k: Int) -> V8 { UnsafeRawPointer(p + 8 &* k).loadUnaligned(as: V8.self) }
        v0 = v0.addingProduct(c, l(0)); v1 = v1.addingProduct(c, l(1))
        v2 = v2.addingProduct(c, l(2)); v3 = v3.addingProduct(c, l(3))
    }

    /// The Leaky step of `neuron` on every lane: `((β·self) + input) − reset·thr` with
    /// reset = H(self − thr).
    @inline(__always)
    mutating func leakyStep(input a: HalfLanes, beta: V8, threshold thr: V8) {
        let zero = V8(repeating: 0)
        @inline(__always) func f(_ m: V8, _ x: V8) -> V8 { ((beta * m) + x) - zero.replacing(with: thr, where: m .> thr) }
        v0 = f(v0, a.v0); v1 = f(v1, a.v1); v2 = f(v2, a.v2); v3 = f(v3, a.v3)
    }

    /// The surrogate derivative of every lane at x = self − thr.
    @inline(__always)
    func surrogate(_ s: ArctanSurrogate, threshold thr: V8) -> HalfLanes {
        var r = self
        r.v0 = s.derivative(v0 - thr); r.v1 = s.derivative(v1 - thr)
        r.v2 = s.derivative(v2 - thr); r.v3 = s.derivative(v3 - thr)
        return r
    }

    /// Bit k set when lane k is above `thr` (a spike).
    @inline(__always)
    func bits(above thr: V8) -> UInt32 { spike_bits_above(v0, v1, v2, v3, thr) }
}

/// The first lanes of a half tile, for the gathers and the dW1 update, which skip the lanes a
/// half tile only holds as padding (`NetworkShape.w1LaneBlocks`): all 32 (`HalfLanes`), 16
/// (`QuarterLanes`) or 8 (`EighthLanes`). Loads and stores touch only those lanes.
protocol LaneBlock {
    /// Loads p[0..<width].
    init(_ p: UnsafePointer<Float>)
    /// Stores into p[0..<width].
    func store(_ p: UnsafeMutablePointer<Float>)
    /// self = fma(c, p[0..<width], self), lane by lane.
    mutating func addProduct(_ c: Float, _ p: UnsafePointer<Float>)
}

extension HalfLanes: LaneBlock {}

/// 16 lanes in two AVX registers (see `LaneBlock`).
struct QuarterLanes: LaneBlock {
    var v0, v1: V8

    @inline(__always)
    init(_ p: UnsafePointer<Float>) {
        v0 = UnsafeRawPointer(p).loadUnaligned(as: V8.self)
        v1 = UnsafeRawPointer(p + 8).loadUnaligned(as: V8.self)
    }

    @inline(__always)
    func store(_ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: v0, as: V8.self)
        UnsafeMutableRawPointer(p + 8).storeBytes(of: v1, as: V8.self)
    }

    @inline(__always)
    mutating func addProduct(_ c: Float, _ p: UnsafePointer<Float>) {
        v0 = v0.addingProduct(c, UnsafeRawPointer(p).loadUnaligned(as: V8.self))
        v1 = v1.addingProduct(c, UnsafeRawPointer(p + 8).loadUnaligned(as: V8.self))
    }
}

/// 8 lanes in one AVX register (see `LaneBlock`).
struct EighthLanes: LaneBlock {
    var v0: V8

    @inline(__always)
    init(_ p: UnsafePointer<Float>) { v0 = UnsafeRawPointer(p).loadUnaligned(as: V8.self) }

    @inline(__always)
    func store(_ p: UnsafeMutablePointer<Float>) { UnsafeMutableRawPointer(p).storeBytes(of: v0, as: V8.self) }

    @inline(__always)
    mutating func addProduct(_ c: Float, _ p: UnsafePointer<Float>) {
        v0 = v0.addingProduct(c, UnsafeRawPointer(p).loadUnaligned(as: V8.self))
    }
}
