import COpenBLAS
import SpikeEvents
import SpikeNet

/// A plain dense implementation of the network in PyTorch's layout and snnTorch's time loop
/// (`for t: cur1 = fc1(x[t]); spk1, mem1 = lif1(cur1, mem1); cur2 = fc2(spk1); …`), written
/// from SEMANTICS.md without any of the engine's sparsity, tiling or threading. The engine is
/// checked against it.
///
/// Forward sums run over *all* inputs (zeros included) in ascending order with fused
/// multiply-adds starting from the bias; adding 0·w changes nothing, so spikes and membranes
/// must equal the event-driven engine's bit for bit. The weight gradient of the first layer is
/// one dense `sgemm` (OpenBLAS), so gradients agree only up to float reassociation.
struct DenseReference {
    let inputs: Int, hidden: Int, outputs: Int
    var fc1Weight: [Float]  // [H][in]
    var fc1Bias: [Float]
    var fc2Weight: [Float]  // [C][H]
    var fc2Bias: [Float]
    let beta: Float
    let threshold: Float
    let ratio: TargetRatio

    struct Result {
        var steps: Int
        /// [T][B][H] and [T][B][C], as the fixture stores them.
        var hiddenMembrane: [Float], hiddenSpikes: [Float]
        var outputMembrane: [Float], outputSpikes: [Float]
        var counts: [Float]  // [B][C]
        var loss: Double
        var grads: (fc1Weight: [Float], fc1Bias: [Float], fc2Weight: [Float], fc2Bias: [Float])
    }

    init(_ p: NetworkParameters, beta: Double, threshold: Double = 1, ratio: TargetRatio) {
        inputs = p.shape.inputs; hidden = p.shape.hidden; outputs = p.shape.outputs
        (fc1Weight, fc1Bias, fc2Weight, fc2Bias) = p.pytorchTensors()
        self.beta = Float(beta); self.threshold = Float(threshold); self.ratio = ratio
    }

    /// `x` is [T][B][inputs] (already padded to the batch's length).
    func run(x: [Float], steps T: Int, labels: [Int]) -> Result {
        let B = labels.count, H = hidden, C = outputs, I = inputs
        var mem1 = [Float](repeating: 0, count: B * H), mem2 = [Float](repeating: 0, count: B * C)
        var r = Result(steps: T, hiddenMembrane: [], hiddenSpikes: [], outputMembrane: [], outputSpikes: [],
                       counts: [Float](repeating: 0, count: B * C), loss: 0, grads: ([], [], [], []))
        func lif(_ m: inout Float, _ input: Float) -> Float {
            let reset: Float = (m - threshold > 0) ? 1 : 0
            m = ((beta * m) + input) - reset * threshold
            return (m - threshold > 0) ? 1 : 0
        }
        for t in 0..<T {
            for b in 0..<B {
                var spk1 = [Float](repeating: 0, count: H)
                for h in 0..<H {
                    var cur = fc1Bias[h]
                    for i in 0..<I { cur = cur.addingProduct(x[(t * B + b) * I + i], fc1Weight[h * I + i]) }
                    spk1[h] = lif(&mem1[b * H + h], cur)
                }
                r.hiddenMembrane += mem1[(b * H)..<((b + 1) * H)]
                r.hiddenSpikes += spk1
                for c in 0..<C {
                    var cur = fc2Bias[c]
                    for h in 0..<H { cur = cur.addingProduct(spk1[h], fc2Weight[c * H + h]) }
                    let s = lif(&mem2[b * C + c], cur)
                    r.counts[b * C + c] += s
                }
                r.outputMembrane += mem2[(b * C)..<((b + 1) * C)]
            }
        }
        r.outputSpikes = r.outputMembrane.map { $0 - threshold > 0 ? 1 : 0 }
        let (on, off) = ratio.targets(steps: T)
        var loss = 0.0
        var g = [Float](repeating: 0, count: B * C)
        for b in 0..<B {
            for c in 0..<C {
                let target = Float(c == labels[b] ? on : off)
                let d = Double(r.counts[b * C + c] - target)
                loss += d * d
                g[b * C + c] = Float(2 * d / Double(B * C) / Double(T))
            }
        }
        r.loss = loss / Double(B * C) / Double(T)

        // Backward through time.
        func sg(_ m: Float) -> Float { let s = Float(Double.pi) * (m - threshold); return 1 / (1 + s * s) }
        var dmem1Next = [Float](repeating: 0, count: B * H), dmem2Next = [Float](repeating: 0, count: B * C)
        var dmem1All = [Float](repeating: 0, count: T * B * H)  // [T·B][H]
        var dW2 = [Float](repeating: 0, count: C * H), db2 = [Float](repeating: 0, count: C)
        var db1 = [Float](repeating: 0, count: H)
        for t in stride(from: T - 1, through: 0, by: -1) {
            for b in 0..<B {
                var dmem2 = [Float](repeating: 0, count: C)
                for c in 0..<C {
                    let m = r.outputMembrane[(t * B + b) * C + c]
                    dmem2[c] = g[b * C + c] * sg(m) + beta * dmem2Next[b * C + c]
                    db2[c] += dmem2[c]
                    for h in 0..<H { dW2[c * H + h] += dmem2[c] * r.hiddenSpikes[(t * B + b) * H + h] }
                }
                for h in 0..<H {
                    var dspk: Float = 0
                    for c in 0..<C { dspk += dmem2[c] * fc2Weight[c * H + h] }
                    let m = r.hiddenMembrane[(t * B + b) * H + h]
                    let d = dspk * sg(m) + beta * dmem1Next[b * H + h]
                    dmem1Next[b * H + h] = d
                    dmem1All[(t * B + b) * H + h] = d
                    db1[h] += d
                }
                for c in 0..<C { dmem2Next[b * C + c] = dmem2[c] }
            }
        }
        // dW1 [H][I] = dmem1ᵀ [H][T·B] · X [T·B][I]
        var dW1 = [Float](repeating: 0, count: H * I)
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Int32(H), Int32(I), Int32(T * B),
                    1, dmem1All, Int32(H), x, Int32(I), 0, &dW1, Int32(I))
        r.grads = (dW1, db1, dW2, db2)
        return r
    }

    /// Dense [T][B][inputs] frames of `batch`, padded with trailing empty steps (PadTensors).
    static func denseInput(_ frames: FrameSet, batch: [Int], inputs: Int) -> (x: [Float], steps: Int) {
        let T = batch.map { frames.stepCount(of: $0) }.max() ?? 0
        var x = [Float](repeating: 0, count: T * batch.count * inputs)
        for (b, r) in batch.enumerated() {
            for t in 0..<frames.stepCount(of: r) {
                for e in frames.entryRange(recording: r, step: t) {
                    x[(t * batch.count + b) * inputs + Int(frames.storage.inputs[e])] = Float(frames.storage.counts[e])
                }
            }
        }
        return (x, T)
    }
}
