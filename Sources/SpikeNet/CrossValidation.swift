import Foundation
import SpikeEvents

/// k-fold cross-validation of one configuration: stratified folds from the data layer
/// (seeded, the same for every configuration), one `TrainingRun` per fold with a seed derived
/// from (seed, fold).
public struct CrossValidationResult: Sendable, Codable, Equatable {
    public var folds: [FoldResult]
    public var meanValidationAccuracy: Double
    public var standardDeviation: Double
}

public enum CrossValidation {
    public static func run(hyperparameters: Hyperparameters, frames: FrameSet, folds: Int, epochs: Int, seed: UInt64,
                           threads: Int = 1, progress: ((Int, EpochMetrics) -> Void)? = nil) throws -> CrossValidationResult {
        let assignment: StratifiedFolds
        do { assignment = try StratifiedFolds(labels: frames.labels, folds: folds, seed: seed) } catch {
            throw TrainingError.invalidInput("\(error)")
        }
        var results: [FoldResult] = []
        for fold in 0..<folds {
            let run = try TrainingRun(hyperparameters: hyperparameters,
                                      training: frames.subset(assignment.trainingIndices(fold: fold)),
                                      validation: frames.subset(assignment.validationIndices(fold: fold)),
                                      options: TrainingOptions(epochs: epochs, seed: deriveSeed(seed, [UInt64(fold)]), threads: threads))
            results.append(try run.run { progress?(fold, $0) })
        }
        let accuracies = results.map { $0.finalValidationAccuracy ?? 0 }
        let mean = accuracies.reduce(0, +) / Double(accuracies.count)
        let variance = accuracies.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(max(1, accuracies.count - 1))
        return CrossValidationResult(folds: results, meanValidationAccuracy: mean, standardDeviation: variance.squareRoot())
    }
}
