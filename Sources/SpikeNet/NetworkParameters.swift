import SpikeEvents
import SpikeSupport

/// The sizes of the study's network: Linear(inputs→hidden) → Leaky → Linear(hidden→outputs) → Leaky.
///
/// The engine cuts the hidden layer into tiles of `tileWidth` neurons and gathers over half
/// tiles: a half tile's slice of the first layer (inputs × 32 floats, 296 KB for N-MNIST,
/// stored contiguously) stays in L2 while the engine runs recordings through it, instead of
/// streaming the whole 7.4 MB matrix from L3 once per recording. The hidden layer is padded to whole tiles; padded neurons have
/// zero weights and biases, never spike and keep zero gradients, so they change nothing.
package struct NetworkShape: Sendable, Hashable, Codable, CustomStringConvertible {
    package let inputs: Int
    package let hidden: Int
    package let outputs: Int

    /// Hidden neurons per tile (eight SIMD8 registers).
    package static let tileWidth = 64
    /// Hidden neurons per half tile (four SIMD8 registers): the width of W1's slices.
    package static let halfTileWidth = 32

    package init(inputs: Int = NMNIST.inputCount, hidden: Int, outputs: Int = NMNIST.classCount) {
        precondition(inputs >= 1 && hidden >= 1 && outputs >= 1, "network sizes must be positive")
        self.inputs = inputs
        self.hidden = hidden
        self.outputs = outputs
    }

    package var tileCount: Int { (hidden + Self.tileWidth - 1) / Self.tileWidth }
    package var paddedHidden: Int { tileCount * Self.tileWidth }

    /// Position of W1[hidden j][input i] in the engine's layout `[half tile][input][lane]`:
    /// each half tile's slice (inputs × 32 floats) is contiguous, so that the rows a gather
    /// reads from it use every set of the caches.
    @inlinable
    package func w1Index(hidden j: Int, input i: Int) -> Int {
        ((j / Self.halfTileWidth) * inputs + i) * Self.halfTileWidth + j % Self.halfTileWidth
    }

    /// Where half `half` of `tile`'s slice of W1 starts (`w1Index` of its first element).
    @inlinable
    package func w1HalfTileOffset(tile: Int, half: Int) -> Int { (tile * 2 + half) * inputs * Self.halfTileWidth }

    /// How many blocks of eight lanes of a half tile (0 ..< 2·tileCount) hold real hidden
    /// neurons, 0–4 (3 counts as 4): the gathers, the dW1 update and Adam skip the rest of
    /// each row, which stays zero. At H = 800 the last half tile is all padding; at H = 100 it
    /// holds 4 neurons.
    package func w1LaneBlocks(halfTile: Int) -> Int {
        let real = hidden - halfTile * Self.halfTileWidth
        let blocks = (min(max(real, 0), Self.halfTileWidth) + 7) / 8
        return blocks == 3 ? 4 : blocks
    }

    /// How many lanes of `tile` (0 ..< `tileCount`) the AVX-512 kernels run: its real hidden
    /// neurons rounded up to whole blocks of eight (`w1LaneBlocks` of its two half tiles).
    package func realLanes(tile: Int) -> Int {
        (w1LaneBlocks(halfTile: 2 * tile) + w1LaneBlocks(halfTile: 2 * tile + 1)) * 8
    }

    package var description: String { "\(inputs)→\(hidden)→\(outputs)" }
}

