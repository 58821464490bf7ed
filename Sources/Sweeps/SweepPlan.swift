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
    /// The same in every rung, so a rung continues the previous rung's run.
    package var seed: UInt64
    /// The rung of a successive-halving sweep (0 for every task of a plain sweep).
    package var rung = 0
    /// Epochs the task has trained when it is done.
    package var epochs: Int
    /// Epochs its run holds when it starts (the previous rung's budget; 0 in the first rung).
    package var priorEpochs = 0
    /// Names the task's checkpoint: the id of its first rung's task, so every rung of one
    /// (configuration, fold) continues the same run. A plain sweep's task's own id.
    package var lineage: String
    /// Whether its checkpoint is kept once its result is recorded (a halving rung before the
    /// last: a promoted configuration continues from it).
    package var keepsCheckpoint = false
    /// The share of the fold's training recordings it trains on (below 1 only in the rungs of
    /// a `resource: data` halving sweep).
    package var dataFraction = 1.0
}

/// One rung of a sweep: how many configurations train on every fold, up to how many epochs.
/// A plain sweep is one rung of every configuration.
package struct Rung: Sendable, Equatable {
    package var epochs: Int
    package var configurations: Int
    /// The share of each fold's training data (1 unless the budget is the data).
    package var fraction = 1.0
}

/// The expanded sweep: configurations and their (config, fold) tasks, with stable ids.
package struct SweepPlan: Sendable {
    package let spec: SweepSpec
    package let datasetFingerprint: UInt64
    package let configurations: [Hyperparameters]
    package let configIDs: [String]
    /// Every task any rung could run: rung-major, then configuration, then fold. A plain sweep
    /// has one rung, so `tasks[c * folds + f]` is configuration c's fold f.
    package let tasks: [SweepTask]
    package let rungs: [Rung]
    /// The configurations of each bracket (index = the rung it starts at), in plan order: all
    /// in bracket 0 but for Hyperband.
    package let brackets: [[Int]]
    /// `bracketSizes[b][r]`: configurations bracket b trains in rung r.
    package let bracketSizes: [[Int]]

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
        let budgets = spec.search.halving?.budgets ?? [spec.epochs]
        let bracketSizes = spec.search.halving?.bracketSizes(configurations: configurations.count) ?? [[configurations.count]]
        self.bracketSizes = bracketSizes
        let fractions = spec.search.halving?.fractions ?? [1]
        let rungs = budgets.enumerated().map { r, epochs in
            Rung(epochs: epochs, configurations: bracketSizes.reduce(0) { $0 + $1[r] }, fraction: fractions[r])
        }
        self.rungs = rungs
        // Hyperband deals the configurations into brackets in a seeded shuffle (grid order
        // would give one bracket all of a parameter's first value).
        var order = Array(0..<configIDs.count)
        if bracketSizes.count > 1 {
            var random = Xoshiro256(seed: deriveSeed(spec.seed, [0x4B7E_BA4D]))
            random.shuffle(&order)
        }
        var brackets: [[Int]] = []
        var dealt = 0
        for sizes in bracketSizes {
            let share = sizes.first { $0 > 0 } ?? 0
            brackets.append(order[dealt..<(dealt + share)].sorted())
            dealt += share
        }
        self.brackets = brackets
        let continues = spec.search.halving?.minFraction == nil
        let firstRung = Dictionary(uniqueKeysWithValues: brackets.enumerated().flatMap { b, configs in configs.map { ($0, b) } })
        let seeds = configHashes.map { hash in (0..<spec.folds).map { deriveSeed(spec.seed, [hash, UInt64($0)]) } }
        let perRung = descriptions.count * spec.folds
        var taskHashes: [UInt64] = []
        taskHashes.reserveCapacity(perRung * rungs.count)
        for rung in rungs {
            let suffix = "/\(spec.folds)|stratified=\(spec.stratified)|epochs=\(rung.epochs)|seed=\(spec.seed)"
                + "|first_saccade=\(spec.firstSaccadeOnly)|data=\(String(datasetFingerprint, radix: 16))"
                + (rung.fraction < 1 ? "|fraction=\(rung.fraction)" : "")
            for description in descriptions {
                for fold in 0..<spec.folds { taskHashes.append(Self.hash("\(description)|fold=\(fold)\(suffix)")) }
            }
        }
        let taskIDs = Self.uniqueHex(taskHashes, digits: [12, 16])
        var tasks: [SweepTask] = []
        tasks.reserveCapacity(taskHashes.count)
        for (r, rung) in rungs.enumerated() {
            for (c, config) in configurations.enumerated() {
                // A configuration's run starts in its bracket's first rung.
                // With the data as the budget every rung trains from scratch on its share.
                let first = continues ? firstRung[c] ?? 0 : r
                for fold in 0..<spec.folds {
                    tasks.append(SweepTask(index: tasks.count, id: taskIDs[tasks.count], configIndex: c, configID: configIDs[c],
                                           fold: fold, hyperparameters: config, seed: seeds[c][fold], rung: r, epochs: rung.epochs,
                                           priorEpochs: r <= first ? 0 : rungs[r - 1].epochs,
                                           lineage: taskIDs[(first * configurations.count + c) * spec.folds + fold],
                                           keepsCheckpoint: continues && r < rungs.count - 1, dataFraction: rung.fraction))
                }
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
    /// recording (inversely proportional to the window) times the epochs it trains.
    package func expectedCost(of task: SweepTask) -> Double {
        let h = Double(task.hyperparameters.hidden)
        let steps = 300_000.0 / Double(task.hyperparameters.windowMicros)
        return (h + 50) * steps * Double(task.epochs - task.priorEpochs)
    }

    /// Configuration c's tasks in rung r, fold order.
    package func tasks(ofConfig c: Int, rung r: Int = 0) -> ArraySlice<SweepTask> {
        let first = (r * configurations.count + c) * spec.folds
        return tasks[first..<(first + spec.folds)]
    }

    /// Whether the sweep trains in rungs (successive halving).
    package var isHalving: Bool { spec.search.halving != nil }

    /// The tasks a complete run records: every rung's configurations times the folds.
    package var plannedTaskCount: Int { rungs.reduce(0) { $0 + $1.configurations } * spec.folds }

    static func hash(_ text: String) -> UInt64 {
        var f = Fingerprinter()
        f.mix(Array(text.utf8))
        return f.value
    }

    static func hexHash(_ text: String, digits: Int) -> String {
        String(hash(text).hex16.prefix(digits))
    }
}
