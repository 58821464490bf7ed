import Foundation
import SpikeEvents
import SpikeNet
import SpikeSupport

/// k-fold cross-validation of one configuration, run exactly as a sweep runs it: a plan of
/// that one configuration (the same task ids, folds and seeds as the same configuration in any
/// sweep with this seed, fold count, epochs and data), the local executor, and the
/// leaderboard's statistics. So `spikesweep train --folds K` reproduces a leaderboard row.
package enum CrossValidation {
    /// What cross-validating one configuration gave.
    package struct Result: Sendable, Encodable {
        /// One outcome per fold, in fold order.
        package var folds: [TaskOutcome]
        /// The configuration's leaderboard row: mean and std (ddof = 0) of the fold accuracies.
        package var row: Leaderboard.Row
        package var taskIDs: [String]
    }

    /// Cross-validates `hyperparameters` on `data` with `folds` stratified folds.
    /// - Parameters:
    ///   - seed: the sweep seed (folds and every fold's training seed derive from it).
    ///   - workers: folds trained at once, each on one thread.
    ///   - epochObserver: called after every epoch of every fold (from worker threads).
    package static func run(hyperparameters: Hyperparameters, data: SweepSpec.DataSource, folds: Int, epochs: Int, seed: UInt64,
                            workers: Int, epochObserver: (@Sendable (SweepTask, EpochMetrics) -> Void)? = nil) throws -> Result {
        try hyperparameters.validate()
        let spec = SweepSpec(name: "cross-validation", data: data, test: nil, folds: folds, stratified: true, epochs: epochs, seed: seed,
                             firstSaccadeOnly: false, grid: [],
                             fixed: Dictionary(uniqueKeysWithValues: Hyperparameter.all.map { ($0, $0.value(in: hyperparameters)) }))
        let dataset = try SweepSession.loadData(data)
        guard dataset.count >= folds else {
            throw ToolError("cannot split \(dataset.count) recordings into \(folds) folds")
        }
        let plan = SweepPlan(spec: spec, datasetFingerprint: PreparedFile.fingerprint(of: dataset))
        let runner = try EngineTaskRunner(dataset: dataset, spec: spec, checkpointDirectory: nil)
        runner.epochObserver = epochObserver
        let results = MemoryResults(plan: plan)
        _ = LocalExecutor(workers: min(workers, folds)).run(plan: plan, store: results, runner: runner)
        let outcomes = results.recordedOutcomes.sorted { $0.fold < $1.fold }
        if let failed = outcomes.first(where: { $0.status != .ok }) {
            throw ToolError("fold \(failed.fold + 1) failed: \(failed.error ?? "no result")")
        }
        return Result(folds: outcomes, row: results.leaderboard.rows[0], taskIDs: plan.tasks.map(\.id))
    }
}
