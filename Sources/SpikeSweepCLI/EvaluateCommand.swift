import ArgumentParser
import Foundation
import SpikeEvents
import SpikeNet
import SpikeSupport

extension SpikeSweep {
    struct Evaluate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Accuracy of a saved model on a dataset (accuracy_rate rule), with per-class counts.",
            discussion: "Frames are made with the window and denoise time recorded in the model file.")

        @Option(help: "A model saved by 'spikesweep train --save' (safetensors).")
        var model: String

        @Option(help: "Data: a prepared .spk file or a raw source.")
        var data: String

        @Option(help: "Label list for a .bs2 folder (default: its only .txt file).")
        var labels: String?

        @Option(name: .customLong("batch-size"), parsing: .unconditional, help: "Batch size (padding is per batch, as in training).")
        var batchSize: Int = 128

        @Option(parsing: .unconditional, help: "Threads per batch.")
        var threads: Int = 1

        @Flag(help: "Print one JSON object on stdout.")
        var json = false

        func validate() throws {
            guard batchSize >= 1 else { throw ToolError("--batch-size must be >= 1, got \(batchSize)") }
            guard threads >= 1 else { throw ToolError("--threads must be >= 1, got \(threads)") }
        }

        func run() throws {
            let file = try ModelFile.read(path: model)
            var h = file.metadata.hyperparameters
            h.hidden = file.parameters.shape.hidden
            h.batchSize = batchSize
            let frames = try FrameLoading.load(path: data, labels: labels, windowMicros: h.windowMicros, denoiseMicros: h.denoiseMicros)
            try SpikeEngine.check(frames, shape: file.parameters.shape)
            let result = Evaluation.run(file.parameters, hyperparameters: h, frames: frames, threads: threads)
            if json {
                struct Report: Encodable { var model: String; var data: String; var accuracy: Double; var evaluation: Evaluation }
                try Console.json(Report(model: model, data: data, accuracy: result.accuracy, evaluation: result))
                return
            }
            print(String(format: "accuracy %.4f (%d of %d)", result.accuracy, result.correct, result.total))
            print("class  recordings  correct  accuracy")
            for c in result.perClassTotal.indices {
                let n = result.perClassTotal[c], k = result.perClassCorrect[c]
                print(String(format: "%5d  %10d  %7d  %8.4f", c, n, k, n == 0 ? 0 : Double(k) / Double(n)))
            }
        }
    }
}
