import Foundation
import SpikeSupport

/// The terminal: everything the tool shows goes through here (results on stdout, everything
/// else on stderr).
enum Console {
    /// A line on stderr.
    static func error(_ line: String) {
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }

    /// A line on stdout, flushed (progress of a command whose output is its log).
    static func out(_ line: String) {
        print(line)
        fflush(stdout)
    }

    /// `value` as one line of JSON on stdout (`--json`): sorted keys, every Double exact,
    /// NaN and infinities as strings.
    static func json<T: Encodable>(_ value: T) throws {
        print(try jsonText(value))
    }

    static func jsonText<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }
}

/// The command line's `Reporter`: notes and progress on stderr. On a terminal a progress line
/// is rewritten in place (at most every 0.1 s); otherwise (Slurm logs, CI, `mpirun`) a plain
/// line at most every `interval` seconds per label, and always the final one.
final class ConsoleReporter: Reporter, @unchecked Sendable {
    private let lock = NSLock()
    private let isTerminal = isatty(STDERR_FILENO) != 0
    private let interval: TimeInterval
    private let prefix: String
    private let quiet: Bool
    private var started: [String: Date] = [:]
    private var lastPrint: [String: Date] = [:]
    private var liveLength = 0

    /// - Parameters:
    ///   - prefix: put before every line (e.g. "[rank 3] ").
    ///   - quiet: show only `warn` lines (`--quiet`).
    init(prefix: String = "", quiet: Bool = false, interval: TimeInterval? = nil) {
        self.prefix = prefix
        self.quiet = quiet
        self.interval = interval ?? (isatty(STDERR_FILENO) != 0 ? 0.1 : 10)
    }

    func note(_ line: String) {
        guard !quiet else { return }
        warn(line)
    }

    func warn(_ line: String) {
        lock.lock(); defer { lock.unlock() }
        write(prefix + line, final: true)
    }

    func progress(_ label: String, done: Int, total: Int, unit: String, detail: String) {
        guard !quiet else { return }
        lock.lock(); defer { lock.unlock() }
        let now = Date()
        let start = started[label] ?? now
        started[label] = start
        guard now.timeIntervalSince(lastPrint[label] ?? .distantPast) >= interval || done == total else { return }
        lastPrint[label] = now
        write(prefix + ProgressLine.text(label, done: done, total: total, unit: unit, detail: detail,
                                         elapsed: now.timeIntervalSince(start)), final: done == total)
    }

    private func write(_ line: String, final: Bool) {
        if isTerminal {
            let padded = line + String(repeating: " ", count: max(0, liveLength - line.count))
            FileHandle.standardError.write(Data(("\r" + padded + (final ? "\n" : "")).utf8))
            liveLength = final ? 0 : line.count
        } else {
            FileHandle.standardError.write(Data((line + "\n").utf8))
        }
    }
}

/// The text of a progress line: `sweep x: 174/360 tasks (48%), 0.5/s, ETA 6m14s, 5m50s elapsed, best …`.
enum ProgressLine {
    static func text(_ label: String, done: Int, total: Int, unit: String, detail: String, elapsed: Double) -> String {
        let rate = elapsed > 0 ? Double(done) / elapsed : 0
        var line = "\(label): \(done)/\(total)\(unit.isEmpty ? "" : " " + unit)"
        if total > 0 { line += " (\(Int((Double(done) / Double(total) * 100).rounded(.down)))%)" }
        if rate > 0 {
            line += ", \(Format.rate(rate))/s"
            if done < total { line += ", ETA \(Format.duration(Double(total - done) / rate))" }
        }
        line += ", \(Format.duration(elapsed)) elapsed"
        if !detail.isEmpty { line += ", " + detail }
        return line
    }
}
