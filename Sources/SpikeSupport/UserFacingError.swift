import Foundation

/// An error meant for the person running SpikeSweep: its `description` is one line that names
/// what is at fault (a file and byte offset, a spec key, a rank, a job) and, where there is one,
/// the fix. Libraries throw these; only the command line prints them (see `oneLine`).
package protocol UserFacingError: Error, CustomStringConvertible {}

extension UserFacingError {
    /// The description on a single line, with control characters shown as `?`.
    package var oneLine: String { OneLine.clean(description) }
}

/// A failure described by a sentence (a results folder in use, a refused MPI rank, a Slurm
/// command that failed, an impossible option).
package struct ToolError: UserFacingError, Sendable, Equatable {
    package var message: String
    package init(_ message: String) { self.message = message }
    package var description: String { message }
}

/// Text folded onto one line.
package enum OneLine {
    /// `text` with line breaks folded into spaces and other control characters shown as `?`.
    package static func clean(_ text: String) -> String {
        let folded = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }.joined(separator: " ")
        return String(String.UnicodeScalarView(folded.unicodeScalars.map {
            $0.value < 0x20 || $0.value == 0x7F || (0x80..<0xA0).contains($0.value) ? "?" : $0
        }))
    }
}
