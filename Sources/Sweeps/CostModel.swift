import Foundation
import SpikeEvents
import SpikeNet
import SpikeSupport

/// Seconds the engine needs per recording, measured on this node, as a linear model
///
///     t(H, steps, entries) = a·H·steps + b·H·entries + c·steps + d
///
/// for training (forward + backward + Adam, amortised per recording) and for evaluation
/// (forward only). `steps` is the recording's frame count and `entries` its active
/// (step, input) pairs; both follow from the data and the window.
package struct Calibration: Codable, Sendable, Equatable {
    package var host: String
    package var date: String
    package var toolVersion: String
    /// [a, b, c, d] for a training pass and for an evaluation pass.
    package var train: [Double]
    package var evaluate: [Double]
    /// What was measured: (hidden, window, steps, entries, train s/rec, eval s/rec).
    package var samples: [[Double]]
    /// Seconds to denoise and frame one recording on one core (building a frame cache);
    /// nil in calibrations made before it was measured.
    package var framing: Double?

    package func trainSeconds(hidden: Int, steps: Double, entries: Double) -> Double {
        max(0, train[0] * Double(hidden) * steps + train[1] * Double(hidden) * entries + train[2] * steps + train[3])
    }

    package func evaluateSeconds(hidden: Int, steps: Double, entries: Double) -> Double {
        max(0, evaluate[0] * Double(hidden) * steps + evaluate[1] * Double(hidden) * entries + evaluate[2] * steps + evaluate[3])
    }

    /// Measures the engine on `dataset` (or synthetic N-MNIST) at a few (H, window) points,
    /// single-threaded like a sweep task. Takes a few seconds.
    package static func measure(dataset: EventDataset, recordings: Int = 256, batchSize: Int = 128,
                               hiddens: [Int] = [100, 400, 800], windows: [Int] = [500, 1000, 2000]) throws -> Calibration {
        let chosen = Array(0..<min(recordings, dataset.count))
        var rows: [[Double]] = []
        var framing: [Double] = []
        for window in windows {
            let f0 = DispatchTime.now().uptimeNanoseconds
            let frames = dataset.frames(Framing.Options(windowMicros: window), indices: chosen)
            framing.append(Double(DispatchTime.now().uptimeNanoseconds - f0) / 1e9 / Double(max(1, chosen.count)))
            let steps = Double(frames.storage.stepEntryStart.count - 1) / Double(frames.count)
            let entries = Double(frames.storage.inputs.count) / Double(frames.count)
            for hidden in hiddens {
                var h = Hyperparameters()
                h.hidden = hidden
                h.windowMicros = window
                h.batchSize = batchSize
                // One warm-up epoch, then a timed one.
                let run = try TrainingRun(hyperparameters: h, training: frames, options: TrainingOptions(epochs: 2, seed: 1))
                _ = try run.run(stopAfter: 1)
                let t0 = DispatchTime.now().uptimeNanoseconds
                _ = try run.run(stopAfter: 2)
                let train = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9 / Double(frames.count)
                let e0 = DispatchTime.now().uptimeNanoseconds
                _ = Evaluation.run(run.parameters, hyperparameters: h, frames: frames)
                let evaluate = Double(DispatchTime.now().uptimeNanoseconds - e0) / 1e9 / Double(frames.count)
                rows.append([Double(hidden), Double(window), steps, entries, train, evaluate])
            }
        }
        func fit(_ column: Int) -> [Double] {
            let x = rows.map { [$0[0] * $0[2], $0[0] * $0[3], $0[2], 1.0] }
            let y = rows.map { $0[column] }
            return leastSquares(x, y)
        }
        return Calibration(host: ProcessInfo.processInfo.hostName, date: ISO8601DateFormatter().string(from: Date()),
                           toolVersion: ToolVersion.string, train: fit(4), evaluate: fit(5), samples: rows,
                           framing: framing.reduce(0, +) / Double(max(1, framing.count)))
    }

    package static func read(path: String) throws -> Calibration {
        do { return try JSONDecoder().decode(Calibration.self, from: Data(contentsOf: URL(fileURLWithPath: path))) } catch {
            throw ToolError("\(path): not a calibration file (\(error.localizedDescription)); make one with 'spikesweep plan SPEC --calibrate'")
        }
    }

    package func write(path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicFile.write(Array(try encoder.encode(self)) + [10], to: path)
    }
}

