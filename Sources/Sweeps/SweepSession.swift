import Foundation
import SpikeEvents
import SpikeNet

/// Everything needed to run a sweep, from a spec file: the spec, its data, the plan and the
/// results store. Shared by the local executor and the MPI coordinator.
public struct SweepSession {
    public let spec: SweepSpec
    public let dataset: EventDataset
    public let plan: SweepPlan
    public let directory: URL

    /// Loads a spec and its data and expands the plan (no results folder is touched).
    public init(specPath: String, resultsRoot: URL) throws {
        spec = try SweepSpec.load(path: specPath)
        dataset = try Self.loadData(spec.data)
        plan = SweepPlan(spec: spec, datasetFingerprint: PreparedFile.fingerprint(of: dataset))
        directory = resultsRoot.appendingPathComponent(spec.name)
        guard dataset.count >= spec.folds else {
            throw ResultsError("\(specPath): cv.folds is \(spec.folds) but the data holds only \(dataset.count) recordings")
        }
    }

    /// Reads a spec's data source.
    public static func loadData(_ source: SweepSpec.DataSource) throws -> EventDataset {
        switch source {
        case .path(let path, let labels):
            return try DatasetSource.detect(path, labels: labels).read()
        case .synthetic(let count, let seed):
            return EventDataset(split: .train, recordings: SyntheticNMNIST(seed: seed).recordings(count: count))
        }
    }

    /// Opens (or creates) the results store.
    public func openStore(fresh: Bool) throws -> ResultsStore {
        try ResultsStore(directory: directory, plan: plan, fresh: fresh)
    }

    /// The engine runner for this sweep, checkpointing under `results/<name>/checkpoints/`.
    public func makeRunner(failingConfigIDs: Set<String> = []) throws -> EngineTaskRunner {
        try EngineTaskRunner(dataset: dataset, spec: spec, checkpointDirectory: directory.appendingPathComponent("checkpoints"),
                             failingConfigIDs: failingConfigIDs)
    }

    /// Config ids named by `SPIKESWEEP_TEST_FAIL_CONFIGS` (comma-separated): a test-only hook
    /// that makes those configurations' tasks diverge, to exercise failure handling end to end.
    public static var testFailingConfigIDs: Set<String> {
        let raw = ProcessInfo.processInfo.environment["SPIKESWEEP_TEST_FAIL_CONFIGS"] ?? ""
        return Set(raw.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty })
    }
}

extension SweepPlan {
    /// Rebuilds the plan of an existing results folder from its `spec.yaml` and manifest,
    /// without loading any data (for `leaderboard`, `collect`, `report`).
    public static func load(resultsDirectory: URL) throws -> SweepPlan {
        let specURL = resultsDirectory.appendingPathComponent("spec.yaml")
        let manifestURL = resultsDirectory.appendingPathComponent("manifest.json")
        guard FileManager.default.fileExists(atPath: specURL.path), FileManager.default.fileExists(atPath: manifestURL.path) else {
            throw ResultsError("\(resultsDirectory.path): not a sweep results folder (no spec.yaml and manifest.json)")
        }
        let spec = try SweepSpec.load(path: specURL.path)
        let manifest = try ResultsStore.readManifest(manifestURL)
        guard let fingerprint = UInt64(manifest.datasetFingerprint, radix: 16) else {
            throw ResultsError("\(manifestURL.path): bad dataset fingerprint '\(manifest.datasetFingerprint)'")
        }
        return SweepPlan(spec: spec, datasetFingerprint: fingerprint)
    }
}
