import Foundation
import SpikeEvents
import SpikeNet
import SpikeSupport
import Testing

@Suite struct AdamTests {
    /// Three Adam steps (lr 1e-3) on the fixture batch, forward and backward re-run each time:
    /// loss before each step, parameters and both moments after it, within 1e-5 relative.
    @Test func threeStepsMatchSnnTorchFixture() throws {
        guard let fx = try SNNStepFixture.load() else { Issue.record("fixtures/snn_step.json not found"); return }
        #expect(fx.cases.count == 2)
        let adamConfig = fx.json["adam"] as! [String: Any]
        let betas = adamConfig["betas"] as! [Double]
        for c in fx.cases {
            let name = c["name"] as! String
            let h = SNNStepFixture.hyperparameters(of: c)
            let engine = SpikeEngine(shape: fx.shape, hyperparameters: h)
            var p = fx.parameters
            var adam = Adam(shape: fx.shape, learningRate: adamConfig["lr"] as! Double, beta1: betas[0], beta2: betas[1],
                            epsilon: adamConfig["eps"] as! Double)
            let steps = c["adam_steps"] as! [[String: Any]]
            #expect(steps.count == 3)
            for (k, expected) in steps.enumerated() {
                var g = NetworkParameters(zerosFor: fx.shape)
                let out = engine.forwardBackward(p, frames: fx.frames, batch: Array(0..<fx.batch), gradients: &g)
                expectClose([Float(out.loss + p.l2Term(lambda: 1e-5))], [expected["total_loss_before_step"] as! Double],
                            "\(name) step \(k + 1) loss")
                g.addL2Gradient(of: p, lambda: 1e-5)
                adam.update(&p, gradients: g)
                #expect(adam.step == k + 1)
                SpikeEngineTests.expectGradients(p, expected["params_after"] as! [String: Any], "\(name) step \(k + 1) params")
                SpikeEngineTests.expectGradients(adam.firstMoment, expected["exp_avg"] as! [String: Any], "\(name) step \(k + 1) exp_avg")
                SpikeEngineTests.expectGradients(adam.secondMoment, expected["exp_avg_sq"] as! [String: Any], "\(name) step \(k + 1) exp_avg_sq")
                if k == 0 {
                    SpikeEngineTests.expectGradients(p, c["params_after_one_adam_step"] as! [String: Any], "\(name) one step")
                }
            }
        }
    }

    /// Splitting the update over threads changes nothing (it is element-wise).
    @Test func threadedUpdateIsIdentical() {
        var rng = Xoshiro256(seed: 1)
        let shape = NetworkShape(hidden: 70)
        let p0 = NetworkParameters.pytorchDefault(shape: shape, rng: &rng)
        let g = NetworkParameters.pytorchDefault(shape: shape, rng: &rng)
        var results: [NetworkParameters] = []
        for threads in [1, 2] {
            var p = p0
            var adam = Adam(shape: shape, learningRate: 5e-3)
            for _ in 0..<3 { adam.update(&p, gradients: g, threads: threads) }
            results.append(p)
        }
        #expect(results[0] == results[1])
        #expect(results[0] != p0)
    }
}

extension AdamTests {
    /// The fused update (L2 gradient added inside Adam) gives the same bits as adding
    /// `λ·(2W)` first, and reports the L2 term of the parameters before the step.
    @Test func fusedL2GradientMatchesSeparateOne() {
        var rng = Xoshiro256(seed: 3)
        let shape = NetworkShape(hidden: 50)
        let p0 = NetworkParameters.pytorchDefault(shape: shape, rng: &rng)
        let g = NetworkParameters.pytorchDefault(shape: shape, rng: &rng)
        var separate = p0, fused = p0
        var a = Adam(shape: shape, learningRate: 5e-3), b = a
        for _ in 0..<2 {
            var gl2 = g
            gl2.addL2Gradient(of: separate, lambda: 1e-3)
            a.update(&separate, gradients: gl2)
            let before = fused.l2Term(lambda: 1e-3)
            let summary = b.update(&fused, gradients: g, l2: 1e-3, threads: 2)
            #expect(abs(summary.l2Term - before) <= 1e-12 * before)
            #expect(summary.isFinite)
        }
        #expect(separate == fused)
        #expect(a == b)
    }

    @Test func reportsNonFiniteParameters() {
        let shape = NetworkShape(hidden: 3)
        var p = NetworkParameters(zerosFor: shape)
        var g = NetworkParameters(zerosFor: shape)
        g.w1[5] = .nan
        var adam = Adam(shape: shape, learningRate: 1e-3)
        #expect(!adam.update(&p, gradients: g).isFinite)
    }
}

