import Foundation
import SpikeEvents
import SpikeNet
import SpikeSupport
import TestSupport
import Testing

@Suite struct SpikeEngineTests {
    /// Every case of snn_step.json, on the event-driven and on the dense (OpenBLAS) path: spikes
    /// exactly; membranes, counts, losses, L2 term and every gradient within 1e-5 relative.
    @Test(arguments: [EngineTuning.Inputs.eventDriven, .dense])
    func matchesSnnTorchFixture(inputs: EngineTuning.Inputs) throws {
        guard let fx = try SNNStepFixture.load() else { Issue.record("fixtures/snn_step.json not found"); return }
        let frames = fx.frames
        let batch = Array(0..<fx.batch)
        for c in fx.cases {
            let name = c["name"] as! String
            let h = SNNStepFixture.hyperparameters(of: c)
            let engine = SpikeEngine(shape: fx.shape, hyperparameters: h, tuning: EngineTuning(inputs: inputs))
            let (out, trace) = engine.trace(fx.parameters, frames: frames, batch: batch)
            #expect(engine.lastBatchWasDense == (inputs == .dense), "\(inputs) path not taken: \(SpikeEngine.denseUnavailableReason ?? "")")
            let T = fx.steps, B = fx.batch
            #expect(out.steps == T)
            let hiddenSpikes = timeMajor(trace.hiddenSpikes, batch: B, steps: T, width: fx.hidden).map(Double.init)
            #expect(hiddenSpikes == SNNStepFixture.flatten(c["hidden_spk"]!), "\(name): hidden spikes")
            let outSpikes = timeMajor(trace.outputSpikes, batch: B, steps: T, width: fx.outputs).map(Double.init)
            #expect(outSpikes == SNNStepFixture.flatten(c["out_spk"]!), "\(name): output spikes")
            expectClose(timeMajor(trace.hiddenMembrane, batch: B, steps: T, width: fx.hidden),
                        SNNStepFixture.flatten(c["hidden_mem"]!), "\(name) hidden_mem")
            expectClose(timeMajor(trace.outputMembrane, batch: B, steps: T, width: fx.outputs),
                        SNNStepFixture.flatten(c["out_mem"]!), "\(name) out_mem")
            #expect(out.counts.map(Double.init) == SNNStepFixture.flatten(c["spike_counts"]!), "\(name): counts")
            #expect(out.predictions == (c["predicted_class"] as! [Int]), "\(name): predictions")
            #expect(Double(out.correct) / Double(B) == c["accuracy_rate"] as! Double)
            let (on, off) = engine.lossFunction.targets(steps: T)
            #expect(on == c["on_target"] as! Int && off == c["off_target"] as! Int)

            var grads = NetworkParameters(zerosFor: fx.shape)
            let trained = engine.forwardBackward(fx.parameters, frames: frames, batch: batch, gradients: &grads)
            #expect(trained.counts == out.counts)
            let l2 = fx.parameters.l2Term(lambda: 1e-5)
            expectClose([Float(trained.loss)], [c["mse_count_loss"] as! Double], "\(name) mse_count_loss")
            expectClose([Float(l2)], [c["l2_term"] as! Double], "\(name) l2_term")
            expectClose([Float(trained.loss + l2)], [c["total_loss"] as! Double], "\(name) total_loss")
            Self.expectGradients(grads, c["grads_mse_only"] as! [String: Any], "\(name) grads_mse_only")
            grads.addL2Gradient(of: fx.parameters, lambda: 1e-5)
            Self.expectGradients(grads, c["grads"] as! [String: Any], "\(name) grads")
        }
    }

    static func expectGradients(_ g: NetworkParameters, _ expected: [String: Any], _ what: String,
                                sourceLocation: SourceLocation = #_sourceLocation) {
        let t = g.pytorchTensors()
        expectClose(t.fc1Weight, SNNStepFixture.flatten(expected["fc1.weight"]!), "\(what) fc1.weight", sourceLocation: sourceLocation)
        expectClose(t.fc1Bias, SNNStepFixture.flatten(expected["fc1.bias"]!), "\(what) fc1.bias", sourceLocation: sourceLocation)
        expectClose(t.fc2Weight, SNNStepFixture.flatten(expected["fc2.weight"]!), "\(what) fc2.weight", sourceLocation: sourceLocation)
        expectClose(t.fc2Bias, SNNStepFixture.flatten(expected["fc2.bias"]!), "\(what) fc2.bias", sourceLocation: sourceLocation)
    }

