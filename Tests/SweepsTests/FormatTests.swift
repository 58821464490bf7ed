import Foundation
import SpikeSupport
import Testing

@Suite struct FormatTests {
    /// Result files write times with `Format.fixed`: what it writes must read back as the value
    /// it reports, and be `%.Nf` apart from exact ties.
    @Test(arguments: [1, 3])
    func fixedReadsBackAsItsValueAndAgreesWithPrintf(decimals: Int) {
        var rng = SystemRandomNumberGenerator()
        let scale = pow(10, Double(decimals))
        var samples: [Double] = [0, 0.0004, 0.0006, 0.9996, 1, 12.25, 99.95, 1234.5678, 86_400.123456, 3.0e9]
        for _ in 0..<20_000 { samples.append(Double.random(in: 0..<1, using: &rng) * pow(10, Double(Int.random(in: -3...8, using: &rng)))) }
        for v in samples {
            let (text, value) = Format.fixed(v, decimals: decimals)
            #expect(Double(text) == value, "\(v) → \(text) reads back as \(Double(text)!), not \(value)")
            #expect(abs(value - v) <= 0.5 / scale * (1 + 1e-9) + abs(v) * 1e-15, "\(v) → \(text)")
            let tie = abs((v * scale).truncatingRemainder(dividingBy: 1) - 0.5) < 1e-6
            if !tie { #expect(text == String(format: "%.\(decimals)f", v), "\(v)") }
        }
        #expect(Format.fixed(-2.5, decimals: 1).text == "-2.5")
        #expect(Format.fixed(.infinity, decimals: 3).text == String(format: "%.3f", Double.infinity))
    }
}
