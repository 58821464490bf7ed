import Foundation
import SpikeEvents
import SpikeNet
import SpikeSupport

/// Everything needed to run a sweep, from a spec file: the spec, its data, the plan and the
/// results store. Shared by the local executor and the MPI coordinator.
package struct SweepSession {
    package let spec: SweepSpec
    package let dataset: EventDataset
    package let plan: SweepPlan
    package let directory: URL
    /// Where notices about the results folder go.
    package let reporter: Reporter

    /// Loads a spec and its data and expands the plan (no results folder is touched). Every
    /// check comes first: the spec's size (at most `SweepSpec.taskLimit` tasks unless
    /// `allowLarge`) before anything is expanded, then what a task needs against this machine
    /// and the data. Relative data paths are made absolute (the results folder's `spec.yaml`
    /// then works from any directory).
    package init(specPath: String, resultsRoot: URL, reporter: Reporter = SilentReporter(), allowLarge: Bool = false) throws {
        self.reporter = reporter
        var spec = try SweepSpec.load(path: specPath)
        // A results folder of this very spec was accepted when it was created (array elements
        // and reruns of a sweep started with --allow-large need not repeat it).
        let manifest = resultsRoot.appendingPathComponent(spec.name).appendingPathComponent("manifest.json")
        let accepted = (try? ResultsStore.readManifest(manifest))?.specHash == spec.resultHash
        try spec.checkSize(allowLarge: allowLarge || accepted, file: specPath)
        spec.data = spec.data.absolute
        spec.test = spec.test?.absolute
        dataset = try Self.loadData(spec.data)
        guard dataset.count >= spec.folds else {
            throw ToolError("\(specPath): cv.folds is \(spec.folds) but the data holds only \(dataset.count) recordings")
        }
        try spec.checkResources(file: specPath, recordingMicros: SweepSpec.longestRecordingMicros(dataset))
        try spec.checkAgainstData(dataset, file: specPath, reporter: reporter)
        self.spec = spec
        plan = SweepPlan(spec: spec, datasetFingerprint: PreparedFile.fingerprint(of: dataset))
        directory = resultsRoot.appendingPathComponent(spec.name)
    }

    /// Reads a spec's data source.
    /// - Throws: `FileError` naming the file when the data cannot be read.
    package static func loadData(_ source: SweepSpec.DataSource) throws -> EventDataset {
        switch source {
        case .path(let path, let labels):
            return try DatasetSource.detect(path, labels: labels).read()
        case .synthetic(let count, let seed):
            return EventDataset(split: .train, recordings: SyntheticNMNIST(seed: seed).recordings(count: count))
        }
    }

    /// Opens (or creates) the results store.
    package func openStore(fresh: Bool) throws -> ResultsStore {
        try ResultsStore(directory: directory, plan: plan, fresh: fresh, reporter: reporter)
    }

    /// The engine runner for this sweep, checkpointing under `results/<name>/checkpoints/` and
    /// mapping its frames from cache files in `results/<name>/frames/`.
    package func makeRunner(faultInjection: FaultInjector? = nil) throws -> EngineTaskRunner {
        try EngineTaskRunner(dataset: dataset, spec: spec, checkpointDirectory: directory.appendingPathComponent("checkpoints"),
                             frameDirectory: directory.appendingPathComponent("frames"), faultInjection: faultInjection)
    }
}

extension SweepPlan {
    /// Rebuilds the plan of an existing results folder from its `spec.yaml` and manifest,
    /// without loading any data (for `leaderboard`, `collect`, `report`).
    package static func load(resultsDirectory: URL) throws -> SweepPlan {
        let specURL = resultsDirectory.appendingPathComponent("spec.yaml")
        let manifestURL = resultsDirectory.appendingPathComponent("manifest.json")
        guard FileManager.default.fileExists(atPath: specURL.path), FileManager.default.fileExists(atPath: manifestURL.path) else {
            throw ToolError("\(resultsDirectory.path): not a sweep results folder (no spec.yaml and manifest.json)")
        }
        let spec = try SweepSpec.load(path: specURL.path)
        let manifest = try ResultsStore.readManifest(manifestURL)
        guard let fingerprint = UInt64(manifest.datasetFingerprint, radix: 16) else {
            throw ToolError("\(manifestURL.path): bad dataset fingerprint '\(manifest.datasetFingerprint)'")
        }
        return SweepPlan(spec: spec, datasetFingerprint: fingerprint)
    }
}

extension SweepSpec.DataSource {
    /// The same source with a relative path made absolute against the current directory.
    package var absolute: SweepSpec.DataSource {
        switch self {
        case .path(let path, let labels):
            func resolve(_ p: String) -> String { URL(fileURLWithPath: p).standardizedFileURL.path }
            return .path(resolve(path), labels: labels.map(resolve))
        case .synthetic:
            return self
        }
    }
}