    /// The dense reference itself reproduces the fixture, so agreeing with it means something.
    @Test func denseReferenceMatchesSnnTorchFixture() throws {
        guard let fx = try SNNStepFixture.load() else { Issue.record("fixtures/snn_step.json not found"); return }
        for c in fx.cases {
            let name = c["name"] as! String
            let ratio = TargetRatio(correct: c["correct_rate"] as! Double, incorrect: c["incorrect_rate"] as! Double)
            let ref = DenseReference(fx.parameters, beta: c["beta"] as! Double, ratio: ratio)
            let r = ref.run(x: fx.x.map(Float.init), steps: fx.steps, labels: fx.labels)
            #expect(r.hiddenSpikes.map(Double.init) == SNNStepFixture.flatten(c["hidden_spk"]!), "\(name)")
            #expect(r.outputSpikes.map(Double.init) == SNNStepFixture.flatten(c["out_spk"]!), "\(name)")
            expectClose([Float(r.loss)], [c["mse_count_loss"] as! Double], "\(name) loss")
            let g = c["grads_mse_only"] as! [String: Any]
            expectClose(r.grads.fc1Weight, SNNStepFixture.flatten(g["fc1.weight"]!), "\(name) dense fc1.weight")
            expectClose(r.grads.fc2Weight, SNNStepFixture.flatten(g["fc2.weight"]!), "\(name) dense fc2.weight")
            expectClose(r.grads.fc1Bias, SNNStepFixture.flatten(g["fc1.bias"]!), "\(name) dense fc1.bias")
            expectClose(r.grads.fc2Bias, SNNStepFixture.flatten(g["fc2.bias"]!), "\(name) dense fc2.bias")
        }
    }

    /// Event-driven engine against the dense reference on N-MNIST-sized synthetic frames of
    /// uneven lengths (padding), a hidden size that is not a multiple of the tile width, and
    /// weights scaled up so that hidden neurons fire often.
    @Test(arguments: [1, 2])
    func matchesDenseReferenceOnSyntheticFrames(threads: Int) {
        let frames = SyntheticFrames.make(count: 5, meanSteps: 40, density: 0.02, seed: 11)
        var rng = Xoshiro256(seed: 5)
        let shape = NetworkShape(hidden: 45)
        var p = NetworkParameters.pytorchDefault(shape: shape, rng: &rng)
        for k in p.w1.indices { p.w1[k] *= 12 }
        for k in p.w2.indices { p.w2[k] *= 3 }
        Self.compareWithDense(p, frames: frames, batch: [4, 0, 2, 1, 3], beta: 0.9, threads: threads)
    }

