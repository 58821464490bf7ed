import ArgumentParser
import Foundation
import SpikeEvents
import SpikeNet
import SpikeSupport
import Sweeps

extension SpikeSweep {
    struct Train: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Train the network on a dataset (optionally with k-fold cross-validation).",
            discussion: """
                --data takes a prepared .spk file or a raw source (a .bs2 folder with its label \
                list, an extracted tree, an official zip). Prints one line per epoch; with --json, \
                progress goes to stderr and stdout holds one JSON object.

                Examples:
                  spikesweep train --data nmnist-small --epochs 15 --save model.safetensors
                  spikesweep train --data nmnist-small --folds 5 --epochs 3 --hidden 400

                """ + "\n" + HyperparameterFlags.helpText())

        @Option(help: "Training data: a prepared .spk file or a raw source.")
        var data: String

        @Option(help: "Label list for a .bs2 folder (default: its only .txt file).")
        var labels: String?

        @Option(help: "Validation data (same kinds as --data).")
        var val: String?

        @Option(parsing: .unconditional, help: ArgumentHelp("Cross-validate on --data with K stratified folds instead, exactly as a sweep with this --seed and --epochs does (K >= 2).", valueName: "K"))
        var folds: Int?

        @OptionGroup var hyperparameterFlags: HyperparameterFlags

        @OptionGroup var options: RunOptions

        @Option(help: "Save the trained model here (safetensors, PyTorch state-dict names).")
        var save: String?

        @Option(help: "Checkpoint file written at every epoch end; an existing one is resumed.")
        var checkpoint: String?

        @Flag(help: "Print one JSON object on stdout.")
        var json = false

        func validate() throws {
            _ = try hyperparameterFlags.values()
            if let folds, folds < 2 { throw ToolError("--folds must be >= 2, got \(folds)") }
            if folds != nil && (val != nil || save != nil || checkpoint != nil) {
                throw ToolError("--folds cannot be combined with --val, --save or --checkpoint")
            }
        }

        func run() throws {
            let h = try hyperparameterFlags.hyperparameters()
            let json = self.json
            let log: @Sendable (String) -> Void = { json ? Console.error($0) : Console.out($0) }
            let settings = "H=\(h.hidden) beta=\(h.beta) window=\(h.windowMicros)us ratio=\(h.targetRatio) batch=\(h.batchSize) "
                + "lr=\(h.learningRate) epochs=\(options.epochs)"
            if let folds {
                log("\(folds)-fold cross-validation on \(data): \(settings) seed=\(options.seed) workers=\(min(folds, options.threads))")
                let epochs = options.epochs
                let cv = try CrossValidation.run(hyperparameters: h, data: .path(data, labels: labels), folds: folds, epochs: epochs,
                                                 seed: options.seed, workers: options.threads) { task, m in
                    log("fold \(task.fold + 1)/\(folds) " + Self.line(m, epochs: epochs))
                }
                for f in cv.folds {
                    log(String(format: "fold %d: validation accuracy %.4f (train %.4f, %.1f s), task ", f.fold + 1,
                               f.validationAccuracy ?? 0, f.trainAccuracy ?? 0, f.seconds) + f.taskID)
                }
                log(String(format: "%d-fold cross-validated accuracy %.6f ± %.6f (std over folds, ddof 0, as in leaderboards; configuration ",
                           folds, cv.row.meanAccuracy ?? 0, cv.row.stdAccuracy ?? 0) + cv.row.configID + ")")
                if json { try Console.json(Report(data: data, hyperparameters: h, seed: options.seed, epochs: options.epochs,
                                                       threads: options.threads, folds: folds, crossValidation: cv)) }
                return
            }
            let training = try FrameLoading.load(path: data, labels: labels, windowMicros: h.windowMicros, denoiseMicros: h.denoiseMicros)
            let steps = (0..<training.count).map(training.stepCount(of:)).max() ?? 1
            if let problem = SweepSpec.memoryProblem(hidden: h.hidden, batchSize: h.batchSize, steps: steps) { throw ToolError(problem) }
            let validation = try val.map {
                try FrameLoading.load(path: $0, windowMicros: h.windowMicros, denoiseMicros: h.denoiseMicros)
            }
            log("training \(training.count) recordings\(validation.map { ", validating on \($0.count)" } ?? ""): \(settings) threads=\(options.threads)")
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
            if json { try Console.json(Report(data: data, hyperparameters: h, seed: options.seed, epochs: options.epochs,
                                                   threads: options.threads, result: result, model: save)) }
        }

        /// The `--json` output.
        struct Report: Encodable {
            var data: String
            var hyperparameters: Hyperparameters
            var seed: UInt64
            var epochs: Int
            var threads: Int
            var folds: Int? = nil
            var crossValidation: CrossValidation.Result? = nil
            var result: FoldResult? = nil
            var model: String? = nil
        }

        static func line(_ m: EpochMetrics, epochs: Int) -> String {
            var s = String(format: "epoch %d/%d  loss %.5f  train acc %.4f", m.epoch, epochs, m.trainLoss, m.trainAccuracy)
            if let v = m.validationAccuracy { s += String(format: "  val acc %.4f", v) }
            return s
        }
    }
}
