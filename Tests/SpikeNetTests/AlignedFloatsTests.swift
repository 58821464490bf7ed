import Foundation
import Testing
@testable import SpikeNet
import SpikeSupport

@Suite struct AlignedFloatsTests {
    static func offset(_ floats: AlignedFloats) -> Int {
        floats.withUnsafeBufferPointer { Int(bitPattern: $0.baseAddress!) % AlignedFloats.alignment }
    }

    /// W1 (and its gradient and moments) start on a cache line however they were made: as
    /// zeros, from PyTorch's layout, as a written copy, after an Adam step, read back from bytes.
    /// (As a `[Float]`, W1 and its gradient started 0, 16 or 48 bytes past a line in `bench` runs.)
    @Test(arguments: [100, 800])
    func w1StartsOnACacheLine(hidden: Int) throws {
        let shape = NetworkShape(hidden: hidden)
        var rng = Xoshiro256(seed: 3)
        var p = NetworkParameters.pytorchDefault(shape: shape, rng: &rng)
        let g = NetworkParameters.pytorchDefault(shape: shape, rng: &rng)
        #expect(Self.offset(p.w1) == 0)
        #expect(Self.offset(NetworkParameters(zerosFor: shape, hugePages: false).w1) == 0)
        var copy = p
        copy.w1[7] += 1
        #expect(Self.offset(copy.w1) == 0)
        var adam = Adam(shape: shape, learningRate: 5e-3)
        adam.update(&p, gradients: g, l2: 1e-5, threads: 2)
        #expect(Self.offset(p.w1) == 0 && Self.offset(adam.firstMoment.w1) == 0 && Self.offset(adam.secondMoment.w1) == 0)
        var w = ByteWriter()
        w.append(floats: p.w1)
        var r = ByteReader(w.bytes) { CocoaError(.fileReadCorruptFile, userInfo: [NSLocalizedDescriptionKey: $0]) }
        let read = AlignedFloats(try r.readFloats(expected: p.w1.count))
        #expect(Self.offset(read) == 0)
        #expect(read.elementsEqual(p.w1) { $0.bitPattern == $1.bitPattern })
    }

    /// Value semantics: a copy is independent of the original once either is written, through
    /// the subscript or a mutable buffer; equality is element by element.
    @Test func copiesAreIndependentValues() {
        let a = AlignedFloats([1, 2, 3, 4], hugePages: false)
        var b = a
        #expect(a == b)
        b[1] = 20
        #expect(Array(a) == [1, 2, 3, 4] && Array(b) == [1, 20, 3, 4])
        #expect(a != b)
        var c = a
        c.withUnsafeMutableBufferPointer { $0[3] = 40 }
        #expect(Array(a) == [1, 2, 3, 4] && Array(c) == [1, 2, 3, 40])
        #expect(AlignedFloats(zeros: 3, hugePages: false) == AlignedFloats([0, -0, 0], hugePages: false))
        #expect(AlignedFloats([.nan], hugePages: false) != AlignedFloats([.nan], hugePages: false))
        #expect(AlignedFloats(zeros: 0).isEmpty)
    }
}