    /// Compares spikes (exactly), counts, loss and gradients (1e-5) of the engine and the
    /// dense reference; returns the engine's gradients.
    @discardableResult
    static func compareWithDense(_ p: NetworkParameters, frames: FrameSet, batch: [Int], beta: Double, threads: Int,
                                 inputs: EngineTuning.Inputs = .eventDriven,
                                 sourceLocation: SourceLocation = #_sourceLocation) -> NetworkParameters {
        var h = Hyperparameters()
        h.beta = beta
        let engine = SpikeEngine(shape: p.shape, hyperparameters: h, threads: threads, tuning: EngineTuning(inputs: inputs))
        let (out, trace) = engine.trace(p, frames: frames, batch: batch)
        #expect(engine.lastBatchWasDense == (inputs == .dense), sourceLocation: sourceLocation)
        var grads = NetworkParameters(zerosFor: p.shape)
        let trained = engine.forwardBackward(p, frames: frames, batch: batch, gradients: &grads)
        let (x, T) = DenseReference.denseInput(frames, batch: batch, inputs: p.shape.inputs)
        let ref = DenseReference(p, beta: beta, ratio: h.targetRatio)
        let r = ref.run(x: x, steps: T, labels: batch.map { Int(frames.labels[$0]) })
        let B = batch.count
        let hiddenSpikes = timeMajor(trace.hiddenSpikes, batch: B, steps: T, width: p.shape.hidden).map(Float.init)
        #expect(hiddenSpikes == r.hiddenSpikes, "hidden spikes differ", sourceLocation: sourceLocation)
        #expect(hiddenSpikes.contains(1), "no hidden spikes: the check would be vacuous", sourceLocation: sourceLocation)
        let membranes = timeMajor(trace.hiddenMembrane, batch: B, steps: T, width: p.shape.hidden)
        if inputs == .dense {  // sgemm sums in its own order
            expectClose(membranes, r.hiddenMembrane.map(Double.init), "hidden membranes", sourceLocation: sourceLocation)
        } else {
            #expect(membranes == r.hiddenMembrane, "hidden membranes differ", sourceLocation: sourceLocation)
        }
        #expect(trained.counts.map(Float.init) == r.counts, "output counts differ", sourceLocation: sourceLocation)
        #expect(out.counts == trained.counts, sourceLocation: sourceLocation)
        expectClose([Float(trained.loss)], [r.loss], "loss", sourceLocation: sourceLocation)
        let g = grads.pytorchTensors()
        expectClose(g.fc1Weight, r.grads.fc1Weight, "fc1.weight grad", sourceLocation: sourceLocation)
        expectClose(g.fc1Bias, r.grads.fc1Bias, "fc1.bias grad", sourceLocation: sourceLocation)
        expectClose(g.fc2Weight, r.grads.fc2Weight, "fc2.weight grad", sourceLocation: sourceLocation)
        expectClose(g.fc2Bias, r.grads.fc2Bias, "fc2.bias grad", sourceLocation: sourceLocation)
        return grads
    }

    /// Tiles are owned by one thread each, so the thread count changes no bit of the gradients,
    /// on either input path: 1, 2 and 3 threads (with three, two workers take items from the
    /// front of each phase's list and one from the back).
    @Test(arguments: [EngineTuning.Inputs.eventDriven, .dense])
    func gradientsAreIdenticalForOneTwoAndThreeThreads(inputs: EngineTuning.Inputs) {
        let frames = SyntheticFrames.make(count: 9, meanSteps: 60, seed: 3)
        var rng = Xoshiro256(seed: 9)
        let p = NetworkParameters.pytorchDefault(shape: NetworkShape(hidden: 200), rng: &rng)
        var results: [NetworkParameters] = []
        var outputs: [BatchOutput] = []
        for threads in [1, 2, 3] {
            let engine = SpikeEngine(shape: p.shape, hyperparameters: Hyperparameters(), threads: threads,
                                     tuning: EngineTuning(inputs: inputs))
            var g = NetworkParameters(zerosFor: p.shape)
            outputs.append(engine.forwardBackward(p, frames: frames, batch: Array(0..<9), gradients: &g))
            results.append(g)
        }
        #expect(results[0] == results[1] && results[0] == results[2])
        #expect(outputs[0] == outputs[1] && outputs[0] == outputs[2])
        #expect(results[0].w1.contains { $0 != 0 })
    }

