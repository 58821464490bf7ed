import Foundation

/// Progress of long work on standard error: one live, rewritten line on a terminal; plain
/// lines at most every `interval` seconds otherwise (Slurm logs, CI), plus a final line.
public final class ProgressReporter: @unchecked Sendable {
    private let label: String
    private let isTerminal: Bool
    private let interval: TimeInterval
    private let start = Date()
    private var lastPrint = Date.distantPast
    private var lastLength = 0
    private let lock = NSLock()
    private let enabled: Bool

    /// - Parameters:
    ///   - label: what is being done, e.g. "prepare".
    ///   - enabled: false makes every call a no-op (`--quiet`, `--json`).
    public init(_ label: String, enabled: Bool = true, interval: TimeInterval? = nil) {
        self.label = label
        self.enabled = enabled
        isTerminal = isatty(STDERR_FILENO) != 0
        self.interval = interval ?? (isatty(STDERR_FILENO) != 0 ? 0.1 : 10)
    }

    /// Reports `done` of `total` units, with an optional detail such as "best 0.93".
    public func update(_ done: Int, of total: Int, unit: String = "", detail: String = "") {
        guard enabled else { return }
        lock.lock(); defer { lock.unlock() }
        let now = Date()
        guard now.timeIntervalSince(lastPrint) >= interval || done == total else { return }
        lastPrint = now
        let elapsed = now.timeIntervalSince(start)
        let rate = elapsed > 0 ? Double(done) / elapsed : 0
        var line = "\(label): \(done)/\(total)\(unit.isEmpty ? "" : " " + unit)"
        if total > 0 { line += " (\(Int((Double(done) / Double(total) * 100).rounded(.down)))%)" }
        if rate > 0 {
            line += ", \(Self.format(rate))/s"
            if done < total { line += ", ETA \(Self.duration(Double(total - done) / rate))" }
        }
        line += ", \(Self.duration(elapsed)) elapsed"
        if !detail.isEmpty { line += ", " + detail }
        write(line, final: done == total)
    }

    /// Prints a line of its own (ending any live line first).
    public func note(_ text: String) {
        guard enabled else { return }
        lock.lock(); defer { lock.unlock() }
        write(text, final: true)
    }

    private func write(_ line: String, final: Bool) {
        if isTerminal {
            let padded = line + String(repeating: " ", count: max(0, lastLength - line.count))
            FileHandle.standardError.write(Data(("\r" + padded + (final ? "\n" : "")).utf8))
            lastLength = final ? 0 : line.count
        } else {
            FileHandle.standardError.write(Data((line + "\n").utf8))
        }
    }

    static func format(_ rate: Double) -> String {
        rate >= 100 ? String(Int(rate.rounded())) : String((rate * 10).rounded() / 10)
    }

    /// "42s", "3m05s", "2h07m".
    public static func duration(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        if s < 60 { return "\(s)s" }
        if s < 3600 { return String(format: "%dm%02ds", s / 60, s % 60) }
        return String(format: "%dh%02dm", s / 3600, (s % 3600) / 60)
    }
}
