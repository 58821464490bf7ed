import Foundation
import SpikeEvents
import SpikeNet
import SpikeSupport

/// The study's last step: train the leaderboard's chosen configuration on the whole training
/// set and test it once. Writes `results/<name>/final/`: `metrics.json`, `epochs.csv`,
/// `model.safetensors` (PyTorch state-dict names and layout) and, when the test set was held
/// out of the training data, `test.spk` so that `spikesweep evaluate` can check the model.
package struct FinalTraining {
    /// What `metrics.json` holds.
    package struct Metrics: Codable, Sendable, Equatable {
        package var sweep: String
        package var rank: Int
        package var configID: String
        package var hyperparameters: [String: String]
        package var crossValidatedAccuracy: Double?
        package var epochs: Int
        package var seed: UInt64
        package var threads: Int
        package var trainingRecordings: Int
        package var testRecordings: Int
        /// Where the test recordings came from.
        package var testSource: String
        package var trainAccuracy: Double
        package var trainLoss: Double
        package var testAccuracy: Double
        package var perClassAccuracy: [Double?]
        /// confusion[true][predicted].
        package var confusion: [[Int]]
        package var trainingSeconds: Double
        package var recordingsPerSecond: Double
        package var toolVersion: String

        enum CodingKeys: String, CodingKey {
            case sweep, rank, hyperparameters, epochs, seed, threads, confusion
            case configID = "config_id", crossValidatedAccuracy = "cross_validated_accuracy"
            case trainingRecordings = "training_recordings", testRecordings = "test_recordings", testSource = "test_source"
            case trainAccuracy = "train_accuracy", trainLoss = "train_loss", testAccuracy = "test_accuracy"
            case perClassAccuracy = "per_class_accuracy", trainingSeconds = "training_seconds"
            case recordingsPerSecond = "recordings_per_second", toolVersion = "tool_version"
        }
    }

    /// Where the test recordings come from.
    package enum TestSet {
        /// A prepared file or raw source.
        case source(path: String, labels: String?)
        /// Hold out this fraction of the training recordings (stratified, seeded), for data
        /// sets without a separate test split such as the 1000-recording subset.
        case holdout(fraction: Double)
    }

    package let directory: URL
    package let plan: SweepPlan
    package let rank: Int
    package let epochs: Int
    package let threads: Int
    package let seed: UInt64

    package init(resultsDirectory: URL, rank: Int = 1, epochs: Int? = nil, threads: Int = 1, seed: UInt64? = nil) throws {
        directory = resultsDirectory
        plan = try SweepPlan.load(resultsDirectory: resultsDirectory)
        guard rank >= 1 else { throw ToolError("--rank must be >= 1, got \(rank)") }
        self.rank = rank
        self.epochs = epochs ?? plan.spec.epochs
        guard self.epochs >= 1 else { throw ToolError("--epochs must be >= 1, got \(self.epochs)") }
        self.threads = max(1, threads)
        self.seed = seed ?? deriveSeed(plan.spec.seed, [0xF17A1])
    }

    /// The chosen leaderboard row.
    package func chosenRow() throws -> Leaderboard.Row {
        let board = Leaderboard(plan: plan, outcomes: try ResultsFiles.readAll(directory: directory))
        let ranked = board.rows.filter { $0.meanAccuracy != nil }
        guard rank <= ranked.count else {
            throw ToolError("\(directory.path): rank \(rank) requested but only \(ranked.count) configurations have finished folds")
        }
        return ranked[rank - 1]
    }

    /// Trains and tests; `progress` sees every epoch.
    package func run(test: TestSet, progress: ((EpochMetrics) -> Void)? = nil) throws -> Metrics {
        let row = try chosenRow()
        guard let configIndex = plan.configIDs.firstIndex(of: row.configID) else {
            throw ToolError("configuration \(row.configID) is not in the plan")
        }
        let h = plan.configurations[configIndex]
        let dataset = try SweepSession.loadData(plan.spec.data)
        guard PreparedFile.fingerprint(of: dataset) == plan.datasetFingerprint else {
            throw ToolError("the sweep's data has changed since the sweep ran (fingerprint differs from manifest.json)")
        }
        let finalDirectory = directory.appendingPathComponent("final")
        try FileManager.default.createDirectory(at: finalDirectory, withIntermediateDirectories: true)

        let trainSet: EventDataset, testSet: EventDataset, testSource: String
        switch test {
        case .source(let path, let labels):
            trainSet = dataset
            testSet = try DatasetSource.detect(path, labels: labels).read()
            testSource = path
        case .holdout(let fraction):
            guard fraction > 0, fraction < 1 else { throw ToolError("--holdout must be in (0, 1), got \(fraction)") }
            let k = max(2, Int((1 / fraction).rounded()))
            let folds = try StratifiedFolds(labels: dataset.labels, folds: k, seed: seed)
            trainSet = dataset.subset(folds.trainingIndices(fold: 0))
            testSet = dataset.subset(folds.validationIndices(fold: 0))
            let file = finalDirectory.appendingPathComponent("test.spk")
            try PreparedFile.write(testSet, to: file.path)
            testSource = "held out: stratified 1/\(k) of the training data (fold 0, seed \(seed)), saved as final/test.spk"
        }
        let framing = Framing.Options(windowMicros: h.windowMicros, denoiseMicros: h.denoiseMicros, firstSaccadeOnly: plan.spec.firstSaccadeOnly)
        let trainFrames = trainSet.frames(framing, threads: threads)
        let testFrames = testSet.frames(framing, threads: threads)
        let started = Date()
        let run = try TrainingRun(hyperparameters: h, training: trainFrames, validation: nil,
                                  options: TrainingOptions(epochs: epochs, seed: seed, threads: threads))
        var epochLines = CSV.line(["epoch", "train_loss", "train_accuracy", "seconds"])
        var last = Date()
        let result = try run.run { metrics in
            let now = Date()
            epochLines += CSV.line([String(metrics.epoch), "\(metrics.trainLoss)", "\(metrics.trainAccuracy)",
                                    String(format: "%.3f", now.timeIntervalSince(last))])
            last = now
            progress?(metrics)
        }
        let seconds = Date().timeIntervalSince(started)
        let evaluation = Evaluation.run(run.parameters, hyperparameters: h, frames: testFrames, threads: threads)
        try ModelFile(parameters: run.parameters, metadata: ModelMetadata(h))
            .write(path: finalDirectory.appendingPathComponent("model.safetensors").path)
        try AtomicFile.write(Array(epochLines.utf8), to: finalDirectory.appendingPathComponent("epochs.csv").path)
        let metrics = Metrics(
            sweep: plan.spec.name, rank: rank, configID: row.configID, hyperparameters: row.parameters,
            crossValidatedAccuracy: row.meanAccuracy, epochs: epochs, seed: seed, threads: threads,
            trainingRecordings: trainFrames.count, testRecordings: testFrames.count, testSource: testSource,
            trainAccuracy: result.finalTrainAccuracy, trainLoss: result.epochs.last?.trainLoss ?? .nan,
            testAccuracy: evaluation.accuracy,
            perClassAccuracy: zip(evaluation.perClassCorrect, evaluation.perClassTotal).map { $1 == 0 ? nil : Double($0) / Double($1) },
            confusion: evaluation.confusion, trainingSeconds: seconds, recordingsPerSecond: result.recordingsPerSecond,
            toolVersion: ToolVersion.string)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicFile.write(Array(try encoder.encode(metrics)) + [10], to: finalDirectory.appendingPathComponent("metrics.json").path)
        return metrics
    }

    /// Reads `final/metrics.json` of a results folder, if there is one.
    package static func readMetrics(resultsDirectory: URL) -> Metrics? {
        let decoder = JSONDecoder()
        guard let data = try? Data(contentsOf: resultsDirectory.appendingPathComponent("final/metrics.json")) else { return nil }
        return try? decoder.decode(Metrics.self, from: data)
    }
}