    /// The group size, the huge-page hint, the kernels and the dW1 path change no bit: groups of
    /// 1, of 4 (the last one partial), larger than the batch, no huge pages, the 256-bit loops
    /// instead of the AVX-512 kernels (the same on a CPU without AVX-512), and dW1 summed without
    /// the input index (with either kernel set; the default at H = 200 uses the index), against
    /// the defaults.
    @Test(arguments: [EngineTuning(groupSize: 1), EngineTuning(groupSize: 4), EngineTuning(groupSize: 64),
                      EngineTuning(hugePages: false), EngineTuning(avx512: false),
                      EngineTuning(weightGradient: .direct), EngineTuning(avx512: false, weightGradient: .direct),
                      EngineTuning(groupSize: 3, weightGradient: .direct)])
    func tuningChangesNoBit(tuning: EngineTuning) {
        let frames = SyntheticFrames.make(count: 9, meanSteps: 60, seed: 3)
        var rng = Xoshiro256(seed: 9)
        let p = NetworkParameters.pytorchDefault(shape: NetworkShape(hidden: 200), rng: &rng)
        var results: [NetworkParameters] = []
        var outputs: [BatchOutput] = []
        for t in [EngineTuning(), tuning] {
            let engine = SpikeEngine(shape: p.shape, hyperparameters: Hyperparameters(), threads: 2, tuning: t)
            var g = NetworkParameters(zerosFor: p.shape, hugePages: t.hugePages)
            outputs.append(engine.forwardBackward(p, frames: frames, batch: [8, 0, 7, 1, 6, 2, 5, 3, 4], gradients: &g))
            results.append(g)
        }
        let sameGradients = results[0] == results[1]  // (not inside #expect: it would print every tensor)
        #expect(sameGradients, "gradients differ with \(tuning)")
        #expect(outputs[0] == outputs[1])
        #expect(results[0].w1.contains { $0 != 0 } && outputs[0].hiddenSpikes > 0)
    }
}

