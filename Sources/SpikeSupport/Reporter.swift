/// Where library code sends what a person should see while long work runs: start lines,
/// notices, warnings and progress. Libraries never print; the command line owns the one
/// implementation that writes to the terminal (`ConsoleReporter`), and tests pass
/// `SilentReporter` or a recorder.
package protocol Reporter: Sendable {
    /// A line of its own that tells what is going on (a start line); `--quiet` drops it.
    func note(_ line: String)
    /// A line about something that happened to the user's tasks or files (a task stopped with
    /// a checkpoint, resumed from one, old results moved aside): shown even with `--quiet`.
    func warn(_ line: String)
    /// `done` of `total` units of the work called `label` (e.g. "sweep table1"). The reporter
    /// decides how often to show it; the last call (`done == total`) is always shown.
    func progress(_ label: String, done: Int, total: Int, unit: String, detail: String)
}

extension Reporter {
    package func progress(_ label: String, done: Int, total: Int, unit: String) {
        progress(label, done: done, total: total, unit: unit, detail: "")
    }
}

/// A reporter that shows nothing (`--quiet`, `--json`, tests).
package struct SilentReporter: Reporter {
    package init() {}
    package func note(_ line: String) {}
    package func warn(_ line: String) {}
    package func progress(_ label: String, done: Int, total: Int, unit: String, detail: String) {}
}
