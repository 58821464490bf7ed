import Foundation
import SpikeEvents
import SpikeNet
import SpikeSupport

/// `results/<sweep>/`: the resolved spec, a manifest, `folds.csv` and `epochs.csv` appended
/// and fsynced row by row as tasks finish, and the leaderboards.
///
/// One process owns a folder at a time (an exclusive `flock` on `.lock`, released by the
/// kernel even on `kill -9`). Re-opening a folder skips finished task ids; a folder that
/// holds a different spec or dataset is refused unless `fresh`, which moves it aside.
///
/// A Slurm array element opens the folder as a *shard*: its rows go to
/// `shards/element-<i>.folds.csv` and `.epochs.csv` under its own lock, so elements never
/// share a file; `collect` merges the shards into `folds.csv`.
package final class ResultsStore: ResultsSink, @unchecked Sendable {
    package let directory: URL
    package let plan: SweepPlan
    /// The array element whose shard this store writes, or nil for the folder's own files.
    package let shard: Int?
    private var lockDescriptor: Int32 = -1
    private let lock = NSLock()
    private var outcomes: [TaskOutcome] = []
    /// Tasks with an `ok` row in `folds.csv` or another shard when a shard was opened.
    private var completedElsewhere: Set<String> = []

    /// The shard files of array element `element`, relative to the results folder.
    package static func shardFiles(element: Int) -> (folds: String, epochs: String) {
        ("shards/element-\(element).folds.csv", "shards/element-\(element).epochs.csv")
    }

    /// The array elements that have a shard in `directory`, in element order.
    package static func shardElements(in directory: URL) -> [Int] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.appendingPathComponent("shards").path)) ?? []
        return names.compactMap { name -> Int? in
            guard name.hasPrefix("element-"), name.hasSuffix(".folds.csv") else { return nil }
            return Int(name.dropFirst("element-".count).dropLast(".folds.csv".count))
        }.sorted()
    }

    /// Every row of the folder: `folds.csv`, then each shard in element order (but the
    /// shard of `excludedElement`).
    package static func readAllOutcomes(directory: URL, excluding excludedElement: Int? = nil) throws -> [TaskOutcome] {
        var all = try readOutcomes(directory: directory)
        for element in shardElements(in: directory) where element != excludedElement {
            let files = shardFiles(element: element)
            all += try readOutcomes(directory: directory, folds: files.folds, epochs: files.epochs)
        }
        return all
    }

    private var foldsFile: String { shard.map { Self.shardFiles(element: $0).folds } ?? "folds.csv" }
    private var epochsFile: String { shard.map { Self.shardFiles(element: $0).epochs } ?? "epochs.csv" }

    package static let foldsHeader = ["task_id", "config_id", "fold", "status", "val_accuracy", "train_accuracy",
                                     "train_loss", "seconds", "recordings_per_s", "worker"]
        + Hyperparameter.all.map(\.key) + ["error"]
    package static let epochsHeader = ["task_id", "config_id", "fold", "epoch", "train_loss", "train_accuracy",
                                      "val_accuracy", "seconds"]

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
                try Self.withLock(directory) {
                    let stamp = ISO8601DateFormatter().string(from: Date()).replacingOccurrences(of: ":", with: "")
                    let aside = directory.deletingLastPathComponent().appendingPathComponent("\(directory.lastPathComponent).replaced-\(stamp)")
                    try fm.moveItem(at: directory, to: aside)
                    reporter.warn("moved the previous results aside to \(aside.path)")
                }
            }
        }
        do { try fm.createDirectory(at: directory, withIntermediateDirectories: true) } catch {
            throw ToolError("cannot create \(directory.path): \(error.localizedDescription)")
        }
        if shard != nil {
            do { try fm.createDirectory(at: directory.appendingPathComponent("shards"), withIntermediateDirectories: true) } catch {
                throw ToolError("cannot create \(directory.path)/shards: \(error.localizedDescription)")
            }
        }
        lockDescriptor = try Self.acquireLock(directory, file: shard.map { "shards/.element-\($0).lock" } ?? ".lock")
        if !fm.fileExists(atPath: manifestURL.path) {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            encoder.keyEncodingStrategy = .convertToSnakeCase
            try AtomicFile.write(Array(try encoder.encode(expected)) + [10], to: manifestURL.path)
            try AtomicFile.write(Array(plan.spec.canonicalYAML.utf8), to: directory.appendingPathComponent("spec.yaml").path)
        }
        outcomes = try Self.readOutcomes(directory: directory, folds: foldsFile, epochs: epochsFile)
        if shard != nil {
            completedElsewhere = Set(try Self.readAllOutcomes(directory: directory, excluding: shard)
                .filter { $0.status == .ok }.map(\.taskID))
        }
    }

    deinit {
        if lockDescriptor >= 0 { close(lockDescriptor) }
    }

    static func readManifest(_ url: URL) throws -> Manifest {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        do { return try decoder.decode(Manifest.self, from: Data(contentsOf: url)) } catch {
            throw ToolError("\(url.path): unreadable manifest (\(error.localizedDescription))")
        }
    }

    static func acquireLock(_ directory: URL, file: String = ".lock") throws -> Int32 {
        let path = directory.appendingPathComponent(file).path
        let fd = open(path, O_RDWR | O_CREAT, 0o644)
        guard fd >= 0 else { throw ToolError("cannot open \(path): \(String(cString: strerror(errno)))") }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            var buffer = [UInt8](repeating: 0, count: 64)
            let n = pread(fd, &buffer, 63, 0)
            close(fd)
            let owner = n > 0 ? String(decoding: buffer.prefix(n), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) : "?"
            let what = file == ".lock" ? directory.path : "\(directory.path) (\(file))"
            throw ToolError("\(what) is in use by another spikesweep run (\(owner)); wait for it to finish or stop it first")
        }
        let owner = Array("pid \(getpid()) on \(ProcessInfo.processInfo.hostName)\n".utf8)
        _ = ftruncate(fd, 0)
        _ = pwrite(fd, owner, owner.count, 0)
        return fd
    }

    static func withLock(_ directory: URL, _ body: () throws -> Void) throws {
        let fd = try acquireLock(directory)
        defer { close(fd) }
        try body()
    }

    // MARK: - Rows

    /// Outcomes recorded so far (all rows, in file order).
    package var recordedOutcomes: [TaskOutcome] {
        lock.lock(); defer { lock.unlock() }
        return outcomes
    }

    /// Ids of tasks that already have a row (ok or failed).
    package var finishedTaskIDs: Set<String> {
        Set(recordedOutcomes.map(\.taskID))
    }

    /// Tasks a run of this store skips: every recorded task for the folder's own files; for a
    /// shard, the tasks with an `ok` row in any shard or in `folds.csv` (a resubmitted
    /// element retries its failed tasks and never repeats another element's work).
    package var skippedTaskIDs: Set<String> {
        guard shard != nil else { return finishedTaskIDs }
        return completedElsewhere.union(recordedOutcomes.filter { $0.status == .ok }.map(\.taskID))
    }

    /// Appends a task's epochs and its fold row, each fsynced, epochs first: a crash between
    /// the two re-runs the task, and the duplicate epoch rows are dropped on reading.
    package func record(_ outcome: TaskOutcome, task: SweepTask) throws {
        guard outcome.status != .interrupted else {
            throw ToolError("task \(outcome.taskID) was interrupted and has no result to record")
        }
        lock.lock(); defer { lock.unlock() }
        let epochLines = Self.epochRows(outcome)
        if !epochLines.isEmpty {
            try Self.append(epochLines, to: directory.appendingPathComponent(epochsFile), header: Self.epochsHeader)
        }
        try Self.append(Self.foldRow(outcome, task: task), to: directory.appendingPathComponent(foldsFile), header: Self.foldsHeader)
        // Keep what a reader of the files gets (times are written rounded), so that a
        // leaderboard written now equals one computed later from the files.
        var stored = outcome
        stored.seconds = Double(Self.seconds(outcome.seconds)) ?? outcome.seconds
        stored.recordingsPerSecond = Double(Self.rate(outcome.recordingsPerSecond)) ?? outcome.recordingsPerSecond
        for i in stored.epochs.indices {
            stored.epochs[i].seconds = Double(Self.seconds(stored.epochs[i].seconds)) ?? stored.epochs[i].seconds
        }
        outcomes.append(stored)
    }

    /// How wall times and throughput are written (and so what a reader gets back).
    static func seconds(_ value: Double) -> String { String(format: "%.3f", value) }
    static func rate(_ value: Double) -> String { String(format: "%.1f", value) }

    static func epochRows(_ outcome: TaskOutcome) -> String {
        var lines = ""
        for e in outcome.epochs {
            lines += CSV.line([outcome.taskID, outcome.configID, String(outcome.fold), String(e.epoch),
                               "\(e.trainLoss)", "\(e.trainAccuracy)", "\(e.validationAccuracy)", seconds(e.seconds)])
        }
        return lines
    }

    static func foldRow(_ o: TaskOutcome, task: SweepTask) -> String {
        func opt(_ v: Double?) -> String { v.map { "\($0)" } ?? "" }
        return CSV.line([o.taskID, o.configID, String(o.fold), o.status.rawValue, opt(o.validationAccuracy),
                         opt(o.trainAccuracy), opt(o.trainLoss), seconds(o.seconds), rate(o.recordingsPerSecond), o.worker]
                        + Hyperparameter.all.map { $0.value(in: task.hyperparameters).description }
                        + [o.error ?? ""])
    }

    /// Appends text to a CSV file (writing the header first when the file is new), dropping a
    /// partial last line left by a crash, and fsyncs.
    static func append(_ text: String, to url: URL, header: [String]) throws {
        let path = url.path
        let fd = open(path, O_RDWR | O_CREAT, 0o644)
        guard fd >= 0 else { throw ToolError("cannot open \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var size = lseek(fd, 0, SEEK_END)
        if size > 0 {
            // Cut back to the last complete line.
            var last: UInt8 = 0
            _ = pread(fd, &last, 1, size - 1)
            if last != 10 {
                let chunk = Int(min(size, 1 << 16))
                var buffer = [UInt8](repeating: 0, count: chunk)
                _ = pread(fd, &buffer, chunk, size - off_t(chunk))
                let keep = buffer.lastIndex(of: 10).map { size - off_t(chunk) + off_t($0) + 1 } ?? 0
                guard ftruncate(fd, keep) == 0 else { throw ToolError("cannot repair \(path): \(String(cString: strerror(errno)))") }
                size = keep
            }
        }
        var bytes = Array(text.utf8)
        if size == 0 { bytes = Array(CSV.line(header).utf8) + bytes }
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, size + off_t(offset)) }
            guard n > 0 else { throw ToolError("cannot write \(path): \(String(cString: strerror(errno)))") }
            offset += n
        }
        guard fsync(fd) == 0 else { throw ToolError("cannot sync \(path): \(String(cString: strerror(errno)))") }
    }

    /// Reads `folds.csv` and `epochs.csv` of a folder (or a shard pair) into outcomes.
    package static func readOutcomes(directory: URL, folds: String = "folds.csv", epochs: String = "epochs.csv") throws -> [TaskOutcome] {
        let foldsURL = directory.appendingPathComponent(folds)
        guard let foldsText = try? String(contentsOf: foldsURL, encoding: .utf8) else { return [] }
        var epochsByTask: [String: [Int: EpochRecord]] = [:]
        if let epochsText = try? String(contentsOf: directory.appendingPathComponent(epochs), encoding: .utf8) {
            for r in CSV.parse(epochsText).records.dropFirst() where r.count == epochsHeader.count {
                guard let epoch = Int(r[3]), let loss = Double(r[4]), let train = Double(r[5]), let val = Double(r[6]),
                      let seconds = Double(r[7]) else { continue }
                epochsByTask[r[0], default: [:]][epoch] = EpochRecord(epoch: epoch, trainLoss: loss, trainAccuracy: train,
                                                                      validationAccuracy: val, seconds: seconds)
            }
        }
        let parsed = CSV.parse(foldsText)
        guard let header = parsed.records.first else { return [] }
        guard header == foldsHeader else {
            throw ToolError("\(foldsURL.path): line 1: unexpected header (written by another version?)")
        }
        var outcomes: [TaskOutcome] = []
        for (i, r) in parsed.records.dropFirst().enumerated() {
            guard r.count == foldsHeader.count, let fold = Int(r[2]), let status = TaskOutcome.Status(rawValue: r[3]),
                  let seconds = Double(r[7]), let rate = Double(r[8]) else {
                throw ToolError("\(foldsURL.path): line \(i + 2): malformed row")
            }
            let epochs = (epochsByTask[r[0]] ?? [:]).sorted { $0.key < $1.key }.map(\.value)
            outcomes.append(TaskOutcome(taskID: r[0], configID: r[1], fold: fold, status: status,
                                        validationAccuracy: Double(r[4]), trainAccuracy: Double(r[5]), trainLoss: Double(r[6]),
                                        epochs: status == .ok ? epochs : [], seconds: seconds, recordingsPerSecond: rate,
                                        worker: r[9], error: r[r.count - 1].isEmpty ? nil : r[r.count - 1]))
        }
        return outcomes
    }

    // MARK: - Leaderboards

    /// The leaderboard of what is recorded so far.
    package var leaderboard: Leaderboard { Leaderboard(plan: plan, outcomes: recordedOutcomes) }

    /// Writes `leaderboard.csv` and `leaderboard.md` atomically.
    @discardableResult
    package func writeLeaderboards() throws -> Leaderboard {
        let board = leaderboard
        try AtomicFile.write(Array(board.csv.utf8), to: directory.appendingPathComponent("leaderboard.csv").path)
        try AtomicFile.write(Array(board.markdown.utf8), to: directory.appendingPathComponent("leaderboard.md").path)
        return board
    }
}
