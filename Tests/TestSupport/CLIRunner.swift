import Foundation
import SpikeEvents

/// Runs the built `spikesweep` executable, as a user would.
public enum CLIRunner {
    public typealias Result = Subprocess.Result

    /// The `spikesweep` binary next to the test bundle (SwiftPM builds it with the tests).
    public static var executable: URL {
        var directory = Bundle.main.bundleURL
        for _ in 0..<3 {
            let candidate = directory.appendingPathComponent("spikesweep")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            directory = directory.deletingLastPathComponent()
        }
        let fallback = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("spikesweep")
        return fallback
    }

    /// Runs `spikesweep args…` and waits for it.
    public static func run(_ arguments: [String], environment: [String: String] = [:],
                           currentDirectory: URL? = nil) throws -> Result {
        try run(executable: executable, arguments, environment: environment, currentDirectory: currentDirectory)
    }

    /// Runs any executable and waits for it.
    public static func run(executable: URL, _ arguments: [String], environment: [String: String] = [:],
                           currentDirectory: URL? = nil) throws -> Result {
        try Subprocess.run(executable, arguments, environment: environment, currentDirectory: currentDirectory)
    }
}
