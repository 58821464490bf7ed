import Foundation
import SpikeNet
import Testing
import TestSupport

/// `spikesweep bench` through the real binary: no stored snnTorch figure, the side-by-side
/// comparison, and the memory of one task.
@Suite struct BenchCommandTests {
    /// A Python with torch and snntorch 1.0.0 (`SPIKESWEEP_TEST_SNNTORCH_PYTHON`), or nil.
    static var snnTorchPython: String? {
        let value = ProcessInfo.processInfo.environment["SPIKESWEEP_TEST_SNNTORCH_PYTHON"] ?? ""
        return value.isEmpty ? nil : value
    }

    static let skipMessage = "skipped: no Python with snnTorch (set SPIKESWEEP_TEST_SNNTORCH_PYTHON to one with torch, "
        + "snntorch==1.0.0 and numpy)"

    static let quick = ["bench", "--hidden", "100", "--window-us", "2000", "--threads", "1", "--min-seconds", "0.1"]

    @Test func withoutComparisonTheTableHasNoSnnTorchFigure() throws {
        let result = try CLIRunner.run(Self.quick)
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.stdout.split(separator: "\n").map(String.init)
        let header = try #require(lines.first { $0.hasPrefix("hidden") })
        #expect(header.contains("snnTorch rec/s") && header.contains("speed-up"))
        let row = try #require(lines.first { $0.hasPrefix("   100") }).split(separator: " ")
        // hidden window_us threads mean_T rec/s ms/batch snnTorch-rec/s speed-up rec/cpu-s task_MB …
        #expect(row[6] == "-" && row[7] == "-", "\(row)")
        #expect(Double(row[4]) ?? 0 > 0)
        #expect(!row.contains { $0.hasSuffix("x") && Double($0.dropLast()) != nil }, "a speed-up: \(row)")
        #expect(lines.contains { $0.hasPrefix("snnTorch: not compared") })
    }

    /// `--runs 2` measures the case twice: both rows, then the two figures side by side with
    /// their median; the JSON numbers the runs. A count below 1 is a one-line error.
    @Test func runsMeasuresEachCaseAgainAndListsTheFiguresWithTheirMedian() throws {
        let result = try CLIRunner.run(Self.quick + ["--runs", "2"])
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.stdout.split(separator: "\n").map(String.init)
        let rates = lines.filter { $0.hasPrefix("   100") }.map { Double($0.split(separator: " ")[4])! }
        #expect(rates.count == 2, "\(lines)")
        let summary = try #require(lines.first { $0.hasPrefix("H=100, 2000 us, 1 thread, 2 runs: rec/s ") }, "\(lines)")
        // The rows' figures as printed, then their median (of the unrounded rates: ±0.1).
        let listed = rates.map { String(format: "%.1f", $0) }.joined(separator: " / ") + " (median "
        #expect(summary.contains("rec/s " + listed), "\(summary) vs \(listed)")
        let median = try #require(Double(summary.split(separator: "(median ").last?.dropLast() ?? ""), "\(summary)")
        #expect(abs(median - (rates[0] + rates[1]) / 2) <= 0.1 + 1e-9, "\(summary)")
        #expect(!summary.contains("snnTorch"))

        let json = try CLIRunner.run(Self.quick + ["--runs", "2", "--json"])
        #expect(json.status == 0, "\(json.stderr)")
        let report = try JSONDecoder().decode(BenchmarkReport.self, from: Data(json.stdout.utf8))
        #expect(report.cases.map(\.run) == [1, 2])
        let single = try JSONDecoder().decode(BenchmarkReport.self, from: Data(try CLIRunner.run(Self.quick + ["--json"]).stdout.utf8))
        #expect(single.cases.map(\.run) == [nil])

        let zero = try CLIRunner.run(Self.quick + ["--runs", "0"])
        #expect(zero.status != 0 && zero.stdout.isEmpty)
        #expect(zero.stderr.split(separator: "\n").count == 1 && zero.stderr.contains("--runs must be >= 1, got 0"), "\(zero.stderr)")
        #expect(Benchmark.median([3, 1, 2]) == 2 && Benchmark.median([4, 1]) == 2.5 && Benchmark.median([]) == 0)
    }

    /// The JSON names the task's private memory (H=100, synthetic frames) and no snnTorch figure.
    @Test func theJSONHasTheTaskMemoryAndNoSnnTorchFigure() throws {
        let result = try CLIRunner.run(Self.quick + ["--json"])
        #expect(result.status == 0, "\(result.stderr)")
        let report = try JSONDecoder().decode(BenchmarkReport.self, from: Data(result.stdout.utf8))
        let c = try #require(report.cases.first)
        #expect(c.snnTorch == nil && c.speedup == nil)
        let task = try #require(c.taskPrivateMegabytes, "no /proc/self/smaps_rollup?")
        #expect(task > 0 && task < 200, "task private memory \(task) MB")
        #expect(try #require(c.processPrivateMegabytes) >= task + c.framesMegabytes, "the frames are on the heap")
        #expect(c.framesMegabytes > 1 && c.framesMegabytes < 50)
        #expect(c.peakRSSMegabytes > task && report.peakRSSMegabytes >= c.peakRSSMegabytes)
        let keys = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        let first = try #require((keys["cases"] as? [[String: Any]])?.first)
        #expect(first["taskPrivateMegabytes"] is Double && first["snnTorch"] == nil)
    }

