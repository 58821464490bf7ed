import ArgumentParser
import Foundation
import SpikeEvents
import SpikeNet
import SpikeSupport

extension SpikeSweep {
    struct Bench: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Measure the engine's training speed (recordings/s, ms per batch, memory per task).",
            discussion: """
                Without --hidden/--window-us it runs the study's configurations (H=800/2000 us, \
                H=800/1000 us, H=400/2000 us, H=100/2000 us); without --threads it runs 1 and 2 \
                threads. Frames come from --data (real recordings) or are synthetic (1.1% density, \
                ~150 steps at 2000 us). Loading and framing are not timed; a few warm-up batches \
                are run first. Every hyper-parameter flag (below) is accepted and used. Each case \
                runs in a process of its own, which reports the task's private memory without \
                the frames.

                --compare-snntorch PYTHON runs snnTorch's training loop right after each case, \
                on the same frames, batches, threads and hyper-parameters, with the given Python \
                (which needs torch, snntorch and numpy), and prints both rates and their ratio. \
                The machine's load moves such figures: --runs N measures every case N times, in \
                rounds (each round runs every case once, so the cases alternate), prints every \
                run and then each case's figures side by side with their median.

                --inputs picks the engine's input path (default automatic: the dense OpenBLAS \
                path where a batch's frames are at least \(Int((100 * EngineTuning.measuredDenseCrossover(avx512: false)).rounded()))% \
                dense, \(Int((100 * EngineTuning.measuredDenseCrossover(avx512: true)).rounded()))% with the AVX-512 kernels, \
                else event-driven). --density-sweep measures both paths on synthetic frames from 0.5% to \
                100% density (with --hidden, batch and --threads, default 2) and prints where they cross. \
                The engine picks its AVX-512 kernels where the CPU has them (same results); --no-avx512 \
                times the AVX2 ones instead. --weight-gradient picks how the event-driven path sums \
                dW1 (same results; default automatic: direct, without an index of the entries by \
                input, up to \(EngineTuning.directWeightGradientMaxTiles * NetworkShape.tileWidth) hidden neurons with the AVX-512 \
                kernels, else indexed).

                """ + "\n" + HyperparameterFlags.helpText(heading: """
                    Hyper-parameters (the flags of `train`; given --hidden or --window-us, it runs \
                    that configuration instead of the study's):
                    """))

        @Option(help: "Real recordings: a prepared .spk file or a raw source.")
        var data: String?

        @Option(help: "Label list for a .bs2 folder (default: its only .txt file).")
        var labels: String?

        @OptionGroup var hyperparameterFlags: HyperparameterFlags

        @Option(parsing: .unconditional, help: "Threads (default: 1 and 2).")
        var threads: Int?

        @Option(name: .customLong("min-seconds"), parsing: .unconditional, help: "Minimum timed seconds per configuration.")
        var minSeconds: Double = 3

        @Option(parsing: .unconditional, help: "Measure every case this many times, in alternating rounds.")
        var runs: Int = 1

        @Option(name: .customLong("compare-snntorch"), parsing: .unconditional,
                help: ArgumentHelp("Also time snnTorch on the same work with this Python.", valueName: "python"))
        var comparePython: String?

        @Option(help: ArgumentHelp("The engine's input path: automatic, event-driven or dense.", valueName: "path"))
        var inputs: String = EngineTuning.Inputs.automatic.rawValue

        @Flag(name: .customLong("no-avx512"),
              help: "Run the engine's AVX2 kernels even where the CPU has AVX-512 (to compare the two).")
        var noAVX512 = false

        @Option(name: .customLong("weight-gradient"),
                help: ArgumentHelp("How the event-driven path sums dW1: automatic, indexed or direct.", valueName: "path"))
        var weightGradient: String = EngineTuning.WeightGradient.automatic.rawValue

        @Flag(name: .customLong("density-sweep"), help: "Time the event-driven and the dense path across input densities.")
        var densitySweep = false

        @Flag(help: "Print one JSON object on stdout.")
        var json = false

        /// Set in the process `bench` starts per case: measure the one configuration the flags
        /// give, in this process, and print its `BenchmarkCase` as JSON.
        @Flag(name: .customLong("one-case"), help: ArgumentHelp(visibility: .private))
        var oneCase = false

        func validate() throws {
            _ = try hyperparameterFlags.values()
            if let threads, threads < 1 { throw ToolError("--threads must be >= 1, got \(threads)") }
            _ = try inputPath()
            _ = try weightGradientPath()
            if densitySweep && comparePython != nil { throw ToolError("--density-sweep and --compare-snntorch: use one at a time") }
            if runs < 1 { throw ToolError("--runs must be >= 1, got \(runs)") }
            if densitySweep && runs > 1 { throw ToolError("--density-sweep and --runs: use one at a time") }
        }

        /// `--inputs` as the engine's setting.
        private func inputPath() throws -> EngineTuning.Inputs {
            let path: EngineTuning.Inputs = try Self.choice(inputs, flag: "--inputs")
            if path == .dense, let reason = SpikeEngine.denseUnavailableReason {
                throw ToolError("--inputs dense: \(reason)")
            }
            return path
        }

        /// `--weight-gradient` as the engine's setting.
        private func weightGradientPath() throws -> EngineTuning.WeightGradient {
            try Self.choice(weightGradient, flag: "--weight-gradient")
        }

        /// The case of `E` spelled `text`, or an error naming `flag` and the choices.
        private static func choice<E: RawRepresentable & CaseIterable>(_ text: String, flag: String) throws -> E
        where E.RawValue == String {
            guard let value = E(rawValue: text) else {
                let choices = E.allCases.map(\.rawValue).joined(separator: ", ")
                throw ToolError("\(flag) must be one of \(choices), got '\(text)'")
            }
            return value
        }

        func run() throws {
            let given = try hyperparameterFlags.values()
            let h = try hyperparameterFlags.hyperparameters()
            if oneCase { return try measureOneCase(h) }
            if densitySweep { return try runDensitySweep(h) }
            let baseline = try PythonProgramError.naming(option: "--compare-snntorch") {
                try comparePython.map { try SnnTorchBaseline(python: $0) }
            }
            defer { baseline?.removeFiles() }
            let batchSize = h.batchSize, denoiseMicros = h.denoiseMicros
            var configurations = Benchmark.studyConfigurations
            if given.keys.contains(where: { $0.key == "hidden" || $0.key == "window_us" }) {
                configurations = [(h.hidden, h.windowMicros)]
            }
            let threadCounts = threads.map { [$0] } ?? [1, 2]
            let windows = Array(Set(configurations.map(\.1))).sorted(by: >)
            var frames: [Int: SpikeEvents.FrameSet] = [:]
            if let data {
                frames = try FrameLoading.load(path: data, labels: labels, windows: windows, denoiseMicros: denoiseMicros)
            } else {
                for w in windows { frames[w] = Benchmark.syntheticFrames(windowMicros: w) }
            }
            var cases: [BenchmarkCase] = []
            if !json {
                print("frames: \(data.map { "real, \($0)" } ?? "synthetic (1.1% density, ~150 steps at 2000 us)"), "
                      + "\(frames[windows[0]]!.count) recordings, batch \(batchSize)")
                print("hidden  window_us  threads  mean_T     rec/s  ms/batch  snnTorch rec/s  speed-up  rec/cpu-s  task_MB  time shares")
            }
            // Round by round, so that with --runs the cases alternate.
            let plan = (1...runs).flatMap { round in
                configurations.flatMap { configuration in threadCounts.map { (round, configuration.0, configuration.1, $0) } }
            }
            for (round, hidden, w, t) in plan {
                var c = try measureInOwnProcess(hidden: hidden, windowMicros: w, threads: t)
                c.run = runs > 1 ? round : nil
                if let baseline {
                    var configuration = h
                    configuration.hidden = hidden
                    let snnTorch = try PythonProgramError.naming(option: "--compare-snntorch") {
                        try baseline.measure(frames: frames[w]!, hyperparameters: configuration, alongside: c, minSeconds: minSeconds)
                    }
                    c.snnTorch = snnTorch
                    c.speedup = c.recordingsPerSecond / snnTorch.recordingsPerSecond
                }
                cases.append(c)
                if !json {
                    print(String(format: "%6d  %9d  %7d  %6.1f  %8.1f  %8.2f  ", hidden, w, t, c.meanSteps,
                                 c.recordingsPerSecond, c.millisecondsPerBatch)
                          + (c.snnTorch.map { String(format: "%.1f", $0.recordingsPerSecond) } ?? "-").leftPadded(14) + "  "
                          + (c.speedup.map { String(format: "%.1fx", $0) } ?? "-").leftPadded(8) + "  "
                          + String(format: "%9.1f  ", c.recordingsPerCPUSecond)
                          + (c.taskPrivateMegabytes.map { String(format: "%.1f", $0) } ?? "-").leftPadded(7) + "  "
                          + String(format: "fwd %.0f%% out %.0f%% bwd %.0f%% other %.0f%%",
                                   100 * c.timeShares["hidden_forward"]!, 100 * c.timeShares["output_layer"]!,
                                   100 * c.timeShares["hidden_backward"]!, 100 * c.timeShares["other"]!))
                    fflush(stdout)
                }
            }
            let report = BenchmarkReport(frames: data == nil ? "synthetic" : "real", source: data,
                                         recordings: frames[windows[0]]!.count, cases: cases,
                                         peakRSSMegabytes: cases.map(\.peakRSSMegabytes).reduce(ProcessClock.peakRSSMegabytes, max))
            if json { try Console.json(report) } else {
                if runs > 1 { printRuns(cases) }
                let framesMegabytes = windows.map { w in
                    String(format: "%.1f MB at %d us", cases.first { $0.windowMicros == w }?.framesMegabytes ?? 0, w)
                }
                print("task_MB: peak private memory of one training task (parameters, gradients, Adam moments, engine "
                      + "buffers), measured in a process of its own, without the frames (\(framesMegabytes.joined(separator: ", ")))")
                print(EngineTuning(avx512: !noAVX512).runsAVX512
                      ? "kernels: AVX-512 (this CPU has it; AVX2 elsewhere, chosen at run time)"
                      : SpikeEngine.cpuHasAVX512 ? "kernels: AVX2 (--no-avx512; this CPU has AVX-512)"
                      : "kernels: AVX2 (this CPU has no AVX-512)")
                let summing = Dictionary(cases.map { ($0.hidden, $0.weightGradient ?? "-") }, uniquingKeysWith: { a, _ in a })
                print("dW1: " + summing.keys.sorted().map { "\(summing[$0]!) at H=\($0)" }.joined(separator: ", ")
                      + " (direct: from each recording's steps; indexed: through an index of the group's entries by input)")
                for c in cases {
                    guard let snnTorch = c.snnTorch, snnTorch.sharedTheCPU else { continue }
                    print(String(format: "note: snnTorch had %.1f of its %d threads' CPU time at H=%d, %d us: other processes "
                                 + "were busy, so its rate and the speed-up are not an idle machine's; compare on an idle machine",
                                 snnTorch.recordingsPerSecond / snnTorch.recordingsPerCPUSecond, snnTorch.threads, c.hidden,
                                 c.windowMicros))
                }
                if let baseline {
                    print("snnTorch: \(baseline.pythonPath) (Python \(baseline.pythonVersion), torch \(baseline.torchVersion), "
                          + "snntorch \(baseline.snnTorchVersion)), right after each case on the same frames, batches, threads "
                          + "and hyper-parameters; dense padded batches built outside its timing")
                } else {
                    print("snnTorch: not compared (add --compare-snntorch PYTHON to time it in this run)")
                }
                print(String(format: "peak RSS %.1f MB", report.peakRSSMegabytes))
            }
        }

        /// `--runs N`: each case's N figures side by side (in the order measured) and their median.
        /// `cases` holds the rounds one after the other, each with the cases in the same order.
        private func printRuns(_ cases: [BenchmarkCase]) {
            func list(_ values: [Double], _ format: String) -> String {
                values.map { String(format: format, $0) }.joined(separator: " / ")
                    + " (median " + String(format: format, Benchmark.median(values)) + ")"
            }
            let perRound = cases.count / runs
            for first in 0..<perRound {
                let same = stride(from: first, to: cases.count, by: perRound).map { cases[$0] }
                let c = same[0]
                var line = "H=\(c.hidden), \(c.windowMicros) us, \(c.threads) thread\(c.threads == 1 ? "" : "s"), "
                    + "\(same.count) runs: rec/s " + list(same.map(\.recordingsPerSecond), "%.1f")
                let compared = same.compactMap(\.snnTorch)
                if compared.count == same.count {
                    line += "; snnTorch " + list(compared.map(\.recordingsPerSecond), "%.1f")
                        + "; speed-up " + list(same.compactMap(\.speedup), "%.1fx")
                }
                print(line)
            }
        }

        /// Runs this binary with `--one-case` for one configuration and reads the case it prints.
        private func measureInOwnProcess(hidden: Int, windowMicros: Int, threads: Int) throws -> BenchmarkCase {
            var arguments = ["bench", "--one-case", "--threads", "\(threads)", "--min-seconds", "\(minSeconds)",
                             "--inputs", inputs, "--weight-gradient", weightGradient]
            if noAVX512 { arguments.append("--no-avx512") }
            if let data { arguments += ["--data", data] }
            if let labels { arguments += ["--labels", labels] }
            arguments += hyperparameterFlags.words + ["--hidden", "\(hidden)", "--window-us", "\(windowMicros)"]
            let result = try Subprocess.run(URL(fileURLWithPath: SpikeSweep.executablePath), arguments)
            if result.status == 0, let c = try? JSONDecoder().decode(BenchmarkCase.self, from: Data(result.stdout.utf8)) {
                return c
            }
            var problem = OneLine.clean(result.stderr.isEmpty ? "exit status \(result.status)" : result.stderr)
            if problem.hasPrefix("Error: ") { problem.removeFirst("Error: ".count) }
            throw ToolError("bench: measuring H=\(hidden), \(windowMicros) us, \(threads) threads failed: \(problem)")
        }

        /// `--one-case`: loads the frames, measures, prints the case.
        private func measureOneCase(_ h: Hyperparameters) throws {
            let frames = try data.map {
                try FrameLoading.load(path: $0, labels: labels, windowMicros: h.windowMicros, denoiseMicros: h.denoiseMicros)
            } ?? Benchmark.syntheticFrames(windowMicros: h.windowMicros)
            try Console.json(Benchmark.measure(frames: frames, hyperparameters: h, threads: threads ?? 1, minSeconds: minSeconds,
                                               tuning: EngineTuning(inputs: try inputPath(), avx512: !noAVX512,
                                                                    weightGradient: try weightGradientPath()),
                                               measuresPrivateMemory: true))
        }

        /// `--density-sweep`: both paths across densities, the crossover, and the path the
        /// default (automatic) takes on the study's frames.
        private func runDensitySweep(_ h: Hyperparameters) throws {
            if let reason = SpikeEngine.denseUnavailableReason { throw ToolError("--density-sweep: \(reason)") }
            let t = threads ?? 2
            if !json {
                print("density sweep: H=\(h.hidden), batch \(h.batchSize), \(t) threads, 256 synthetic recordings of ~150 steps; "
                      + "OpenBLAS kernel \(SpikeEngine.denseKernelName)")
                print("density  event-driven rec/s  dense rec/s  dense/event  faster")
            }
            let points = DensitySweep.run(hyperparameters: h, threads: t, minSeconds: min(minSeconds, 2),
                                          avx512: !noAVX512) { p in
                guard !json else { return }
                print(String(format: "%6.1f%%  %18.1f  %11.1f  %11.3f  ", 100 * p.density, p.eventDriven.recordingsPerSecond,
                             p.dense.recordingsPerSecond, p.denseOverEventDriven)
                      + (p.denseOverEventDriven >= 1 ? "dense" : "event-driven"))
                fflush(stdout)
            }
            let crossover = DensitySweep.crossover(points)
            var studyDensities: [String: Double] = [:]
            if let data {
                for w in [2000, 1000] {
                    let frames = try FrameLoading.load(path: data, labels: labels, windowMicros: w, denoiseMicros: h.denoiseMicros)
                    studyDensities["\(w)"] = frames.density(inputs: NMNIST.inputCount)
                }
            }
            let tuning = EngineTuning(avx512: !noAVX512), avx512 = tuning.runsAVX512
            let automaticFrom = EngineTuning.measuredDenseCrossover(avx512: avx512)
            if json {
                try Console.json(DensitySweepReport(hidden: h.hidden, batchSize: h.batchSize, threads: t, points: points,
                                                    crossover: crossover, automaticFrom: automaticFrom,
                                                    studyFrameDensities: studyDensities))
                return
            }
            print("crossover: " + (crossover.map { String(format: "dense is faster from %.1f%% density", 100 * $0) }
                                   ?? String(format: "none in %g%%-%g%% (one path is faster everywhere)",
                                             100 * (points.first?.density ?? 0), 100 * (points.last?.density ?? 0)))
                  + String(format: "; the automatic choice takes the dense path from %.0f%%", 100 * automaticFrom)
                  + (avx512 ? " with the AVX-512 kernels" : " with the AVX2 loops"))
            for (w, d) in studyDensities.sorted(by: { $0.key > $1.key }) {
                let path = tuning.automaticTakesDensePath(density: d, avx512: avx512) ? "dense" : "event-driven"
                print(String(format: "study frames at %@ us (%@): %.2f%% dense, automatic takes the %@ path", w, data ?? "", 100 * d, path))
            }
        }
    }

    /// What `bench --density-sweep --json` prints.
    struct DensitySweepReport: Encodable {
        var hidden: Int
        var batchSize: Int
        var threads: Int
        var points: [DensitySweep.Point]
        var crossover: Double?
        var automaticFrom: Double
        /// Density of the given real frames per window (µs), when --data was given.
        var studyFrameDensities: [String: Double]
    }
}

extension String {
    func leftPadded(_ width: Int) -> String { count >= width ? self : String(repeating: " ", count: width - count) + self }
}