extension SpikeEngineTests {
    /// dW1 summed through the input index and directly give the same bits on every width of a
    /// last, partial half tile (4, 16 and 24 real neurons: one, two and three blocks of eight
    /// lanes) and on whole half tiles, with either kernel set; and `automatic` sums directly up
    /// to two tiles only, and only with the AVX-512 kernels.
    @Test(arguments: [100, 208, 216, 128])
    func directAndIndexedWeightGradientsAgree(hidden: Int) {
        let frames = SyntheticFrames.make(count: 6, meanSteps: 40, seed: 8)
        var rng = Xoshiro256(seed: 12)
        let p = NetworkParameters.pytorchDefault(shape: NetworkShape(hidden: hidden), rng: &rng)
        for avx512 in [true, false] {
            var gradients: [NetworkParameters] = []
            for path in [EngineTuning.WeightGradient.indexed, .direct] {
                let tuning = EngineTuning(avx512: avx512, weightGradient: path)
                let engine = SpikeEngine(shape: p.shape, hyperparameters: Hyperparameters(), threads: 2, tuning: tuning)
                #expect(engine.sumsWeightGradientDirectly == (path == .direct))
                var g = NetworkParameters(zerosFor: p.shape)
                _ = engine.forwardBackward(p, frames: frames, batch: [5, 1, 4, 0, 3, 2], gradients: &g)
                gradients.append(g)
            }
            let same = gradients[0] == gradients[1]  // (not inside #expect: it would print every tensor)
            #expect(same, "H=\(hidden), avx512 \(avx512): dW1 differs between the two paths")
            #expect(gradients[0].w1.contains { $0 != 0 })
        }
        #expect(EngineTuning().sumsWeightGradientDirectly(NetworkShape(hidden: hidden), avx512: true) == (hidden <= 128))
        #expect(!EngineTuning().sumsWeightGradientDirectly(NetworkShape(hidden: hidden), avx512: false))
        #expect(SpikeEngine(shape: NetworkShape(hidden: hidden), hyperparameters: Hyperparameters()).sumsWeightGradientDirectly
                == (hidden <= 128 && SpikeEngine.cpuHasAVX512))
    }

    /// Event-driven engine against the dense reference on real frames (batches of recordings
    /// of different lengths), with 1 and 2 threads: identical spikes, gradients within 1e-5.
    @Test(arguments: [1, 2])
    func matchesDenseReferenceOnRealFrames(threads: Int) throws {
        guard let frames = RealFrames.window2000 else { print(SharedData.skipMessage); return }
        #expect(frames.count == 1000)
        var rng = Xoshiro256(seed: 21)
        let p = NetworkParameters.pytorchDefault(shape: NetworkShape(hidden: 100), rng: &rng)
        let batch = [3, 141, 592, 653, 589, 793]
        let lengths = Set(batch.map { frames.stepCount(of: $0) })
        #expect(lengths.count > 1, "the batch should need padding")
        Self.compareWithDense(p, frames: frames, batch: batch, beta: 0.9, threads: threads)
    }

    /// The dense path against the dense reference on real frames: identical spikes, membranes
    /// and gradients within 1e-5.
    @Test(arguments: [1, 2])
    func densePathMatchesDenseReferenceOnRealFrames(threads: Int) throws {
        guard let frames = RealFrames.window2000 else { print(SharedData.skipMessage); return }
        var rng = Xoshiro256(seed: 21)
        let p = NetworkParameters.pytorchDefault(shape: NetworkShape(hidden: 100), rng: &rng)
        Self.compareWithDense(p, frames: frames, batch: [3, 141, 592, 653, 589, 793], beta: 0.9, threads: threads,
                              inputs: .dense)
    }

    /// A whole epoch (shuffling, every batch, Adam) with 1 and 2 threads ends with the same
    /// weights, bit for bit, on real frames at H = 800 (synthetic where the real subset is absent).
    @Test func oneAndTwoThreadsGiveBitIdenticalWeightsAfterAnEpoch() throws {
        let frames = RealFrames.window2000?.subset(Array(0..<256)) ?? SyntheticFrames.make(count: 256, meanSteps: 150, seed: 5)
        var h = Hyperparameters()
        h.hidden = 800
        var weights: [NetworkParameters] = []
        for threads in [1, 2] {
            let run = try TrainingRun(hyperparameters: h, training: frames,
                                      options: TrainingOptions(epochs: 1, seed: 11, threads: threads))
            _ = try run.run()
            weights.append(run.parameters)
        }
        let identical = weights[0] == weights[1]  // (not inside #expect: it would print every tensor)
        #expect(identical, "1 and 2 threads trained different weights")
        #expect(weights[0].isFinite && weights[0].w1.contains { $0 != 0 })
    }

    /// An epoch at H=800 with the AVX-512 kernels and one with the 256-bit loops train the same
    /// weights, bit for bit (where the CPU has AVX-512; elsewhere both are the 256-bit loops).
    @Test func avx512KernelsTrainBitIdenticalWeights() throws {
        guard SpikeEngine.cpuHasAVX512 else {
            print("skipped: this CPU has no AVX-512, so the engine runs its 256-bit loops only")
            return
        }
        let frames = RealFrames.window2000?.subset(Array(0..<256)) ?? SyntheticFrames.make(count: 256, meanSteps: 150, seed: 5)
        var h = Hyperparameters()
        h.hidden = 800
        var weights: [NetworkParameters] = []
        for avx512 in [true, false] {
            let run = try TrainingRun(hyperparameters: h, training: frames,
                                      options: TrainingOptions(epochs: 1, seed: 11, threads: 2,
                                                               tuning: EngineTuning(avx512: avx512)))
            #expect(SpikeEngine(shape: NetworkShape(hidden: 800), hyperparameters: h, tuning: EngineTuning(avx512: avx512)).usesAVX512 == avx512)
            _ = try run.run()
            weights.append(run.parameters)
        }
        func bits(_ p: NetworkParameters) -> [UInt32] { (Array(p.w1) + p.b1 + p.w2 + p.b2).map(\.bitPattern) }
        let differing = zip(bits(weights[0]), bits(weights[1])).filter { $0 != $1 }.count
        #expect(differing == 0, "\(differing) weights differ between the AVX-512 kernels and the 256-bit loops")
        #expect(weights[0].w1.contains { $0 != 0 })
    }

    /// The same after some training (weights no longer at their initial scale) and with
    /// β = 0.7, so that the comparison covers a realistic spiking regime.
    @Test func matchesDenseReferenceOnRealFramesAfterTraining() throws {
        guard let frames = RealFrames.window2000 else { print(SharedData.skipMessage); return }
        var h = Hyperparameters()
        h.hidden = 100
        h.beta = 0.7
        h.batchSize = 32
        let run = try TrainingRun(hyperparameters: h, training: frames.subset(Array(0..<256)),
                                  options: TrainingOptions(epochs: 2, seed: 4))
        _ = try run.run()
        Self.compareWithDense(run.parameters, frames: frames, batch: [900, 901, 902, 903, 904], beta: 0.7, threads: 2)
    }
}
