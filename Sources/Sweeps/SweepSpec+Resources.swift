import Foundation
import SpikeEvents
import SpikeNet
import SpikeSupport

/// Checks that a spec's values can run here, before anything runs: the memory a task needs
/// against this machine's, windows against the recordings' length, folds against the classes.
extension SweepSpec {
    /// The values of `key` the sweep uses: its grid values, or its fixed or default value.
    func values(of key: String) -> [ParameterValue] {
        let p = Hyperparameter.named(key)!
        if let entry = grid.first(where: { $0.parameter == p }) { return entry.values }
        return [fixed[p] ?? p.value(in: Hyperparameters())]
    }

    func integers(_ key: String) -> [Int] {
        values(of: key).compactMap { if case .integer(let v) = $0 { return v }; return nil }
    }

    /// Where a parameter's values come from in the spec, for messages: `grid.hidden`, `fixed.hidden` or `hidden (default)`.
    func keyPath(_ key: String) -> String {
        let p = Hyperparameter.named(key)!
        if grid.contains(where: { $0.parameter == p }) { return "grid.\(key)" }
        return fixed[p] != nil ? "fixed.\(key)" : "\(key) (default)"
    }

    /// Refuses values no task could run with on this machine: a task's memory (weights,
    /// gradients, Adam's moments and one batch's buffers for the largest hidden layer and
    /// batch and the shortest window of the grid) beyond its physical memory.
    /// - Parameter recordingMicros: the longest recording, for the number of steps per frame.
    func checkResources(file: String, recordingMicros: Int, memoryBytes: UInt64 = ProcessInfo.processInfo.physicalMemory) throws {
        let hidden = integers("hidden").max() ?? 800
        let batch = integers("batch_size").max() ?? 128
        let window = integers("window_us").min() ?? 2000
        if let problem = Self.memoryProblem(hidden: hidden, batchSize: batch, steps: max(1, recordingMicros / max(1, window)),
                                            memoryBytes: memoryBytes) {
            throw SpecError(file: file, line: nil, keyPath: keyPath("hidden"),
                            message: "\(problem) (\(keyPath("batch_size")) and \(keyPath("window_us")) count too)")
        }
    }

    /// Why a task of this size cannot run on a machine with `memoryBytes`, or nil when it can.
    package static func memoryProblem(hidden: Int, batchSize: Int, steps: Int,
                                      memoryBytes: UInt64 = ProcessInfo.processInfo.physicalMemory) -> String? {
        let bytes = taskBytes(hidden: hidden, batchSize: batchSize, steps: steps)
        guard bytes > Double(memoryBytes) else { return nil }
        func gb(_ b: Double) -> String { String(format: "%.1f GB", b / 1e9) }
        return "a task with hidden \(hidden), batch_size \(batchSize) and \(steps) steps per recording needs about \(gb(bytes)) "
            + "(weights, gradients, Adam moments, batch buffers), more than this machine's \(gb(Double(memoryBytes)))"
    }

    /// Refuses windows longer than every recording (each recording would be one frame), and
    /// warns when a fold needs more recordings of a class than the smallest class has.
    func checkAgainstData(_ dataset: EventDataset, file: String, reporter: Reporter) throws {
        let longest = Self.longestRecordingMicros(dataset)
        if let window = integers("window_us").max(), window > longest {
            throw SpecError(file: file, line: nil, keyPath: keyPath("window_us"),
                            message: "a window of \(window) us is longer than the longest recording (\(longest) us): every recording "
                                + "would be a single frame")
        }
        guard stratified else { return }
        var perClass = [Int](repeating: 0, count: NMNIST.classCount)
        for label in dataset.labels where Int(label) < perClass.count { perClass[Int(label)] += 1 }
        if let smallest = perClass.filter({ $0 > 0 }).min(), smallest < folds {
            reporter.warn("\(file): cv.folds is \(folds) but the smallest class has \(smallest) recordings: some folds hold none of it")
        }
    }

    /// Bytes one training task needs besides the shared dataset.
    static func taskBytes(hidden: Int, batchSize: Int, steps: Int) -> Double {
        let shape = NetworkShape(hidden: hidden)
        let parameters = Double((shape.inputs + 1) * shape.paddedHidden + (shape.paddedHidden + 1) * shape.outputs) * 4
        let batch = Double(batchSize) * Double(steps)
            * (Double(shape.tileCount * 8) + Double(shape.outputs * 8)) + 16 * Double(steps) * Double(shape.paddedHidden * 4)
        return 4 * parameters + batch
    }

    /// The longest recording's duration in µs (first to last event).
    static func longestRecordingMicros(_ dataset: EventDataset) -> Int {
        var longest: UInt32 = 0
        for r in 0..<dataset.count where dataset.eventCount(of: r) > 0 {
            longest = max(longest, dataset.times[dataset.eventStart[r + 1] - 1] - dataset.times[dataset.eventStart[r]])
        }
        return Int(longest)
    }
}
