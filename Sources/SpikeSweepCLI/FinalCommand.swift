import ArgumentParser
import Foundation
import SpikeEvents
import SpikeSupport
import Sweeps

extension SpikeSweep {
    struct Final: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Train the leaderboard's chosen configuration on all training data and test it.",
            discussion: """
                Writes RESULTS_DIR/final/: metrics.json (test accuracy, per-class accuracy, confusion \
                matrix, configuration, seed, time), epochs.csv and model.safetensors (PyTorch \
                state-dict names, loadable into snnTorch). Give the test split with --test, or hold \
                out part of the training data with --holdout when there is no separate test split \
                (the held-out recordings are saved as final/test.spk).

                Examples:
                  spikesweep final results/table1 --test data/nmnist-test.spk --epochs 15
                  spikesweep final results/nmnist-small-table1 --holdout 0.2 --epochs 15
                """)

        @Argument(help: "A sweep results folder (results/<name>).")
        var resultsDirectory: String

        @Option(help: "Test data: a prepared .spk file or a raw source.")
        var test: String?

        @Option(help: "Label list for a .bs2 test folder.")
        var labels: String?

        @Option(parsing: .unconditional, help: "Hold out this fraction of the training data as the test set instead of --test.")
        var holdout: Double?

        @Option(parsing: .unconditional, help: "Which leaderboard rank to train (1 = the best).")
        var rank = 1

        @Option(parsing: .unconditional, help: "Epochs (default: the sweep's).")
        var epochs: Int?

        @Option(parsing: .unconditional, help: "Threads splitting each batch (default: the number of cores).")
        var threads: Int?

        @Option(parsing: .unconditional, help: "Training seed (default: derived from the sweep's seed).")
        var seed: UInt64?

        @Flag(help: "Print metrics.json on stdout instead of a summary.")
        var json = false

        func validate() throws {
            if (test == nil) == (holdout == nil) { throw ToolError("give either --test FILE or --holdout FRACTION") }
            if let holdout, !(holdout > 0 && holdout < 1) { throw ToolError("--holdout must be in (0, 1), got \(holdout)") }
            if let threads, threads < 1 { throw ToolError("--threads must be >= 1, got \(threads)") }
        }

        func run() throws {
            let directory = URL(fileURLWithPath: resultsDirectory)
            let final = try FinalTraining(resultsDirectory: directory, rank: rank, epochs: epochs,
                                          threads: threads ?? ProcessInfo.processInfo.activeProcessorCount, seed: seed)
            let row = try final.chosenRow()
            let progress = ConsoleReporter(quiet: json)
            progress.note("final: rank \(rank) configuration \(row.configID) (\(row.label)), cross-validated \(String(format: "%.4f", row.meanAccuracy ?? 0)); \(final.epochs) epochs, \(final.threads) threads")
            let testSet: FinalTraining.TestSet = test.map { .source(path: $0, labels: labels) } ?? .holdout(fraction: holdout!)
            let metrics = try final.run(test: testSet) { m in
                progress.note(String(format: "epoch %d/%d: loss %.4f, train accuracy %.4f", m.epoch, final.epochs, m.trainLoss, m.trainAccuracy))
            }
            if json {
                print(try String(contentsOf: directory.appendingPathComponent("final/metrics.json"), encoding: .utf8), terminator: "")
            } else {
                print(String(format: "test accuracy %.4f on %d recordings (train accuracy %.4f, %d recordings, %.1f s); ",
                             metrics.testAccuracy, metrics.testRecordings, metrics.trainAccuracy, metrics.trainingRecordings,
                             metrics.trainingSeconds) + "results in \(directory.path)/final/")
            }
        }
    }
}
