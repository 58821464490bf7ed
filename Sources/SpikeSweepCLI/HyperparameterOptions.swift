import ArgumentParser
import Foundation
import SpikeNet
import SpikeSupport

/// The hyper-parameter flags (`--beta 0.9`, `--window-us=1000`, …): one per row of
/// `Hyperparameter.all`, whose flag, help, default and range they read, so a new parameter
/// gets its flag without an edit here. `helpText` lists them for a command's `--help`.
struct HyperparameterFlags: ParsableArguments {
    @Argument(parsing: .allUnrecognized, help: ArgumentHelp(visibility: .hidden))
    var words: [String] = []

    /// The values given on the command line; the first problem is a one-line error naming the flag.
    func values() throws -> [Hyperparameter: ParameterValue] {
        var values: [Hyperparameter: ParameterValue] = [:]
        var i = 0
        while i < words.count {
            let word = words[i]
            guard word.hasPrefix("--") else { throw ToolError("unexpected argument '\(word)'") }
            var name = String(word.dropFirst(2)), text: String?
            if let eq = name.firstIndex(of: "=") {
                text = String(name[name.index(after: eq)...])
                name = String(name[..<eq])
            }
            guard let parameter = Hyperparameter.flagged(name) else {
                let near = Spelling.nearest(to: name, among: Hyperparameter.all.map(\.flag))
                throw ToolError("unknown option '--\(name)'" + (near.map { " (did you mean '--\($0)'?)" } ?? "") + "; see --help")
            }
            if text == nil {
                guard i + 1 < words.count else { throw ToolError("--\(name) needs a value, e.g. --\(name) \(Self.firstExample(parameter))") }
                i += 1
                text = words[i]
            }
            values[parameter] = try parameter.parse(text!, name: "--\(parameter.flag)")
            i += 1
        }
        return values
    }

    /// The engine's defaults with the given flags applied.
    func hyperparameters() throws -> Hyperparameters {
        var h = Hyperparameters()
        for (parameter, value) in try values() { parameter.set(value, in: &h) }
        return h
    }

    static func firstExample(_ p: Hyperparameter) -> String {
        String(p.example.split(separator: ",").first ?? "").trimmingCharacters(in: CharacterSet(charactersIn: "\" "))
    }

    /// `--help` lines for every hyper-parameter flag: what it is, its range, its default, under
    /// `heading`.
    static func helpText(heading: String = "Hyper-parameters (flags of their own; the defaults are the study's):") -> String {
        let defaults = Hyperparameters()
        let width = Hyperparameter.all.map(\.flag.count).max() ?? 0
        return heading + "\n" + Hyperparameter.all.map { p in
            "  --" + p.flag.padding(toLength: width + 2, withPad: " ", startingAt: 0)
                + "\(p.help), \(p.allowed) (default \(p.value(in: defaults)))"
        }.joined(separator: "\n")
    }
}

/// How long and how a training command runs: not hyper-parameters of the study.
struct RunOptions: ParsableArguments {
    @Option(parsing: .unconditional, help: "Training epochs.")
    var epochs: Int = 15

    @Option(parsing: .unconditional, help: "Seed of the initialisation and shuffling (for --folds: the sweep seed).")
    var seed: UInt64 = 1

    @Option(parsing: .unconditional, help: "Threads (results do not depend on it).")
    var threads: Int = 1

    func validate() throws {
        guard epochs >= 1 else { throw ToolError("--epochs must be >= 1, got \(epochs)") }
        guard threads >= 1 else { throw ToolError("--threads must be >= 1, got \(threads)") }
    }
}
