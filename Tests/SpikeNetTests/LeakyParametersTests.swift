import Testing
import SpikeNet

@Suite struct LeakyParametersTests {
    /// SEMANTICS §1 probe: input 1.2 every step, β 0.9: 1.2 (spike), then 0.9·1.2 + 1.2 − 1 = 1.28
    /// (spike, the reset of step 0 lands on step 1), …
    @Test func delayedSubtractResetTrajectory() {
        let lif = LeakyParameters(beta: 0.9)
        var mem: Float = 0
        var trajectory: [Float] = [], spikes: [Bool] = []
        for _ in 0..<3 {
            let (m, s) = lif.step(membrane: mem, input: 1.2)
            mem = m; trajectory.append(m); spikes.append(s)
        }
        let b = Float(0.9)
        let m1 = ((b * 1.2) + 1.2) - 1
        #expect(trajectory == [1.2, m1, ((b * m1) + 1.2) - 1])
        #expect(spikes == [true, true, true])
        #expect(lif.beta == 0.89999997615814208984375)
    }

    /// A membrane exactly at the threshold does not spike (H is strict) and causes no reset.
    @Test func thresholdIsStrict() {
        let lif = LeakyParameters(beta: 0.5)
        let (m0, s0) = lif.step(membrane: 0, input: 1.0)
        #expect(m0 == 1.0 && !s0)
        let (m1, _) = lif.step(membrane: m0, input: 0)
        #expect(m1 == 0.5)
    }

    @Test func arctanSurrogateIsOneAtThresholdAndMatchesFormula() {
        let sg = ArctanSurrogate()
        #expect(sg.derivative(Float(0)) == 1)
        let x: Float = 0.3
        let s = Float(Double.pi) * x
        #expect(sg.derivative(x) == 1 / (1 + s * s))
        #expect(sg.derivative(SIMD8<Float>(repeating: x))[3] == sg.derivative(x))
    }
}
