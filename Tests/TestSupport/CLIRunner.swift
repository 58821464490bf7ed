import Foundation
import SpikeEvents
import SpikeSupport

/// Runs the built `spikesweep` executable, as a user would.
package enum CLIRunner {
    package typealias Result = Subprocess.Result

    /// The `spikesweep` binary next to the test bundle (SwiftPM builds it with the tests).
    package static var executable: URL { built("spikesweep") }

    /// `spikesweep-testtool`: the same command line with test doubles injected, chosen by
    /// `SPIKESWEEP_TEST_FAIL_CONFIGS` and `SPIKESWEEP_TEST_TOOL_VERSION` (see Tests/TestTool).
    package static var testTool: URL { built("spikesweep-testtool") }

    static func built(_ name: String) -> URL {
        var directory = Bundle.main.bundleURL
        for _ in 0..<3 {
            let candidate = directory.appendingPathComponent(name)
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            directory = directory.deletingLastPathComponent()
        }
        return URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent(name)
    }

    /// Runs `spikesweep args…` and waits for it.
    package static func run(_ arguments: [String], environment: [String: String] = [:],
                           currentDirectory: URL? = nil) throws -> Result {
        try run(executable: executable, arguments, environment: environment, currentDirectory: currentDirectory)
    }

    /// Runs any executable and waits for it.
    package static func run(executable: URL, _ arguments: [String], environment: [String: String] = [:],
                           currentDirectory: URL? = nil) throws -> Result {
        try Subprocess.run(executable, arguments, environment: environment, currentDirectory: currentDirectory)
    }
}
