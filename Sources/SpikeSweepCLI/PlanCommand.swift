import ArgumentParser
import Foundation
import SpikeEvents
import SpikeSupport
import Sweeps

extension SpikeSweep {
    struct Plan: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Estimate a sweep's cost: tasks, core-hours, wall time for N ranks, and Slurm array settings.",
            discussion: """
                The estimate comes from a calibration of the engine on this node (a few seconds; \
                --calibrate measures anew and saves it, otherwise the saved one is used, or one \
                measured now and not saved when there is none) and the data's frame \
                statistics. When the spec's data is not here (e.g. the full N-MNIST on a laptop), \
                give its size with --recordings and frame statistics come from synthetic N-MNIST.

                Examples:
                  spikesweep plan sweeps/nmnist-small-table1.yaml --calibrate
                  spikesweep plan sweeps/table1.yaml --recordings 60000 --ranks 1,2,128 --array-size 64
                """)

        @Argument(help: "The sweep spec (YAML).")
        var spec: String

        @Flag(help: "Measure the engine on this node now and save the calibration.")
        var calibrate = false

        @Flag(help: "Plan a sweep of more than \(SweepSpec.taskLimit) tasks.")
        var allowLarge = false

        @Option(help: "Calibration file to read or write.")
        var calibration = "results/calibration.json"

        @Option(parsing: .unconditional, help: "Number of training recordings when the spec's data is not available here.")
        var recordings: Int?

        @Option(help: "Comma-separated worker/rank counts to estimate wall time for (default: 1, this machine's cores).")
        var ranks: String?

        @Option(parsing: .unconditional, help: "Slurm array elements to size (default: as many as tasks, at most 64).")
        var arraySize: Int?

        @Option(parsing: .unconditional, help: "Cores of a node, on which a frame cache is built (default: this machine's).")
        var coresPerNode: Int?

        @Flag(help: "Print one JSON object.")
        var json = false

        func run() throws {
            let sweep = try SweepSpec.load(path: spec)
            try sweep.checkSize(allowLarge: allowLarge, file: spec)
            var dataset: EventDataset? = nil
            if case .path(let path, _) = sweep.data, !FileManager.default.fileExists(atPath: path) {
                guard recordings != nil else {
                    throw ToolError("\(spec): data \(path) is not here; give its size with --recordings N (full N-MNIST training set: 60000)")
                }
            } else {
                dataset = try SweepSession.loadData(sweep.data)
            }
            let sample: EventDataset = dataset.map { d in d.subset(Array(0..<min(500, d.count))) }
                ?? EventDataset(split: .train, recordings: SyntheticNMNIST(seed: 1).recordings(count: 500))
            let count = recordings ?? dataset!.count
            let calibrationData: Calibration
            if calibrate || !FileManager.default.fileExists(atPath: calibration) {
                if !json { Console.error("plan: calibrating the engine on this node (a few seconds)…") }
                calibrationData = try Calibration.measure(dataset: sample)
                if calibrate {
                    try FileSystem.createDirectory(URL(fileURLWithPath: calibration).deletingLastPathComponent().path)
                    try calibrationData.write(path: calibration)
                }
            } else {
                calibrationData = try Calibration.read(path: calibration)
            }
            let workerCounts = try ranks.map { text in
                try text.split(separator: ",").map { part -> Int in
                    guard let n = Int(part.trimmingCharacters(in: .whitespaces)), n >= 1 else {
                        throw ToolError("--ranks takes counts >= 1 like 1,2,128, got '\(text)'")
                    }
                    return n
                }
            } ?? Array(Set([1, ProcessInfo.processInfo.activeProcessorCount])).sorted()
            let result = SweepCostPlan.estimate(spec: sweep, calibration: calibrationData, sample: sample, recordings: count,
                                                workers: workerCounts, arraySize: arraySize,
                                                coresPerNode: coresPerNode ?? ProcessInfo.processInfo.activeProcessorCount)
            if json {
                try Console.json(result)
            } else {
                print(result.text)
            }
        }
    }
}
