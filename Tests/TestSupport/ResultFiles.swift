import Foundation

/// Results files read for comparisons, without the columns that differ between runs of the
/// same sweep (wall times, throughput, who ran a task).
package enum ResultFiles {
    /// CSV data rows (header dropped), fields split on commas (these files quote nothing here).
    package static func rows(_ url: URL) -> [[String]] {
        guard let text = try? String(contentsOf: url, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").dropFirst().map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
    }

    /// folds.csv rows without seconds, recordings_per_s and worker, sorted by task id.
    package static func folds(_ directory: URL) -> [String] {
        rows(directory.appendingPathComponent("folds.csv")).map { r in
            r.enumerated().filter { ![7, 8, 9].contains($0.offset) }.map(\.element).joined(separator: ",")
        }.sorted()
    }

    /// epochs.csv rows without seconds, sorted.
    package static func epochs(_ directory: URL) -> [String] {
        rows(directory.appendingPathComponent("epochs.csv")).map { $0.dropLast().joined(separator: ",") }.sorted()
    }

    /// leaderboard.csv (with header) without mean_train_seconds.
    package static func leaderboard(_ directory: URL) throws -> [String] {
        let text = try String(contentsOf: directory.appendingPathComponent("leaderboard.csv"), encoding: .utf8)
        return text.split(separator: "\n").map { line in
            var fields = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            fields.remove(at: 9)
            return fields.joined(separator: ",")
        }
    }

    /// Waits until `count` tasks of the sweep in `directory` have written a checkpoint (they
    /// are then mid-training), `running` turns false, or `timeout` passes.
    package static func waitForCheckpoint(in directory: URL, count: Int = 1, timeout: TimeInterval = 120,
                                         while running: () -> Bool = { true }) {
        let checkpoints = directory.appendingPathComponent("checkpoints")
        let deadline = Date().addingTimeInterval(timeout)
        while running() && Date() < deadline,
              ((try? FileManager.default.contentsOfDirectory(atPath: checkpoints.path)) ?? []).filter({ $0.hasSuffix(".ckpt") }).count < count {
            usleep(20_000)
        }
    }
}
