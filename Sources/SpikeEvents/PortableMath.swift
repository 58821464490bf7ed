/// Elementary functions built from IEEE basic operations only (+, −, ×, ÷, rounding), so they
/// return bit-identical results on every platform.
///
/// The C library's `log`, `sin` and `cos` may differ in the last bit between glibc and Darwin;
/// the synthetic data generator uses these instead so that a seed names the same recordings
/// everywhere. Accuracy is about 1e-15 relative, far more than the generator needs.
package enum PortableMath {
    static let ln2 = 0.693_147_180_559_945_309_417_232_121_458
    package static let pi = 3.141_592_653_589_793_238_462_643_383_279

    /// Natural logarithm of a positive finite `x`.
    package static func log(_ x: Double) -> Double {
        precondition(x > 0 && x.isFinite, "log needs a positive finite argument")
        var m = x.significand          // [1, 2)
        var e = Double(x.exponent)
        if m > 1.414_213_562_373_095 {  // centre m on 1: m in (0.707, 1.414]
            m *= 0.5
            e += 1
        }
        // ln m = 2 atanh(z), z = (m − 1)/(m + 1), |z| ≤ 0.172: the series converges fast.
        let z = (m - 1) / (m + 1)
        let z2 = z * z
        var term = z
        var sum = 0.0
        var k = 1.0
        while k < 26 {
            sum += term / k
            term *= z2
            k += 2
        }
        return 2 * sum + e * ln2
    }

    /// Sine of `x` (radians).
    package static func sin(_ x: Double) -> Double {
        precondition(x.isFinite, "sin needs a finite argument")
        // Reduce to [−π, π], then to [−π/2, π/2] with sin(π − r) = sin(r).
        var r = x - 2 * pi * (x / (2 * pi)).rounded()
        if r > pi / 2 { r = pi - r } else if r < -pi / 2 { r = -pi - r }
        let r2 = r * r
        var term = r
        var sum = r
        var n = 1.0
        while n < 25 {
            term *= -r2 / ((n + 1) * (n + 2))
            sum += term
            n += 2
        }
        return sum
    }

    /// Cosine of `x` (radians).
    package static func cos(_ x: Double) -> Double { sin(x + pi / 2) }
}