/// Ordinary least squares by the normal equations with a small ridge (the design is tiny and
/// well conditioned after column scaling).
func leastSquares(_ x: [[Double]], _ y: [Double]) -> [Double] {
    let n = x.first?.count ?? 0
    let scale = (0..<n).map { j in max(1e-30, x.map { abs($0[j]) }.max() ?? 1) }
    let xs = x.map { row in (0..<n).map { row[$0] / scale[$0] } }
    var a = [[Double]](repeating: [Double](repeating: 0, count: n + 1), count: n)
    for (row, target) in zip(xs, y) {
        for i in 0..<n {
            for j in 0..<n { a[i][j] += row[i] * row[j] }
            a[i][n] += row[i] * target
        }
    }
    for i in 0..<n { a[i][i] += 1e-9 }
    // Gaussian elimination with partial pivoting.
    for c in 0..<n {
        let p = (c..<n).max { abs(a[$0][c]) < abs(a[$1][c]) }!
        a.swapAt(c, p)
        guard abs(a[c][c]) > 1e-300 else { continue }
        for r in 0..<n where r != c {
            let f = a[r][c] / a[c][c]
            for k in c...n { a[r][k] -= f * a[c][k] }
        }
    }
    return (0..<n).map { i in abs(a[i][i]) > 1e-300 ? a[i][n] / a[i][i] / scale[i] : 0 }
}

/// What a sweep will cost: task count, core-hours and wall time for a number of ranks or
/// array elements, from a calibration and the data's frame statistics.
package struct SweepCostPlan: Codable, Sendable {
    package struct Shape: Codable, Sendable {
        package var workers: Int
        package var wallSeconds: Double
    }

    package var name: String
    package var tasks: Int
    package var recordings: Int
    package var coreSeconds: Double
    /// The longest single task.
    package var longestTaskSeconds: Double
    package var shapes: [Shape]
    /// Per Slurm array element (tasks i ≡ e mod N): the slowest element's time.
    package var arraySize: Int
    package var arrayElementSeconds: Double
    package var suggestedTimeLimit: String
    /// Building the frame caches (one per window and denoise setting), once, on all cores of
    /// the node whose task needs it first; included in the wall times above.
    package var frameCacheSeconds: Double

    /// Predicted seconds of every task of `plan`.
    package static func taskSeconds(plan: SweepPlan, calibration: Calibration, recordings: Int,
                                   framesPerWindow: (Int) -> (steps: Double, entries: Double)) -> [Double] {
        let k = Double(plan.spec.folds)
        let train = Double(recordings) * (k - 1) / k
        let validation = Double(recordings) / k
        return plan.tasks.map { task in
            let h = task.hyperparameters
            let (steps, entries) = framesPerWindow(h.windowMicros)
            let perEpoch = train * task.dataFraction * calibration.trainSeconds(hidden: h.hidden, steps: steps, entries: entries)
                + validation * calibration.evaluateSeconds(hidden: h.hidden, steps: steps, entries: entries)
            return Double(task.epochs - task.priorEpochs) * perEpoch
        }
    }

    /// Makespan of `durations` on `workers` workers taking the longest first (what the
    /// local executor and the MPI coordinator do).
    package static func makespan(_ durations: [Double], workers: Int) -> Double {
        var loads = [Double](repeating: 0, count: max(1, workers))
        for d in durations.sorted(by: >) {
            let i = loads.indices.min { loads[$0] < loads[$1] }!
            loads[i] += d
        }
        return loads.max() ?? 0
    }

    /// - Parameter frameCacheSeconds: building every frame cache the plan needs.
    package init(plan: SweepPlan, taskSeconds: [Double], recordings: Int, workers: [Int], arraySize: Int, frameCacheSeconds: Double = 0) {
        name = plan.spec.name
        let planned = Self.plannedTasks(plan, taskSeconds: taskSeconds)
        tasks = planned.count
        isUpperBound = plan.isHalving
        self.recordings = recordings
        self.frameCacheSeconds = frameCacheSeconds
        let seconds = planned.map { taskSeconds[$0.index] }
        coreSeconds = seconds.reduce(0, +)
        longestTaskSeconds = seconds.max() ?? 0
        // Rungs run one after another: a rung's wall time adds to the previous one's.
        let rungs = Dictionary(grouping: planned, by: \.rung).values.map { $0.map { taskSeconds[$0.index] } }
        shapes = workers.map { w in Shape(workers: w, wallSeconds: frameCacheSeconds + rungs.reduce(0) { $0 + Self.makespan($1, workers: w) }) }
        self.arraySize = max(1, arraySize)
        var slowest = 0.0
        for rung in Dictionary(grouping: planned, by: \.rung).values {
            var perElement = [Double](repeating: 0, count: self.arraySize)
            for (i, task) in rung.enumerated() { perElement[plan.isHalving ? i % self.arraySize : task.index % self.arraySize] += taskSeconds[task.index] }
            slowest = max(slowest, perElement.max() ?? 0)
        }
        arrayElementSeconds = frameCacheSeconds + slowest
        // 25% margin plus 10 minutes for start-up and data loading, rounded up to 15 minutes.
        let limit = (arrayElementSeconds * 1.25 + 600) / 900
        let minutes = Int(limit.rounded(.up)) * 15
        suggestedTimeLimit = String(format: "%d-%02d:%02d:00", minutes / 1440, (minutes % 1440) / 60, minutes % 60)
    }

    /// A halving sweep's plan is an upper bound: which configurations go on is known only as
    /// the rungs finish, so later rungs are priced with their most expensive configurations.
    package var isUpperBound = false

    /// The tasks a run records: all of a plain sweep; for a halving sweep, in each rung as many
    /// of the most expensive configurations as the rung trains (all of them in a first rung
    /// of every configuration).
    static func plannedTasks(_ plan: SweepPlan, taskSeconds: [Double]) -> [SweepTask] {
        guard plan.isHalving else { return plan.tasks }
        var tasks: [SweepTask] = []
        for (r, rung) in plan.rungs.enumerated() {
            let cost = { (c: Int) in plan.tasks(ofConfig: c, rung: r).reduce(0) { $0 + taskSeconds[$1.index] } }
            let configs = rung.configurations >= plan.configurations.count ? Array(plan.configurations.indices)
                : plan.configurations.indices.sorted { (cost($0), -$0) > (cost($1), -$1) }.prefix(rung.configurations).sorted()
            tasks += configs.flatMap { plan.tasks(ofConfig: $0, rung: r) }
        }
        return tasks
    }

    package var text: String {
        func hours(_ s: Double) -> String { Format.duration(s) }
        var lines = ["plan \(name): \(tasks) tasks on \(recordings) recordings"
                     + (isUpperBound ? " (successive halving: at most; later rungs priced with their most expensive configurations)" : ""),
                     String(format: "  compute: %.2f core-hours (longest task %@)", coreSeconds / 3600, hours(longestTaskSeconds))]
        if frameCacheSeconds > 0 { lines.append("  frame caches: \(hours(frameCacheSeconds)) to build, once (included below)") }
        for s in shapes { lines.append("  wall time with \(s.workers) worker\(s.workers == 1 ? "" : "s")/ranks: \(hours(s.wallSeconds))") }
        lines.append("  Slurm array of \(arraySize) elements (one core each): slowest element \(hours(arrayElementSeconds)); suggested --array-size \(arraySize) --time \(suggestedTimeLimit)")
        return lines.joined(separator: "\n")
    }
}