extension AdamTests {
    /// The update skips W1's padding lanes (`NetworkShape.w1LaneBlocks`) and nothing else:
    /// parameters and moments equal Adam's rule applied element by element to every element,
    /// padding included, which leaves the padding +0.
    @Test(arguments: [70, 100, 128])
    func skippingPaddingLanesChangesNoBit(hidden: Int) {
        var rng = Xoshiro256(seed: 11)
        let shape = NetworkShape(hidden: hidden)
        var p = NetworkParameters.pytorchDefault(shape: shape, rng: &rng)
        let g = NetworkParameters.pytorchDefault(shape: shape, rng: &rng)
        var adam = Adam(shape: shape, learningRate: 5e-3)
        var expected = p.w1, m = [Float](repeating: 0, count: p.w1.count), v = m
        let lambda: Float = 1e-3
        for k in 1...2 {
            adam.update(&p, gradients: g, l2: Double(lambda), threads: 2)
            let stepSize = 5e-3 / (1 - pow(0.9, Double(k)))
            let bc2Sqrt = Float((1 - pow(0.999, Double(k))).squareRoot())
            for e in expected.indices {
                let w = expected[e], gv = g.w1[e] + lambda * (2 * w)
                m[e] = m[e] + Float(1 - 0.9) * (gv - m[e])
                v[e] = v[e] * Float(0.999) + Float(1 - 0.999) * gv * gv
                expected[e] = w + Float(-stepSize) * (m[e] / (v[e].squareRoot() / bc2Sqrt + Float(1e-8)))
            }
        }
        func differences(_ a: some Sequence<Float>, _ b: some Sequence<Float>) -> Int { zip(a, b).filter { $0.bitPattern != $1.bitPattern }.count }
        #expect(differences(p.w1, expected) == 0, "W1")
        #expect(differences(adam.firstMoment.w1, m) == 0, "first moment")
        #expect(differences(adam.secondMoment.w1, v) == 0, "second moment")
        let padding = (hidden..<shape.paddedHidden).flatMap { j in (0..<shape.inputs).map { shape.w1Index(hidden: j, input: $0) } }
        #expect(padding.filter { p.w1[$0].bitPattern != 0 }.count == 0, "padding lanes left +0")
    }
}

extension AdamTests {
    /// Every kernel this CPU runs (Swift's eight-lane loop, AVX2, AVX-512) gives the same bits:
    /// parameters, both moments and the L2 term, on widths whose last half tile holds 8, 16, 24
    /// or 32 real lanes (the AVX-512 kernel's eight-lane tail included), and each reports a
    /// non-finite update.
    @Test(arguments: [70, 100, 120, 128, 216])
    func everyKernelGivesTheSameBits(hidden: Int) {
        var rng = Xoshiro256(seed: 5)
        let shape = NetworkShape(hidden: hidden)
        let p0 = NetworkParameters.pytorchDefault(shape: shape, rng: &rng)
        let g = NetworkParameters.pytorchDefault(shape: shape, rng: &rng)
        let kernels = Adam.Kernel.allCases.filter(\.runsHere)
        var results: [(NetworkParameters, Adam, [Double])] = []
        for kernel in kernels {
            var p = p0
            var adam = Adam(shape: shape, learningRate: 5e-3)
            var terms: [Double] = []
            for _ in 0..<3 {
                let summary = adam.update(&p, gradients: g, l2: 1e-3, threads: 2, kernel: kernel)
                #expect(summary.isFinite, "\(kernel)")
                terms.append(summary.l2Term)
            }
            results.append((p, adam, terms))
        }
        #expect(results[0].0 != p0)
        for (kernel, result) in zip(kernels, results).dropFirst() {
            #expect(result.0 == results[0].0, "\(kernel): parameters")
            #expect(result.1 == results[0].1, "\(kernel): moments")
            #expect(result.2.map(\.bitPattern) == results[0].2.map(\.bitPattern), "\(kernel): L2 terms")
        }
        for kernel in kernels {
            for index in [shape.w1Index(hidden: hidden - 1, input: shape.inputs - 1), shape.w1Index(hidden: 0, input: 0)] {
                var p = p0, bad = g
                bad.w1[index] = .infinity
                var adam = Adam(shape: shape, learningRate: 5e-3)
                #expect(!adam.update(&p, gradients: bad, kernel: kernel).isFinite, "\(kernel), W1[\(index)]")
            }
            var p = p0, bad = g
            bad.b2[bad.b2.count - 1] = .nan
            var adam = Adam(shape: shape, learningRate: 5e-3)
            #expect(!adam.update(&p, gradients: bad, kernel: kernel).isFinite, "\(kernel), b2")
        }
    }
}
