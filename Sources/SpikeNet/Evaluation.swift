import SpikeEvents

/// Accuracy of a network on a frame set, scored like `accuracy_rate` (argmax of output spike
/// counts, first maximum wins, silence predicts class 0).
package struct Evaluation: Sendable, Codable, Equatable {
    package var total: Int
    package var correct: Int
    /// Recordings of each class.
    package var perClassTotal: [Int]
    /// Correctly classified recordings of each class.
    package var perClassCorrect: [Int]
    /// confusion[label][predicted]
    package var confusion: [[Int]]

    package var accuracy: Double { total == 0 ? 0 : Double(correct) / Double(total) }

    /// Runs the recordings in order, in batches of the hyper-parameters' batch size (padding
    /// depends on the batch, as with a DataLoader without shuffling). `tuning` only changes
    /// the speed.
    /// - Complexity: one forward pass per recording.
    package static func run(_ parameters: NetworkParameters, hyperparameters: Hyperparameters, frames: FrameSet,
                           threads: Int = 1, tuning: EngineTuning = EngineTuning()) -> Evaluation {
        let classes = parameters.shape.outputs
        var result = Evaluation(total: 0, correct: 0, perClassTotal: Array(repeating: 0, count: classes),
                                perClassCorrect: Array(repeating: 0, count: classes),
                                confusion: Array(repeating: Array(repeating: 0, count: classes), count: classes))
        let engine = SpikeEngine(shape: parameters.shape, hyperparameters: hyperparameters, threads: threads,
                                 tuning: tuning)
        let size = max(1, hyperparameters.batchSize)
        for first in stride(from: 0, to: frames.count, by: size) {
            let batch = Array(first..<min(first + size, frames.count))
            let out = engine.forward(parameters, frames: frames, batch: batch)
            for (k, r) in batch.enumerated() {
                let label = Int(frames.label(of: r)), predicted = out.predictions[k]
                result.total += 1
                guard label < classes else { continue }
                result.perClassTotal[label] += 1
                result.confusion[label][predicted] += 1
                if predicted == label { result.correct += 1; result.perClassCorrect[label] += 1 }
            }
        }
        return result
    }
}