extension SweepCostPlan {
    /// Plans `spec` on `recordings` recordings whose frames look like `sample`'s, for each
    /// count of workers (or ranks) in `workers` and a Slurm array of `arraySize` elements.
    /// - Parameter coresPerNode: the cores a frame cache is built on.
    package static func estimate(spec: SweepSpec, calibration: Calibration, sample: EventDataset, recordings: Int,
                                 workers: [Int], arraySize: Int?, coresPerNode: Int) -> SweepCostPlan {
        let plan = SweepPlan(spec: spec, datasetFingerprint: 0)
        var stats: [Int: (steps: Double, entries: Double)] = [:]
        let seconds = taskSeconds(plan: plan, calibration: calibration, recordings: recordings) { window in
            if let s = stats[window] { return s }
            let frames = sample.frames(Framing.Options(windowMicros: window, firstSaccadeOnly: spec.firstSaccadeOnly))
            let s = (Double(frames.storage.stepEntryStart.count - 1) / Double(frames.count),
                     Double(frames.storage.inputs.count) / Double(frames.count))
            stats[window] = s
            return s
        }
        let framings = Set(plan.configurations.map { Framing.Options(windowMicros: $0.windowMicros, denoiseMicros: $0.denoiseMicros) }).count
        let cache = Double(framings) * Double(recordings) * (calibration.framing ?? 0) / Double(max(1, coresPerNode))
        return SweepCostPlan(plan: plan, taskSeconds: seconds, recordings: recordings, workers: workers,
                             arraySize: arraySize ?? min(64, plan.tasks.count), frameCacheSeconds: cache)
    }
}
