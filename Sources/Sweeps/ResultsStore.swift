import Foundation
import SpikeEvents
import SpikeNet
import SpikeSupport

/// `results/<sweep>/`: the resolved spec, a manifest, `folds.csv` and `epochs.csv` appended
/// and fsynced row by row as tasks finish, and the leaderboards.
///
/// One writer owns a folder's own files at a time (see `FolderLock`). Re-opening a folder
/// skips the tasks that `RerunPolicy` says are done, counting every row of the folder
/// (`folds.csv` and every shard); a folder that holds a different spec or dataset is refused
/// unless `fresh`, which moves it aside.
///
/// A Slurm array element opens the folder as a *shard*: its rows go to
/// `shards/element-<i>.folds.csv` and `.epochs.csv`, so elements never share a file; `collect`
/// merges the shards into `folds.csv`.
package final class ResultsStore: ResultsSink, @unchecked Sendable {
    package let directory: URL
    package let plan: SweepPlan
    /// The array element whose shard this store writes, or nil for the folder's own files.
    package let shard: Int?
    private let folderLock: FolderLock
    private let lock = NSLock()
    /// Every row of the folder when it was opened, then every row this store recorded.
    private var outcomes: [TaskOutcome] = []
    /// The outcome that counts per task (`Leaderboard.latestOutcomes`' rule), kept up to date.
    private var latest: [String: TaskOutcome] = [:]
    /// The highest attempt recorded per task. Each row carries its attempt, and `collect` copies
    /// shard rows into `folds.csv`, so the same attempt may be read from two files: counting
    /// rows would count it twice.
    private var attempts: [String: Int] = [:]
    /// This store's two files, opened on the first row, and their background fsync.
    private var files: (epochs: AppendFile, folds: AppendFile)?
    private let syncer = BackgroundSync()

    private var foldsFile: String { shard.map { ResultsFiles.shardFiles(element: $0).folds } ?? "folds.csv" }
    private var epochsFile: String { shard.map { ResultsFiles.shardFiles(element: $0).epochs } ?? "epochs.csv" }

    package struct Manifest: Codable, Sendable, Equatable {
        package var name: String
        package var specHash: String
        package var datasetFingerprint: String
        package var toolVersion: String
        package var configurations: Int
        package var folds: Int
        package var epochs: Int
        package var tasks: Int
        package var created: String
    }

    /// Opens (or creates) the results folder for `plan`.
    /// - Parameters:
    ///   - directory: `results/<name>`.
    ///   - fresh: move an existing folder with a different spec aside (to `<name>.replaced-<time>`) instead of refusing.
    ///   - shard: write array element `shard`'s files (never moves anything aside).
    ///   - reporter: told where `fresh` moved old results.
    package init(directory: URL, plan: SweepPlan, fresh: Bool = false, shard: Int? = nil,
                 reporter: Reporter = SilentReporter()) throws {
        self.directory = directory
        self.plan = plan
        self.shard = shard
        let fm = FileManager.default
        let manifestURL = directory.appendingPathComponent("manifest.json")
        let expected = Manifest(name: plan.spec.name, specHash: plan.spec.resultHash,
                                datasetFingerprint: String(plan.datasetFingerprint, radix: 16), toolVersion: ToolVersion.string,
                                configurations: plan.configurations.count, folds: plan.spec.folds, epochs: plan.spec.epochs,
                                tasks: plan.tasks.count, created: ISO8601DateFormatter().string(from: Date()))
        if fm.fileExists(atPath: manifestURL.path) {
            let existing = try Self.readManifest(manifestURL)
            let mismatch: String? =
                existing.specHash != expected.specHash ? "a different spec (hash \(existing.specHash), this spec \(expected.specHash))"
                : existing.datasetFingerprint != expected.datasetFingerprint
                    ? "results for other data (fingerprint \(existing.datasetFingerprint), this data \(expected.datasetFingerprint))"
                    : nil
            if let mismatch {
                guard fresh, shard == nil else {
                    throw ToolError("\(directory.path) holds \(mismatch); re-run with --fresh to move those results aside, or give the sweep a new name")
                }
                try FolderLock.withOwnership(directory) {
                    let stamp = ISO8601DateFormatter().string(from: Date()).replacingOccurrences(of: ":", with: "")
                    let aside = FileSystem.unusedName(directory.deletingLastPathComponent()
                        .appendingPathComponent("\(directory.lastPathComponent).replaced-\(stamp)").path)
                    try FileSystem.move(directory.path, to: aside)
                    reporter.warn("moved the previous results aside to \(aside)")
                }
            }
        }
        try FileSystem.createDirectory(directory.path)
        if shard != nil { try FileSystem.createDirectory(directory.appendingPathComponent("shards").path) }
        folderLock = try FolderLock(directory, role: shard.map { .element($0) } ?? .owner)
        if !fm.fileExists(atPath: manifestURL.path) {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            encoder.keyEncodingStrategy = .convertToSnakeCase
            try AtomicFile.write(Array(try encoder.encode(expected)) + [10], to: manifestURL.path)
            try AtomicFile.write(Array(plan.spec.canonicalYAML.utf8), to: directory.appendingPathComponent("spec.yaml").path)
        }
        try ResultsFiles.upgrade(directory.appendingPathComponent(foldsFile))
        outcomes = try ResultsFiles.readAll(directory: directory)
        latest = Leaderboard.latestOutcomes(outcomes)
        for o in outcomes { attempts[o.taskID] = max(attempts[o.taskID] ?? 0, o.attempt) }
    }

    static func readManifest(_ url: URL) throws -> Manifest {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw FileError(path: url.path, "cannot read the manifest")
        }
        do { return try decoder.decode(Manifest.self, from: data) } catch {
            throw FileError(path: url.path, "unreadable manifest (not the JSON spikesweep writes)")
        }
    }

    // MARK: - Rows

    /// Every row of the folder (all files, in file order) and those recorded since it was opened.
    package var recordedOutcomes: [TaskOutcome] {
        lock.lock(); defer { lock.unlock() }
        return outcomes
    }

    /// The outcome that counts for each task with a row.
    package var latestOutcomes: [String: TaskOutcome] {
        lock.lock(); defer { lock.unlock() }
        return latest
    }

    /// Ids of tasks that have a result row (ok or failed).
    package var finishedTaskIDs: Set<String> { Set(latestOutcomes.keys) }

    /// Appends a task's epochs and its fold row, epochs first: a crash between the two re-runs
    /// the task, and the duplicate epoch rows are dropped on reading. The rows are written at
    /// once (a killed process loses none) and fsynced in the background within milliseconds,
    /// epochs before folds (`BackgroundSync`); `finish` waits for it. The row records which
    /// attempt at the task it is.
    /// - Throws: `FileError` when a row cannot be written (then no partial row is left), or
    ///   when an earlier fsync failed.
    package func record(_ outcome: TaskOutcome, task: SweepTask) throws {
        guard outcome.status.isResult else {
            throw ToolError("task \(outcome.taskID) has no result to record (\(outcome.status.rawValue))")
        }
        lock.lock(); defer { lock.unlock() }
        try syncer.check()
        if files == nil {
            files = (try AppendFile(path: directory.appendingPathComponent(epochsFile).path, header: ResultsFiles.epochsHeader),
                     try AppendFile(path: directory.appendingPathComponent(foldsFile).path, header: ResultsFiles.foldsHeader))
        }
        var row = outcome
        row.attempt = (attempts[task.id] ?? 0) + 1
        let epochLines = ResultsFiles.epochRows(row)
        if !epochLines.isEmpty { try files!.epochs.append(epochLines) }
        try files!.folds.append(ResultsFiles.foldRow(row, task: task))
        syncer.dirty([files!.epochs, files!.folds])
        // Keep what a reader of the files gets, so that a leaderboard written now equals one
        // computed later from the files.
        let stored = ResultsFiles.asWritten(row)
        outcomes.append(stored)
        attempts[task.id] = row.attempt
        if Leaderboard.counts(stored, over: latest[task.id]) { latest[task.id] = stored }
    }

    /// Waits until every row recorded so far is on disk.
    /// - Throws: `FileError` when an fsync failed.
    package func finish() throws {
        try syncer.finish()
    }

    deinit { try? syncer.finish() }

    // MARK: - Leaderboards

    /// The leaderboard of what is recorded so far.
    package var leaderboard: Leaderboard { Leaderboard(plan: plan, outcomes: Array(latestOutcomes.values)) }

    /// Writes `leaderboard.csv` and `leaderboard.md` atomically.
    @discardableResult
    package func writeLeaderboards() throws -> Leaderboard {
        let board = leaderboard
        try AtomicFile.write(Array(board.csv.utf8), to: directory.appendingPathComponent("leaderboard.csv").path)
        try AtomicFile.write(Array(board.markdown.utf8), to: directory.appendingPathComponent("leaderboard.md").path)
        return board
    }
}
