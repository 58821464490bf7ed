import SpikeEvents
import SpikeNet

/// One unit of sweep work: train configuration `configIndex` with fold `fold` held out.
public struct SweepTask: Sendable, Hashable, Codable {
    /// Position in the plan's canonical task list (configuration-major, fold-minor).
    public var index: Int
    /// Stable 12-hex-digit id: a hash of the canonical configuration, fold, fold count,
    /// epochs, seed and dataset fingerprint. The key for resume, dedup and shards.
    public var id: String
    public var configIndex: Int
    /// Stable 8-hex-digit id of the configuration alone.
    public var configID: String
    public var fold: Int
    public var hyperparameters: Hyperparameters
    /// Training seed, derived from (sweep seed, configuration, fold): never from a rank or clock.
    public var seed: UInt64
}

/// The expanded sweep: configurations and their (config, fold) tasks, with stable ids.
public struct SweepPlan: Sendable {
    public let spec: SweepSpec
    public let datasetFingerprint: UInt64
    public let configurations: [Hyperparameters]
    public let configIDs: [String]
    public let tasks: [SweepTask]

    public init(spec: SweepSpec, datasetFingerprint: UInt64) {
        self.spec = spec
        self.datasetFingerprint = datasetFingerprint
        configurations = spec.configurations
        configIDs = configurations.map { Self.hexHash($0.canonicalDescription, digits: 8) }
        var tasks: [SweepTask] = []
        for (c, config) in configurations.enumerated() {
            let configHash = Self.hash(config.canonicalDescription)
            for fold in 0..<spec.folds {
                let identity = "\(config.canonicalDescription)|fold=\(fold)/\(spec.folds)|stratified=\(spec.stratified)"
                    + "|epochs=\(spec.epochs)|seed=\(spec.seed)|first_saccade=\(spec.firstSaccadeOnly)"
                    + "|data=\(String(datasetFingerprint, radix: 16))"
                tasks.append(SweepTask(index: tasks.count, id: Self.hexHash(identity, digits: 12), configIndex: c,
                                       configID: configIDs[c], fold: fold, hyperparameters: config,
                                       seed: deriveSeed(spec.seed, [configHash, UInt64(fold)])))
            }
        }
        self.tasks = tasks
    }

    /// A short readable label of a configuration's swept values, e.g. `β0.9 H800 w2000 0.8/0.2`.
    public func label(ofConfig c: Int) -> String {
        let config = configurations[c]
        let parts = spec.sweptParameters.map { p -> String in
            let v = config.value(of: p).description
            switch p {
            case .beta: return "b\(v)"
            case .hidden: return "H\(v)"
            case .windowMicros: return "w\(v)"
            case .targetRatio: return v
            case .batchSize: return "bs\(v)"
            case .learningRate: return "lr\(v)"
            case .l2: return "l2=\(v)"
            case .denoiseMicros: return "dn\(v)"
            }
        }
        return parts.isEmpty ? "default" : parts.joined(separator: " ")
    }

    /// Relative cost of a task, for longest-first scheduling: hidden size times steps per
    /// recording (inversely proportional to the window) times epochs.
    public func expectedCost(of task: SweepTask) -> Double {
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
