import Foundation
import SpikeEvents
import SpikeSupport

/// Quoting for the commands SpikeSweep prints for people to copy. Scripts never embed values:
/// they receive them as arguments.
package enum Shell {
    /// `value` as one POSIX shell word: left bare when it holds only characters no shell
    /// treats specially, otherwise in single quotes (a quote inside becomes `'\''`).
    package static func quote(_ value: String) -> String {
        let safe = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./:=@+,-")
        if !value.isEmpty && value.allSatisfy({ safe.contains($0) }) { return value }
        return "'" + value.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }

    /// A command line whose words are each quoted.
    package static func command(_ words: [String]) -> String {
        words.map(quote).joined(separator: " ")
    }
}

/// A program run with an argument vector (never through a shell), its output captured.
package struct ProgramRun: Sendable {
    package var status: Int32
    package var stdout: String
    package var stderr: String

    /// Runs `program` (looked up on PATH) with `arguments`.
    package static func run(_ program: String, _ arguments: [String]) throws -> ProgramRun {
        guard let path = Subprocess.which(program) else {
            throw ToolError("\(program) not found on PATH (is this a Slurm login node? `scripts/slurm-local up` starts a local cluster)")
        }
        let result: Subprocess.Result
        do { result = try Subprocess.run(URL(fileURLWithPath: path), arguments) } catch {
            throw ToolError("cannot run \(path): \(error.localizedDescription)")
        }
        return ProgramRun(status: result.status, stdout: result.stdout, stderr: result.stderr)
    }

    /// stderr (or stdout) as one line, for error messages.
    package var message: String {
        let text = stderr.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty ? stdout : stderr
        return text.split(whereSeparator: \.isNewline).joined(separator: " ").trimmingCharacters(in: .whitespaces)
    }
}