    @Test func aPythonThatCannotRunOrLacksSnnTorchIsOneLine() throws {
        let missing = try CLIRunner.run(Self.quick + ["--compare-snntorch", "/nonexistent/python3"])
        #expect(missing.status != 0)
        #expect(missing.stderr.split(separator: "\n").count == 1, "\(missing.stderr)")
        #expect(missing.stderr.contains("--compare-snntorch: /nonexistent/python3"), "\(missing.stderr)")
        #expect(missing.stdout.isEmpty, "measured before checking the Python: \(missing.stdout)")

        let python = "/usr/bin/python3"
        guard FileManager.default.isExecutableFile(atPath: python) else { print("skipped: \(python) not found"); return }
        guard try CLIRunner.run(executable: URL(fileURLWithPath: python), ["-c", "import torch"]).status != 0 else {
            print("skipped: \(python) has torch, so it cannot stand for a Python without it"); return
        }
        let lacking = try CLIRunner.run(Self.quick + ["--compare-snntorch", python])
        #expect(lacking.status != 0)
        #expect(lacking.stderr.split(separator: "\n").count == 1, "\(lacking.stderr)")
        #expect(lacking.stderr.contains("--compare-snntorch: \(python) has no module"), "\(lacking.stderr)")
        #expect(lacking.stderr.contains("pip install snntorch==1.0.0"), "\(lacking.stderr)")
    }

