import Foundation
import SpikeEvents
import SpikeSupport

/// What `collect` found in a results folder.
package struct CollectResult: Sendable {
    package var plan: SweepPlan
    /// One outcome per task that has a row, in plan order (`ok` wins over `failed`, a later
    /// row over an earlier one).
    package var outcomes: [TaskOutcome]
    package var leaderboard: Leaderboard
    /// Tasks without any row (in a halving sweep: of the rung it has reached).
    package var missing: [SweepTask]
    /// Tasks whose only rows are failures.
    package var failed: [SweepTask]
    /// Shards merged.
    package var shards: Int

    /// A halving sweep's rungs: which configurations entered each rung reached so far, and
    /// the rung it has reached (nil once the last one is done).
    package var rungs: RungProgress

    package var isComplete: Bool { missing.isEmpty && failed.isEmpty && rungs.isFinished }

    /// A halving sweep stands between two rungs: every rung so far is done and the next one has
    /// no result yet (its array job may start).
    package var isBetweenRungs: Bool {
        guard let r = rungs.current, r > 0 else { return false }
        return missing.count == rungs.currentTasks.count && failed.allSatisfy { $0.rung < r }
    }
}

/// Merges the shards of a Slurm array sweep (and any rows already in `folds.csv`) into
/// `folds.csv` and `epochs.csv`, and writes the leaderboards.
///
/// Runs under the folder's lock, so it never interleaves with a local or MPI run writing the
/// same folder; both files are replaced atomically, so a killed collect leaves the old ones.
/// Collecting twice gives the same files.
package enum Collector {
    package static func collect(directory: URL) throws -> CollectResult {
        let plan = try SweepPlan.load(resultsDirectory: directory)
        var result: CollectResult?
        try FolderLock.withOwnership(directory) {
            let all = try ResultsFiles.readAll(directory: directory)
            let latest = Leaderboard.latestOutcomes(all)
            let known = Set(plan.tasks.map(\.id))
            if let stray = latest.keys.first(where: { !known.contains($0) }) {
                throw ToolError("\(directory.path): task \(stray) is not part of this sweep's plan (results of another spec?)")
            }
            var folds = CSV.line(ResultsFiles.foldsHeader)
            var epochs = CSV.line(ResultsFiles.epochsHeader)
            var merged: [TaskOutcome] = [], failed: [SweepTask] = []
            let rungs = plan.progress(latest: latest)
            let missing = rungs.currentTasks.filter { latest[$0.id] == nil }
            for task in plan.tasks {
                guard let outcome = latest[task.id] else { continue }
                merged.append(outcome)
                if outcome.status != .ok { failed.append(task) }
                folds += ResultsFiles.foldRow(outcome, task: task)
                epochs += ResultsFiles.epochRows(outcome)
            }
            try AtomicFile.write(Array(epochs.utf8), to: directory.appendingPathComponent("epochs.csv").path)
            try AtomicFile.write(Array(folds.utf8), to: directory.appendingPathComponent("folds.csv").path)
            let board = Leaderboard(plan: plan, outcomes: merged)
            try AtomicFile.write(Array(board.csv.utf8), to: directory.appendingPathComponent("leaderboard.csv").path)
            try AtomicFile.write(Array(board.markdown.utf8), to: directory.appendingPathComponent("leaderboard.md").path)
            result = CollectResult(plan: plan, outcomes: merged, leaderboard: board, missing: missing, failed: failed,
                                   shards: ResultsFiles.shardElements(in: directory).count, rungs: rungs)
        }
        return result!
    }

    /// Array indices as Slurm writes them: `0-3,7,9-10`.
    package static func indexList(_ indices: [Int]) -> String {
        var parts: [String] = []
        var i = 0
        let sorted = Array(Set(indices)).sorted()
        while i < sorted.count {
            var j = i
            while j + 1 < sorted.count && sorted[j + 1] == sorted[j] + 1 { j += 1 }
            parts.append(i == j ? "\(sorted[i])" : "\(sorted[i])-\(sorted[j])")
            i = j + 1
        }
        return parts.joined(separator: ",")
    }
}
