import SpikeEvents
import SpikeNet
import SpikeSupport
import Testing

@Suite struct EvaluationTests {
    @Test func countsAgreeWithTheEngineAndAddUp() {
        let frames = SyntheticFrames.make(count: 50, meanSteps: 20, density: 0.03, seed: 8)
        var rng = Xoshiro256(seed: 2)
        var p = NetworkParameters.pytorchDefault(shape: NetworkShape(hidden: 64), rng: &rng)
        for k in p.w1.indices { p.w1[k] *= 10 }
        var h = Hyperparameters()
        h.hidden = 64
        h.batchSize = 16
        let e = Evaluation.run(p, hyperparameters: h, frames: frames, threads: 2)
        #expect(e.total == 50)
        #expect(e.perClassTotal.reduce(0, +) == 50)
        #expect(e.perClassCorrect.reduce(0, +) == e.correct)
        #expect(e.confusion.map { $0.reduce(0, +) } == e.perClassTotal)
        let engine = SpikeEngine(shape: p.shape, hyperparameters: h)
        var correct = 0
        for first in stride(from: 0, to: 50, by: 16) {
            correct += engine.forward(p, frames: frames, batch: Array(first..<min(first + 16, 50))).correct
        }
        #expect(e.correct == correct)
    }
}
