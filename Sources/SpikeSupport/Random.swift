/// A seedable, platform-independent pseudo-random generator (xoshiro256**), seeded through
/// SplitMix64 as its authors recommend.
///
/// Every random choice in SpikeSweep (fold assignment, weight initialisation, per-epoch
/// shuffling, synthetic data) goes through this type, so a seed fully determines a run on any
/// machine. Its state is four words that checkpoints save and restore.
package struct Xoshiro256: RandomNumberGenerator, Sendable, Equatable, Codable {
    package var state: (UInt64, UInt64, UInt64, UInt64) {
        get { (s0, s1, s2, s3) }
        set { (s0, s1, s2, s3) = newValue }
    }
    @usableFromInline var s0: UInt64
    @usableFromInline var s1: UInt64
    @usableFromInline var s2: UInt64
    @usableFromInline var s3: UInt64

    /// Seeds the generator from one 64-bit value through SplitMix64.
    package init(seed: UInt64) {
        var mixer = SplitMix64(seed: seed)
        s0 = mixer.next(); s1 = mixer.next(); s2 = mixer.next(); s3 = mixer.next()
    }

    /// Restores a generator from a saved state (see `state`).
    package init(state: (UInt64, UInt64, UInt64, UInt64)) {
        (s0, s1, s2, s3) = state
    }

    @inlinable
    package mutating func next() -> UInt64 {
        let result = rotl(s1 &* 5, 7) &* 9
        let t = s1 << 17
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = rotl(s3, 45)
        return result
    }

    @inlinable
    func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 &- k)) }

    /// A uniform Float in [0, 1) from the top 24 bits.
    @inlinable
    package mutating func nextUnitFloat() -> Float {
        Float(next() >> 40) * (1.0 / 16_777_216.0)
    }

    /// A uniform Double in [0, 1) from the top 53 bits.
    @inlinable
    package mutating func nextUnitDouble() -> Double {
        Double(next() >> 11) * (1.0 / 9_007_199_254_740_992.0)
    }

    /// A uniform integer in 0..<bound (Lemire's method, no modulo bias).
    @inlinable
    package mutating func nextInt(below bound: Int) -> Int {
        precondition(bound > 0, "bound must be positive")
        return Int(next(upperBound: UInt64(bound)))
    }

    /// Shuffles `array` in place (Fisher–Yates), the same way on every platform, unlike
    /// `Array.shuffle(using:)` whose algorithm the standard library does not promise.
    package mutating func shuffle<T>(_ array: inout [T]) {
        guard array.count > 1 else { return }
        for i in stride(from: array.count - 1, to: 0, by: -1) {
            let j = nextInt(below: i + 1)
            if i != j { array.swapAt(i, j) }
        }
    }

    package static func == (a: Xoshiro256, b: Xoshiro256) -> Bool {
        a.s0 == b.s0 && a.s1 == b.s1 && a.s2 == b.s2 && a.s3 == b.s3
    }

    enum CodingKeys: String, CodingKey { case state }
    package init(from decoder: Decoder) throws {
        let words = try decoder.container(keyedBy: CodingKeys.self).decode([UInt64].self, forKey: .state)
        guard words.count == 4 else {
            throw DecodingError.dataCorrupted(.init(codingPath: [CodingKeys.state], debugDescription: "expected 4 state words"))
        }
        (s0, s1, s2, s3) = (words[0], words[1], words[2], words[3])
    }
    package func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode([s0, s1, s2, s3], forKey: .state)
    }
}

/// SplitMix64: turns one seed into a well-mixed stream; also used to derive seeds.
package struct SplitMix64: RandomNumberGenerator, Sendable {
    package var state: UInt64
    package init(seed: UInt64) { state = seed }
    @inlinable
    package mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Derives a child seed from a parent seed and a list of components (e.g. sweep seed, config
/// id, fold), stable across platforms and releases.
package func deriveSeed(_ parent: UInt64, _ components: [UInt64]) -> UInt64 {
    var mixer = SplitMix64(seed: parent)
    var value = mixer.next()
    for component in components {
        mixer.state ^= component &* 0x9E37_79B9_7F4A_7C15
        value ^= mixer.next()
    }
    return value
}
