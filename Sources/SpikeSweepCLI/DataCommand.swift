import ArgumentParser
import Foundation
import SpikeEvents
import SpikeSupport

struct DataCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "data",
        abstract: "Prepare, inspect and synthesise N-MNIST datasets.",
        discussion: """
            Sources: a native .bin recording, an extracted tree (Train/<digit>/*.bin), the \
            official Train.zip/Test.zip (read without extracting), a folder of .bs2 files with \
            a '#sample #class' label list, or a prepared .spk file.

            Typical use:
              spikesweep data prepare Train.zip -o data/nmnist-train.spk
              spikesweep data inspect data/nmnist-train.spk --window-us 2000
            """,
        subcommands: [Prepare.self, Inspect.self, Synth.self, Bench.self])
}

/// Options that select how frames are made from events.
struct FramingOptions: ParsableArguments {
    @Option(name: .customLong("window-us"), parsing: .unconditional, help: "Frame window in microseconds.")
    var windowMicros: Int = 2000

    @Option(name: .customLong("denoise-us"), parsing: .unconditional, help: "tonic Denoise filter time in microseconds.")
    var denoiseMicros: Int = 10_000

    @Flag(name: .customLong("no-denoise"), help: "Frame raw events, without denoising.")
    var noDenoise = false

    @Flag(name: .customLong("first-saccade"), help: "Keep only events in the first 100 ms (the first saccade).")
    var firstSaccade = false

    func validate() throws {
        guard windowMicros >= 1 else { throw ToolError("--window-us must be >= 1, got \(windowMicros)") }
        guard denoiseMicros >= 1 else { throw ToolError("--denoise-us must be >= 1, got \(denoiseMicros)") }
    }

    var framing: Framing.Options {
        Framing.Options(windowMicros: windowMicros, denoiseMicros: noDenoise ? nil : denoiseMicros, firstSaccadeOnly: firstSaccade)
    }
}

extension DataCommand {
    struct Prepare: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Pack a split into one prepared .spk file (events, labels, checksum).",
            discussion: "The file is written atomically: an interrupted run leaves no partial file.")

        @Argument(help: "The source: .zip, extracted tree, .bs2 folder, or a native .bin file.")
        var source: String

        @Option(name: .shortAndLong, help: "The prepared file to write (.spk).")
        var output: String

        @Option(help: "Label list for a .bs2 folder (default: the folder's only .txt file).")
        var labels: String?

        @Option(help: "Record the split as train or test (default: from the source's name).")
        var split: EventDataset.Split?

        @Flag(help: "No progress lines.")
        var quiet = false

        func run() throws {
            let started = Date()
            let detected = try DatasetSource.detect(source, labels: labels)
            let reporter = ConsoleReporter(quiet: quiet)
            var dataset = try detected.read { done, total in reporter.progress("prepare", done: done, total: total, unit: "recordings") }
            if let split { dataset.split = split }
            try PreparedFile.write(dataset, to: output)
            let size = (try? FileManager.default.attributesOfItem(atPath: output)[.size] as? Int) ?? 0
            let seconds = Date().timeIntervalSince(started)
            print("prepared \(dataset.count) recordings (\(dataset.times.count) events, split \(dataset.split.rawValue)) "
                + "in \(String(format: "%.2f", seconds)) s -> \(output) (\(size / 1024) KiB, fingerprint "
                + "\(String(PreparedFile.fingerprint(of: dataset), radix: 16)))")
        }
    }

    struct Inspect: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Recordings per class, events per recording (raw and denoised), duration, frames and input density.")

        @Argument(help: "A prepared .spk file or any source.")
        var source: String

        @Option(help: "Label list for a .bs2 folder.")
        var labels: String?

        @OptionGroup var framing: FramingOptions

        @Flag(help: "Print one JSON object instead of text.")
        var json = false

        func run() throws {
            let dataset = try DatasetSource.detect(source, labels: labels).read()
            let stats = DatasetStatistics(dataset: dataset, framing: framing.framing,
                                          threads: ProcessInfo.processInfo.activeProcessorCount)
            if json {
                try Console.json(stats)
            } else {
                print(stats.text)
            }
        }
    }
}