/// The four tensors of the network (or their gradients, or Adam's moments), in the engine's layout:
/// - `w1`: first-layer weights `[half tile][input][lane]` (input-major inside a half tile, see `w1Index`);
/// - `b1`: `[paddedHidden]`;
/// - `w2`: second-layer weights `[paddedHidden][outputs]` (hidden-major, so the outputs fed by
///   one spiking neuron are contiguous);
/// - `b2`: `[outputs]`.
/// PyTorch's layout (`fc1.weight` [hidden][inputs], `fc2.weight` [outputs][hidden]) is produced
/// and consumed by `pytorchTensors()` / `init(shape:pytorch:)`.
package struct NetworkParameters: Sendable, Equatable {
    package let shape: NetworkShape
    package var w1: AlignedFloats
    package var b1: [Float]
    package var w2: [Float]
    package var b2: [Float]

    /// All zeros. W1's storage starts on a cache line (`AlignedFloats`); with `hugePages` it is
    /// advised to use transparent huge pages (see `HugePages`; a performance hint only).
    package init(zerosFor shape: NetworkShape, hugePages: Bool = true) {
        self.shape = shape
        w1 = AlignedFloats(zeros: shape.tileCount * shape.inputs * NetworkShape.tileWidth, hugePages: hugePages)
        b1 = [Float](repeating: 0, count: shape.paddedHidden)
        w2 = [Float](repeating: 0, count: shape.paddedHidden * shape.outputs)
        b2 = [Float](repeating: 0, count: shape.outputs)
    }

    /// PyTorch's default `nn.Linear` initialisation: weights and biases ~ U(−1/√in, 1/√in),
    /// drawn in PyTorch's order (fc1.weight row by row, fc1.bias, fc2.weight, fc2.bias) from `rng`.
    /// The distribution matches torch; the stream cannot (torch uses its own generator).
    package static func pytorchDefault(shape: NetworkShape, rng: inout Xoshiro256, hugePages: Bool = true) -> NetworkParameters {
        func uniform(_ count: Int, fanIn: Int) -> [Float] {
            let bound = 1 / Double(fanIn).squareRoot()
            return (0..<count).map { _ in Float((2 * rng.nextUnitDouble() - 1) * bound) }
        }
        let fc1w = uniform(shape.hidden * shape.inputs, fanIn: shape.inputs)
        let fc1b = uniform(shape.hidden, fanIn: shape.inputs)
        let fc2w = uniform(shape.outputs * shape.hidden, fanIn: shape.hidden)
        let fc2b = uniform(shape.outputs, fanIn: shape.hidden)
        return NetworkParameters(shape: shape, fc1Weight: fc1w, fc1Bias: fc1b, fc2Weight: fc2w, fc2Bias: fc2b,
                                 hugePages: hugePages)
    }

    /// From tensors in PyTorch's layout: `fc1Weight` [hidden][inputs], `fc1Bias` [hidden],
    /// `fc2Weight` [outputs][hidden], `fc2Bias` [outputs]. `hugePages` as in `init(zerosFor:hugePages:)`.
    package init(shape: NetworkShape, fc1Weight: [Float], fc1Bias: [Float], fc2Weight: [Float], fc2Bias: [Float],
                 hugePages: Bool = true) {
        precondition(fc1Weight.count == shape.hidden * shape.inputs && fc1Bias.count == shape.hidden
            && fc2Weight.count == shape.outputs * shape.hidden && fc2Bias.count == shape.outputs,
            "tensor sizes do not match the network shape")
        self.init(zerosFor: shape, hugePages: hugePages)
        w1.withUnsafeMutableBufferPointer { w1 in
            for j in 0..<shape.hidden {
                for i in 0..<shape.inputs { w1[shape.w1Index(hidden: j, input: i)] = fc1Weight[j * shape.inputs + i] }
            }
        }
        for j in 0..<shape.hidden {
            b1[j] = fc1Bias[j]
            for c in 0..<shape.outputs { w2[j * shape.outputs + c] = fc2Weight[c * shape.hidden + j] }
        }
        b2 = fc2Bias
    }

    /// The four tensors in PyTorch's state-dict layout.
    package func pytorchTensors() -> (fc1Weight: [Float], fc1Bias: [Float], fc2Weight: [Float], fc2Bias: [Float]) {
        var fc1w = [Float](repeating: 0, count: shape.hidden * shape.inputs)
        var fc2w = [Float](repeating: 0, count: shape.outputs * shape.hidden)
        for j in 0..<shape.hidden {
            for i in 0..<shape.inputs { fc1w[j * shape.inputs + i] = w1[shape.w1Index(hidden: j, input: i)] }
            for c in 0..<shape.outputs { fc2w[c * shape.hidden + j] = w2[j * shape.outputs + c] }
        }
        return (fc1w, Array(b1[0..<shape.hidden]), fc2w, b2)
    }

    /// Whether every value is finite.
    package var isFinite: Bool {
        for v in w1 where !v.isFinite { return false }
        for tensor in [b1, w2, b2] {
            for v in tensor where !v.isFinite { return false }
        }
        return true
    }

    /// `lambda · (ΣW1² + ΣW2²)`: the L2 term of the loss (weights only, no biases), summed in double.
    package func l2Term(lambda: Double) -> Double {
        var sum = 0.0
        for v in w1 { sum += Double(v) * Double(v) }
        for v in w2 { sum += Double(v) * Double(v) }
        return lambda * sum
    }

    /// Sets every value to zero, keeping the storage.
    package mutating func zero() {
        w1.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
        for k in b1.indices { b1[k] = 0 }
        for k in w2.indices { w2[k] = 0 }
        for k in b2.indices { b2[k] = 0 }
    }
}

extension NetworkParameters {
    /// Adds the gradient of `lambda · (ΣW1² + ΣW2²)` to these gradients: `lambda · (2W)` for the
    /// two weight matrices (torch's PowBackward then MulBackward), nothing for the biases.
    package mutating func addL2Gradient(of parameters: NetworkParameters, lambda: Double) {
        guard lambda != 0 else { return }
        let l = Float(lambda)
        parameters.w1.withUnsafeBufferPointer { w in
            w1.withUnsafeMutableBufferPointer { g in
                for k in 0..<g.count { g[k] += l * (2 * w[k]) }
            }
        }
        for k in w2.indices { w2[k] += l * (2 * parameters.w2[k]) }
    }
}
