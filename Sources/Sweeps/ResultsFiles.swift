import Foundation
import SpikeNet
import SpikeSupport

/// The CSV files of a results folder: `folds.csv` (one row per recorded task outcome) and
/// `epochs.csv` (one row per task and epoch), and each array element's pair under `shards/`.
/// How they are written, appended (crash-safe) and read back (strictly: a malformed value is
/// an error naming the file, line and column).
package enum ResultsFiles {
    package static let foldsHeader = ["task_id", "config_id", "fold", "status", "val_accuracy", "train_accuracy",
                                      "train_loss", "seconds", "recordings_per_s", "worker"]
        + Hyperparameter.all.map(\.key) + ["error", "attempt"]
    /// `folds.csv` as written before the attempt column (read as attempt 1).
    package static let legacyFoldsHeader = Array(foldsHeader.dropLast())
    package static let epochsHeader = ["task_id", "config_id", "fold", "epoch", "train_loss", "train_accuracy",
                                       "val_accuracy", "seconds"]

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

    /// Every row of the folder: `folds.csv`, then each shard in element order.
    package static func readAll(directory: URL) throws -> [TaskOutcome] {
        var all = try read(directory: directory)
        for element in shardElements(in: directory) {
            let files = shardFiles(element: element)
            all += try read(directory: directory, folds: files.folds, epochs: files.epochs)
        }
        return all
    }

    // MARK: - Writing

    /// How wall times and throughput are written (and so what a reader gets back).
    static func seconds(_ value: Double) -> String { Format.fixed(value, decimals: 3).text }
    static func rate(_ value: Double) -> String { Format.fixed(value, decimals: 1).text }

    /// `outcome` as a reader of the files gets it back (times rounded as written).
    static func asWritten(_ outcome: TaskOutcome) -> TaskOutcome {
        var stored = outcome
        stored.seconds = Format.fixed(outcome.seconds, decimals: 3).value
        stored.recordingsPerSecond = Format.fixed(outcome.recordingsPerSecond, decimals: 1).value
        for i in stored.epochs.indices {
            stored.epochs[i].seconds = Format.fixed(stored.epochs[i].seconds, decimals: 3).value
        }
        return stored
    }

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
                        + [o.error ?? "", String(o.attempt)])
    }

    /// Appends text to a CSV file (writing the header first when the file is new), dropping a
    /// partial last line left by a crash, and fsyncs. (`AppendFile` is the kept-open form.)
    static func append(_ text: String, to url: URL, header: [String]) throws {
        let file = try AppendFile(path: url.path, header: header)
        try file.append(text)
        try file.sync()
    }

    /// Rewrites a `folds.csv` of the version without the attempt column in today's format.
    static func upgrade(_ url: URL) throws {
        guard let text = try? String(contentsOf: url, encoding: .utf8),
              let first = text.split(separator: "\n", maxSplits: 1).first,
              CSV.parse(String(first) + "\n").records.first == legacyFoldsHeader else { return }
        var out = CSV.line(foldsHeader)
        for record in CSV.parse(text).records.dropFirst() { out += CSV.line(record + ["1"]) }
        try AtomicFile.write(Array(out.utf8), to: url.path)
    }

    // MARK: - Reading

    /// Reads `folds.csv` and `epochs.csv` of a folder (or a shard pair) into outcomes.
    package static func read(directory: URL, folds: String = "folds.csv", epochs: String = "epochs.csv") throws -> [TaskOutcome] {
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
        let hasAttempts = header == foldsHeader
        guard hasAttempts || header == legacyFoldsHeader else {
            throw FileError(path: foldsURL.path, location: "line 1", "unexpected header (written by another version?)")
        }
        let errorColumn = legacyFoldsHeader.count - 1
        var outcomes: [TaskOutcome] = []
        for (i, r) in parsed.records.dropFirst().enumerated() {
            let line = i + 2
            func bad(_ column: Int, _ why: String) -> FileError {
                FileError(path: foldsURL.path, location: "line \(line), column \(column + 1) (\(header[min(column, header.count - 1)]))", why)
            }
            guard r.count == header.count else {
                throw FileError(path: foldsURL.path, location: "line \(line)", "malformed row: \(r.count) fields, expected \(header.count)")
            }
            guard let status = TaskOutcome.Status(rawValue: r[3]), status.isResult else { throw bad(3, "status must be ok or failed, got '\(r[3])'") }
            guard let fold = Int(r[2]), fold >= 0 else { throw bad(2, "not a fold number: '\(r[2])'") }
            func fraction(_ c: Int) throws -> Double? {
                if r[c].isEmpty, status == .failed { return nil }
                guard let v = Double(r[c]), (0...1).contains(v) else { throw bad(c, "expected a fraction in [0, 1], got '\(r[c])'") }
                return v
            }
            func nonNegative(_ c: Int, optional: Bool) throws -> Double? {
                if r[c].isEmpty, optional { return nil }
                guard let v = Double(r[c]), v >= 0, v.isFinite else { throw bad(c, "expected a number >= 0, got '\(r[c])'") }
                return v
            }
            let validation = try fraction(4), training = try fraction(5)
            let loss = try nonNegative(6, optional: status == .failed)
            let seconds = try nonNegative(7, optional: false)!, rate = try nonNegative(8, optional: false)!
            var attempt = 1
            if hasAttempts {
                guard let a = Int(r[errorColumn + 1]), a >= 1 else { throw bad(errorColumn + 1, "expected an attempt >= 1, got '\(r[errorColumn + 1])'") }
                attempt = a
            }
            let epochs = (epochsByTask[r[0]] ?? [:]).sorted { $0.key < $1.key }.map(\.value)
            var outcome = TaskOutcome(taskID: r[0], configID: r[1], fold: fold, status: status,
                                      validationAccuracy: validation, trainAccuracy: training, trainLoss: loss,
                                      epochs: status == .ok ? epochs : [], seconds: seconds, recordingsPerSecond: rate,
                                      worker: r[9], error: r[errorColumn].isEmpty ? nil : r[errorColumn])
            outcome.attempt = attempt
            outcomes.append(outcome)
        }
        return outcomes
    }
}