extension DataCommand {
    struct Bench: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Time loading a prepared file and denoise + framing per recording on one core.",
            discussion: """
                --compare-tonic PYTHON then times tonic's Denoise + ToFrame on the same recordings, with the same \
                window, denoise filter and repeats, on one core, with the given Python (which needs tonic and \
                numpy), and prints both and their ratio. tonic takes milliseconds per recording: \
                --recordings 200 keeps a comparison to about a minute.
                """)

        @Argument(help: "A prepared .spk file.")
        var file: String

        @OptionGroup var framing: FramingOptions

        @Option(parsing: .unconditional, help: "How many times to frame the recordings.")
        var repeats = 5

        @Option(parsing: .unconditional, help: "Use only the file's first N recordings (default: all).")
        var recordings: Int?

        @Option(name: .customLong("compare-tonic"),
                help: ArgumentHelp("Also time tonic on the same recordings with this Python.", valueName: "python"))
        var python: String?

        @Flag(help: "Print one JSON object instead of text.")
        var json = false

        func validate() throws {
            guard repeats >= 1 else { throw ToolError("--repeats must be >= 1, got \(repeats)") }
            if let recordings, recordings < 1 { throw ToolError("--recordings must be >= 1, got \(recordings)") }
        }

        func run() throws {
            let result = try PythonProgramError.naming(option: "--compare-tonic") {
                try PipelineBenchmark.run(preparedFile: file, framing: framing.framing, repeats: repeats, recordings: recordings,
                                          tonic: python.map { try TonicBaseline(python: $0) })
            }
            if json {
                try Console.json(result)
            } else {
                print(result.text)
            }
        }
    }
}

extension DataCommand {
    struct Synth: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Generate synthetic N-MNIST: procedural digits moved in three saccades before a simulated event sensor.",
            discussion: """
                Recording i depends only on (seed, i); labels are balanced. The output is chosen by -o:
                  FILE.spk   a prepared dataset
                  FILE.zip   an archive in the official layout (Train/<digit>/<n>.bin)
                  DIR        an extracted tree DIR/<Split>/<digit>/<n>.bin in the native format
                """)

        @Option(name: .shortAndLong, help: "FILE.spk, FILE.zip or a folder.")
        var output: String

        @Option(parsing: .unconditional, help: "Number of recordings.")
        var count = 1000

        @Option(parsing: .unconditional, help: "Seed; recording i is a function of (seed, i) only.")
        var seed: UInt64 = 1

        @Option(help: "Split name for trees and archives (train or test).")
        var split: EventDataset.Split = .train

        func validate() throws {
            guard count >= 1 else { throw ToolError("--count must be >= 1, got \(count)") }
        }

        func run() throws {
            let started = Date()
            let generator = SyntheticNMNIST(seed: seed)
            let folderName = split == .test ? "Test" : "Train"
            if output.hasSuffix(".spk") {
                let dataset = EventDataset(split: split, recordings: generator.recordings(count: count))
                try PreparedFile.write(dataset, to: output)
            } else if output.lowercased().hasSuffix(".zip") {
                var writer = ZipWriter()
                for (i, r) in generator.recordings(count: count).enumerated() {
                    writer.add(name: "\(folderName)/\(r.label)/\(String(format: "%05d", i)).bin", contents: NMNISTCodec.encode(r))
                }
                try AtomicFile.write(writer.finish(), to: output)
            } else {
                _ = try generator.writeNativeTree(count: count, to: URL(fileURLWithPath: output), split: folderName)
            }
            print("wrote \(count) synthetic recordings (seed \(seed)) to \(output) in \(String(format: "%.2f", Date().timeIntervalSince(started))) s")
        }
    }
}

extension EventDataset.Split: ExpressibleByArgument {}
