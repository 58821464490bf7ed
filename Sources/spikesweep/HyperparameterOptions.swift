import ArgumentParser
import Foundation
import SpikeNet

/// The flags every training command shares; checked in `validate()`.
struct HyperparameterOptions: ParsableArguments {
    @Option(help: "Hidden layer size H (>= 1).")
    var hidden: Int = 800

    @Option(help: "Membrane decay beta, in (0, 1].")
    var beta: Double = 0.9

    @Option(name: .customLong("window-us"), help: "Frame window in microseconds (>= 1).")
    var windowMicros: Int = 2000

    @Option(name: .customLong("denoise-us"), help: "tonic Denoise filter time in microseconds, or 'none'.")
    var denoise: String = "10000"

    @Option(help: "mse_count_loss target ratio correct/incorrect, each in [0, 1].")
    var ratio: String = "0.8/0.2"

    @Option(name: .customLong("batch-size"), help: "Batch size (>= 1).")
    var batchSize: Int = 128

    @Option(help: "Adam learning rate.")
    var lr: Double = 5e-3

    @Option(help: "L2 coefficient on the two weight matrices.")
    var l2: Double = 1e-5

    @Option(help: "Training epochs.")
    var epochs: Int = 15

    @Option(help: "Seed of the initialisation and shuffling.")
    var seed: UInt64 = 1

    @Option(help: "Threads per batch (results do not depend on it).")
    var threads: Int = 1

    func validate() throws {
        _ = try hyperparameters()
        guard epochs >= 0 else { throw CommandFailure("--epochs must be >= 0, got \(epochs)") }
        guard threads >= 1 else { throw CommandFailure("--threads must be >= 1, got \(threads)") }
    }

    func hyperparameters() throws -> Hyperparameters {
        var h = Hyperparameters()
        h.hidden = hidden
        h.beta = beta
        h.windowMicros = windowMicros
        if denoise == "none" { h.denoiseMicros = nil } else {
            guard let d = Int(denoise) else { throw CommandFailure("--denoise-us must be an integer or 'none', got \(denoise)") }
            h.denoiseMicros = d
        }
        guard let r = TargetRatio(ratio) else { throw CommandFailure("--ratio must look like 0.8/0.2, got \(ratio)") }
        h.targetRatio = r
        h.batchSize = batchSize
        h.learningRate = lr
        h.l2 = l2
        do { try h.validate() } catch { throw CommandFailure("invalid hyper-parameter: \(error)") }
        return h
    }
}

/// A one-line error for stderr (ArgumentParser prints "Error: <description>" and exits 1,
/// without the usage block it adds to `ValidationError`).
struct CommandFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
    init(_ error: Error) { self.description = "\(error)" }
}

/// Runs `body`, turning any error into a one-line `CommandFailure`.
func failingInOneLine<T>(_ body: () throws -> T) throws -> T {
    do { return try body() } catch let e as CommandFailure { throw e } catch {
        throw CommandFailure("\(error)".split(separator: "\n").joined(separator: " "))
    }
}

/// Prints to stderr.
func printError(_ text: String) {
    var stderr = StandardError()
    print(text, to: &stderr)
}

struct StandardError: TextOutputStream {
    mutating func write(_ string: String) {
        FileHandle.standardError.write(string.data(using: .utf8)!)
    }
}
