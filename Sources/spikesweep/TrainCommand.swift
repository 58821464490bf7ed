import ArgumentParser
import Foundation
import SpikeEvents
import SpikeNet

extension SpikeSweep {
    struct Train: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Train the network on a dataset (optionally with k-fold cross-validation).",
            discussion: """
                --data takes a prepared .spk file or a raw source (a .bs2 folder with its label \
                list, an extracted tree, an official zip). Prints one line per epoch; with --json, \
                progress goes to stderr and stdout holds one JSON object.

                Examples:
                  spikesweep train --data data/nmnist-small --epochs 15 --threads 2 --save model.safetensors
                  spikesweep train --data data/nmnist-small --folds 5 --epochs 15 --threads 2
                """)

        @Option(help: "Training data: a prepared .spk file or a raw source.")
        var data: String

        @Option(help: "Label list for a .bs2 folder (default: its only .txt file).")
        var labels: String?

        @Option(help: "Validation data (same kinds as --data).")
        var val: String?

        @Option(help: "Run k-fold stratified cross-validation on --data instead (k >= 2).")
        var folds: Int?

        @OptionGroup var options: HyperparameterOptions

        @Option(help: "Save the trained model here (safetensors, PyTorch state-dict names).")
        var save: String?

        @Option(help: "Checkpoint file written at every epoch end; an existing one is resumed.")
        var checkpoint: String?

        @Flag(help: "Print one JSON object on stdout.")
        var json = false

        func validate() throws {
            if let folds, folds < 2 { throw CommandFailure("--folds must be >= 2, got \(folds)") }
            if folds != nil && (val != nil || save != nil || checkpoint != nil) {
                throw CommandFailure("--folds cannot be combined with --val, --save or --checkpoint")
            }
        }

        func run() throws {
            try failingInOneLine {
                let h = try options.hyperparameters()
                let log: (String) -> Void = json ? { printError($0) } : { print($0); fflush(stdout) }
                let training = try FrameLoading.load(path: data, labels: labels, windowMicros: h.windowMicros, denoiseMicros: h.denoiseMicros)
                let validation = try val.map {
                    try FrameLoading.load(path: $0, windowMicros: h.windowMicros, denoiseMicros: h.denoiseMicros)
                }
                log("training \(training.count) recordings\(validation.map { ", validating on \($0.count)" } ?? ""): "
                    + "H=\(h.hidden) beta=\(h.beta) window=\(h.windowMicros)us ratio=\(h.targetRatio) batch=\(h.batchSize) "
                    + "lr=\(h.lr) epochs=\(options.epochs) threads=\(options.threads)")
                if let folds {
                    let cv = try CrossValidation.run(hyperparameters: h, frames: training, folds: folds, epochs: options.epochs,
                                                     seed: options.seed, threads: options.threads) { fold, m in
                        log("fold \(fold + 1)/\(folds) " + Self.line(m, epochs: options.epochs))
                    }
                    for (k, f) in cv.folds.enumerated() {
                        log(String(format: "fold %d: validation accuracy %.4f (train %.4f, %.1f s)", k + 1,
                                   f.finalValidationAccuracy ?? 0, f.finalTrainAccuracy, f.wallSeconds))
                    }
                    log(String(format: "%d-fold cross-validated accuracy %.4f ± %.4f", folds, cv.meanValidationAccuracy, cv.standardDeviation))
                    if json { print(try Self.encode(Report(data: data, hyperparameters: h, seed: options.seed, epochs: options.epochs,
                                                           threads: options.threads, folds: folds, crossValidation: cv))) }
                    return
                }
                let run = try TrainingRun(hyperparameters: h, training: training, validation: validation,
                                          options: TrainingOptions(epochs: options.epochs, seed: options.seed,
                                                                   threads: options.threads, checkpointPath: checkpoint))
                if run.epochsDone > 0 { log("resumed from \(checkpoint!) after epoch \(run.epochsDone)") }
                let result = try run.run { log(Self.line($0, epochs: options.epochs)) }
                log(String(format: "done: %.1f s, %.0f recordings/s", result.wallSeconds, result.recordingsPerSecond))
                if let save {
                    try ModelFile(parameters: run.parameters, metadata: ModelMetadata(h)).write(path: save)
                    log("saved \(save)")
                }
                if json { print(try Self.encode(Report(data: data, hyperparameters: h, seed: options.seed, epochs: options.epochs,
                                                       threads: options.threads, result: result, model: save))) }
            }
        }

        /// The `--json` output.
        struct Report: Encodable {
            var data: String
            var hyperparameters: Hyperparameters
            var seed: UInt64
            var epochs: Int
            var threads: Int
            var folds: Int? = nil
            var crossValidation: CrossValidationResult? = nil
            var result: FoldResult? = nil
            var model: String? = nil
        }

        static func line(_ m: EpochMetrics, epochs: Int) -> String {
            var s = String(format: "epoch %d/%d  loss %.5f  train acc %.4f", m.epoch, epochs, m.trainLoss, m.trainAccuracy)
            if let v = m.validationAccuracy { s += String(format: "  val acc %.4f", v) }
            return s
        }

        static func encode<T: Encodable>(_ value: T) throws -> String {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
            return String(decoding: try encoder.encode(value), as: UTF8.self)
        }
    }
}

extension Hyperparameters {
    var lr: Double { learningRate }
}
