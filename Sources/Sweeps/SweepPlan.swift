import SpikeEvents
import SpikeNet
import SpikeSupport

/// One unit of sweep work: train configuration `configIndex` with fold `fold` held out.
package struct SweepTask: Sendable, Hashable, Codable {
    /// Position in the plan's canonical task list (configuration-major, fold-minor).
    package var index: Int
    /// Stable 12-hex-digit id: a hash of the canonical configuration, fold, fold count,
    /// epochs, seed and dataset fingerprint. The key for resume, dedup and shards.
    package var id: String
    package var configIndex: Int
    /// Stable 8-hex-digit id of the configuration alone.
    package var configID: String
    package var fold: Int
    package var hyperparameters: Hyperparameters
    /// Training seed, derived from (sweep seed, configuration, fold): never from a rank or clock.
    package var seed: UInt64
}

/// The expanded sweep: configurations and their (config, fold) tasks, with stable ids.
package struct SweepPlan: Sendable {
    package let spec: SweepSpec
    package let datasetFingerprint: UInt64
    package let configurations: [Hyperparameters]
    package let configIDs: [String]
    package let tasks: [SweepTask]

    /// Expands `spec`. Ids are the first 8 (configurations) and 12 (tasks) hex digits of
    /// 64-bit hashes; a plan large enough for two of them to share those digits uses longer
    /// ids for all (12 and 16), so ids stay unique and a function of the spec alone.
    /// - Complexity: O(tasks).
    package init(spec: SweepSpec, datasetFingerprint: UInt64) {
        self.spec = spec
        self.datasetFingerprint = datasetFingerprint
        configurations = spec.configurations
        let descriptions = configurations.map(\.canonicalDescription)
        let configHashes = descriptions.map(Self.hash)
        configIDs = Self.uniqueHex(configHashes, digits: [8, 12, 16])
        let suffix = "/\(spec.folds)|stratified=\(spec.stratified)|epochs=\(spec.epochs)|seed=\(spec.seed)"
            + "|first_saccade=\(spec.firstSaccadeOnly)|data=\(String(datasetFingerprint, radix: 16))"
        var taskHashes: [UInt64] = []
        taskHashes.reserveCapacity(descriptions.count * spec.folds)
        for description in descriptions {
            for fold in 0..<spec.folds { taskHashes.append(Self.hash("\(description)|fold=\(fold)\(suffix)")) }
        }
        let taskIDs = Self.uniqueHex(taskHashes, digits: [12, 16])
        var tasks: [SweepTask] = []
        tasks.reserveCapacity(taskHashes.count)
        for (c, config) in configurations.enumerated() {
            for fold in 0..<spec.folds {
                tasks.append(SweepTask(index: tasks.count, id: taskIDs[tasks.count], configIndex: c,
                                       configID: configIDs[c], fold: fold, hyperparameters: config,
                                       seed: deriveSeed(spec.seed, [configHashes[c], UInt64(fold)])))
            }
        }
        self.tasks = tasks
    }

    /// The hashes as hex ids of the fewest `digits` that keep them all distinct.
    static func uniqueHex(_ hashes: [UInt64], digits: [Int]) -> [String] {
        let full = hashes.map(\.hex16)
        for d in digits.dropLast() {
            let ids = full.map { String($0.prefix(d)) }
            if Set(ids).count == ids.count { return ids }
        }
        return full.map { String($0.prefix(digits.last!)) }
    }

    /// A short readable label of a configuration's swept values, e.g. `β0.9 H800 w2000 0.8/0.2`.
    package func label(ofConfig c: Int) -> String {
        let config = configurations[c]
        let parts = spec.sweptParameters.map { $0.label + $0.value(in: config).description }
        return parts.isEmpty ? "default" : parts.joined(separator: " ")
    }

    /// Relative cost of a task, for longest-first scheduling: hidden size times steps per
    /// recording (inversely proportional to the window) times epochs.
    package func expectedCost(of task: SweepTask) -> Double {
        let h = Double(task.hyperparameters.hidden)
        let steps = 300_000.0 / Double(task.hyperparameters.windowMicros)
        return (h + 50) * steps * Double(spec.epochs)
    }

    static func hash(_ text: String) -> UInt64 {
        var f = Fingerprinter()
        f.mix(Array(text.utf8))
        return f.value
    }

    static func hexHash(_ text: String, digits: Int) -> String {
        String(hash(text).hex16.prefix(digits))
    }
}