/// A CSV file open for appending rows: opened once (a partial last line left by a crash is cut
/// off, the header written when the file is new), each row written at once — a process killed
/// after `append` returns has lost nothing, the page cache holds it — and made durable with
/// `sync` (by `BackgroundSync` in a results store, so that tasks do not wait for the disk).
final class AppendFile: @unchecked Sendable {
    let path: String
    private let fd: Int32
    private var size: off_t

    init(path: String, header: [String]) throws {
        self.path = path
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw FileError(path: path, "cannot open: \(String(cString: strerror(errno)))") }
        size = lseek(fd, 0, SEEK_END)
        do {
            if size > 0 {
                // Cut back to the last complete line.
                var last: UInt8 = 0
                _ = pread(fd, &last, 1, size - 1)
                if last != 10 {
                    let chunk = Int(min(size, 1 << 16))
                    var buffer = [UInt8](repeating: 0, count: chunk)
                    _ = pread(fd, &buffer, chunk, size - off_t(chunk))
                    let keep = buffer.lastIndex(of: 10).map { size - off_t(chunk) + off_t($0) + 1 } ?? 0
                    guard ftruncate(fd, keep) == 0 else { throw fail("cannot repair") }
                    size = keep
                }
            }
            if size == 0 { try append(CSV.line(header)) }
        } catch {
            close(fd)
            throw error
        }
    }

    deinit { close(fd) }

    private func fail(_ what: String) -> FileError { FileError(path: path, "\(what): \(String(cString: strerror(errno)))") }

    /// Writes `text` at the end; on failure (a full disk) no partial row is left behind.
    func append(_ text: String) throws {
        let bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, size + off_t(offset)) }
            guard n > 0 else {
                let error = fail("cannot write")
                _ = ftruncate(fd, size)
                throw error
            }
            offset += n
        }
        size += off_t(bytes.count)
    }

    /// Makes everything appended so far durable.
    func sync() throws {
        guard fsync(fd) == 0 else { throw fail("cannot sync") }
    }
}

/// fsyncs a store's files in the background, at most `delay` after rows are appended, in
/// order (epochs before folds): the rows of that interval share one fsync and no task waits
/// for the disk. A failed fsync is kept and thrown by the next `check` (the next row) or by
/// `finish`.
final class BackgroundSync: @unchecked Sendable {
    /// How long rows may wait for their fsync (a machine crash within it loses them; a killed
    /// process does not).
    static let delay = 0.02
    private let condition = NSCondition()
    private var files: [AppendFile] = []
    private var pending = false, closing = false, running = false
    private var failure: Error?
    private var thread: Thread?

    /// Files appended since the last sync; `files` in the order they are synced.
    func dirty(_ files: [AppendFile]) {
        condition.lock(); defer { condition.unlock() }
        for f in files where !self.files.contains(where: { $0 === f }) { self.files.append(f) }
        pending = true
        if thread == nil {
            let t = Thread { self.loop() }  // holds self until the loop ends (after finish)
            t.stackSize = 1 << 20
            thread = t
            t.start()
        }
        condition.signal()
    }

    /// Throws the first failed fsync, if any.
    func check() throws {
        condition.lock(); defer { condition.unlock() }
        if let failure { throw failure }
    }

    /// Syncs what is pending, lets the thread end, throws a failed fsync.
    /// Rows recorded afterwards start a new thread.
    func finish() throws {
        condition.lock()
        closing = true
        condition.signal()
        while pending || running || thread != nil { condition.wait() }
        closing = false
        condition.unlock()
        try check()
    }

    private func loop() {
        condition.lock()
        while true {
            while !pending && !closing { condition.wait() }
            if !pending && closing { break }
            let gather = Date().addingTimeInterval(Self.delay)  // let rows gather
            while !closing && Date() < gather { _ = condition.wait(until: gather) }
            pending = false
            running = true
            let toSync = files
            condition.unlock()
            var firstError: Error?
            for f in toSync {
                do { try f.sync() } catch { if firstError == nil { firstError = error } }
            }
            condition.lock()
            running = false
            if failure == nil { failure = firstError }
            condition.broadcast()
        }
        thread = nil
        condition.broadcast()
        condition.unlock()
    }
}