    /// A tiny side-by-side run: both rates positive, the ratio their quotient, and snnTorch
    /// trained on the batches spikesweep meant (their padded lengths and event counts).
    @Test func aComparisonGivesBothRatesAndTheirRatio() throws {
        guard let python = Self.snnTorchPython else { print(Self.skipMessage); return }
        let result = try CLIRunner.run(Self.quick + ["--compare-snntorch", python, "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        let report = try JSONDecoder().decode(BenchmarkReport.self, from: Data(result.stdout.utf8))
        let c = try #require(report.cases.first)
        let snnTorch = try #require(c.snnTorch)
        let speedup = try #require(c.speedup)
        #expect(c.recordingsPerSecond > 0 && snnTorch.recordingsPerSecond > 0 && snnTorch.recordingsPerCPUSecond > 0)
        #expect(abs(speedup - c.recordingsPerSecond / snnTorch.recordingsPerSecond) <= 1e-12 * speedup)
        #expect(snnTorch.threads == 1 && snnTorch.batches >= SnnTorchBaseline.minBatches)
        #expect(!snnTorch.torchVersion.isEmpty && !snnTorch.snnTorchVersion.isEmpty && !snnTorch.pythonVersion.isEmpty)

        let frames = Benchmark.syntheticFrames(windowMicros: 2000)
        let written = BatchOrder.batches(count: frames.count, batchSize: 128, seed: Benchmark.seed,
                                         Benchmark.warmupBatches ..< Benchmark.warmupBatches
                                             + min(c.batches, SnnTorchBaseline.maxTimedBatches))
        let timed = (0..<snnTorch.batches).map { written[$0 % written.count] }
        let steps = timed.map { $0.map(frames.stepCount(of:)).max()! }.reduce(0, +)
        let events = timed.joined().map { r in
            (0..<frames.stepCount(of: r)).map { t in frames.entryRange(recording: r, step: t).map { Int(frames.storage.counts[$0]) }.reduce(0, +) }
                .reduce(0, +)
        }.reduce(0, +)
        #expect(snnTorch.meanSteps == Double(steps) / Double(timed.count))
        #expect(snnTorch.events == events)
    }

    /// `--inputs` picks the path each case takes and says which it took; a wrong value is one line.
    @Test func inputsPicksThePathAndTheJSONSaysWhichItTook() throws {
        for path in [EngineTuning.Inputs.eventDriven, .dense] {
            let result = try CLIRunner.run(Self.quick + ["--inputs", path.rawValue, "--json"])
            #expect(result.status == 0, "\(result.stderr)")
            let report = try JSONDecoder().decode(BenchmarkReport.self, from: Data(result.stdout.utf8))
            #expect(report.cases.first?.inputPath == path.rawValue)
        }
        // The default on N-MNIST-like frames (1.1% dense) is the event-driven path.
        let automatic = try CLIRunner.run(Self.quick + ["--json"])
        let report = try JSONDecoder().decode(BenchmarkReport.self, from: Data(automatic.stdout.utf8))
        #expect(report.cases.first?.inputPath == EngineTuning.Inputs.eventDriven.rawValue)
        let wrong = try CLIRunner.run(Self.quick + ["--inputs", "sparse"])
        #expect(wrong.status != 0)
        #expect(wrong.stderr.contains("--inputs must be one of automatic, event-driven, dense, got 'sparse'"), "\(wrong.stderr)")
    }

    /// The JSON and the table say which kernels ran: AVX-512 by default where the CPU has it,
    /// AVX2 with `--no-avx512` (and on CPUs without AVX-512).
    @Test func theKernelsAreNamedAndNoAVX512PicksTheAVX2Ones() throws {
        for (flags, expected) in [([String](), SpikeEngine.cpuHasAVX512 ? "avx512" : "avx2"), (["--no-avx512"], "avx2")] {
            let result = try CLIRunner.run(Self.quick + flags + ["--json"])
            #expect(result.status == 0, "\(result.stderr)")
            let report = try JSONDecoder().decode(BenchmarkReport.self, from: Data(result.stdout.utf8))
            #expect(report.cases.first?.kernels == expected, "\(flags)")
        }
        let table = try CLIRunner.run(Self.quick + ["--no-avx512"])
        #expect(table.stdout.split(separator: "\n").contains { $0.hasPrefix("kernels: AVX2") }, "\(table.stdout)")
    }

    /// The JSON and the table say how dW1 was summed: by default directly at H = 100 where the
    /// AVX-512 kernels run (else through the index), through the index with `--weight-gradient
    /// indexed`; another value is a one-line error.
    @Test func theWeightGradientPathIsNamedAndTheFlagPicksIt() throws {
        let automatic = SpikeEngine.cpuHasAVX512 ? "direct" : "indexed"
        for (flags, expected) in [([String](), automatic), (["--no-avx512"], "indexed"),
                                  (["--weight-gradient", "indexed"], "indexed"),
                                  (["--weight-gradient", "direct"], "direct")] {
            let result = try CLIRunner.run(Self.quick + flags + ["--json"])
            #expect(result.status == 0, "\(result.stderr)")
            let report = try JSONDecoder().decode(BenchmarkReport.self, from: Data(result.stdout.utf8))
            #expect(report.cases.first?.weightGradient == expected, "\(flags)")
        }
        let table = try CLIRunner.run(Self.quick + ["--weight-gradient", "indexed"])
        #expect(table.stdout.split(separator: "\n").contains { $0.hasPrefix("dW1: indexed at H=100") }, "\(table.stdout)")
        let wrong = try CLIRunner.run(Self.quick + ["--weight-gradient", "sorted"])
        #expect(wrong.status != 0)
        #expect(wrong.stderr.contains("--weight-gradient must be one of automatic, indexed, direct, got 'sorted'"),
                "\(wrong.stderr)")
    }

    /// The automatic choice takes the dense path from the crossover measured for the kernels in
    /// use (the AVX-512 kernels make the event-driven path faster, so theirs is higher), unless
    /// the tuning names one.
    @Test func theAutomaticChoiceFollowsTheKernelsCrossover() {
        let t = EngineTuning()
        #expect(EngineTuning.measuredDenseCrossover(avx512: true) > EngineTuning.measuredDenseCrossover(avx512: false))
        #expect(t.automaticTakesDensePath(density: 0.8, avx512: false))
        #expect(!t.automaticTakesDensePath(density: 0.8, avx512: true))
        #expect(t.automaticTakesDensePath(density: 0.98, avx512: true))
        #expect(!t.automaticTakesDensePath(density: 0.011, avx512: false) && !t.automaticTakesDensePath(density: 0.011, avx512: true))
        #expect(!EngineTuning(denseCrossover: 0.9).automaticTakesDensePath(density: 0.8, avx512: false))
    }

    /// The density sweep measures both paths at every density, each case on the path it names,
    /// and the crossover lies between the densities where the faster path changes.
    @Test func theDensitySweepTimesBothPathsAndFindsWhereTheyCross() throws {
        var h = Hyperparameters()
        h.hidden = 64
        h.batchSize = 16
        let points = DensitySweep.run(densities: [0.01, 0.6], hyperparameters: h, threads: 1, steps: 20, count: 32,
                                      minSeconds: 0)
        #expect(points.map(\.density) == [0.01, 0.6])
        for p in points {
            #expect(p.eventDriven.inputPath == "event-driven" && p.dense.inputPath == "dense")
            #expect(p.eventDriven.recordingsPerSecond > 0 && p.dense.recordingsPerSecond > 0)
        }
        func point(_ density: Double, _ ratio: Double) -> DensitySweep.Point {
            var p = points[0]
            p.density = density
            p.dense.recordingsPerSecond = ratio * p.eventDriven.recordingsPerSecond
            return p
        }
        // Ratios 0.5 at 10% and 2 at 30%: the logarithm crosses zero halfway, at 20%.
        let crossover = try #require(DensitySweep.crossover([point(0.3, 2), point(0.1, 0.5), point(0.05, 0.2)]))
        #expect(abs(crossover - 0.2) < 1e-9)
        #expect(DensitySweep.crossover([point(0.1, 0.5), point(0.3, 0.9)]) == nil)
        #expect(DensitySweep.crossover([point(0.1, 1.5), point(0.3, 3)]) == nil)
    }
}
