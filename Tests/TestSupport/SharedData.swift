import Foundation

/// Locations of the shared material beside the project (`../shared`), for tests.
package enum SharedData {
    /// The package root (this file lives in Tests/TestSupport).
    package static let packageRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// `../shared` (or `$SPIKESWEEP_SHARED`).
    package static var sharedRoot: URL {
        if let env = ProcessInfo.processInfo.environment["SPIKESWEEP_SHARED"], !env.isEmpty {
            return URL(fileURLWithPath: env)
        }
        return packageRoot.deletingLastPathComponent().appendingPathComponent("shared")
    }

    /// The fixtures folder, or nil when absent.
    package static func fixture(_ name: String) -> URL? {
        let url = sharedRoot.appendingPathComponent("fixtures").appendingPathComponent(name)
        return FileManager.default.fileExists(atPath: url.path) ? url : nil
    }

    /// The 1000 real N-MNIST recordings (`$SPIKESWEEP_NMNIST_SMALL` or `../shared/data/nmnist-small`),
    /// or nil when absent, so that tests can skip with a message.
    package static var nmnistSmall: URL? {
        let url: URL
        if let env = ProcessInfo.processInfo.environment["SPIKESWEEP_NMNIST_SMALL"], !env.isEmpty {
            url = URL(fileURLWithPath: env)
        } else {
            url = sharedRoot.appendingPathComponent("data/nmnist-small")
        }
        return FileManager.default.fileExists(atPath: url.appendingPathComponent("train1K.txt").path) ? url : nil
    }

    /// Printed by tests that skip for lack of the real recordings.
    package static let skipMessage = "skipped: real N-MNIST subset not found (set SPIKESWEEP_NMNIST_SMALL or provide ../shared/data/nmnist-small)"

    /// A fresh temporary directory, removed by the caller when done.
    package static func makeTemporaryDirectory(_ prefix: String = "spikesweep-test") throws -> URL {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("\(prefix)-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}
