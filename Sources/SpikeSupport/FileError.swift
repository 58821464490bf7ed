/// A problem with input data, worded as one line that names the file and, where it helps,
/// the byte offset, line or entry: what a researcher needs to find and fix the input.
package struct FileError: UserFacingError, Equatable, Sendable {
    /// The file (or archive member, as `archive.zip:Train/3/00012.bin`) at fault.
    package var path: String
    /// Where in it, e.g. "byte 1235" or "line 7"; empty when the whole file is at fault.
    package var location: String
    /// What is wrong, lower-case, no trailing period.
    package var problem: String

    package init(path: String, location: String = "", _ problem: String) {
        self.path = path
        self.location = location
        self.problem = problem
    }

    package static func atByte(_ path: String, _ offset: Int, _ problem: String) -> FileError {
        FileError(path: path, location: "byte \(offset)", problem)
    }

    package static func atLine(_ path: String, _ line: Int, _ problem: String) -> FileError {
        FileError(path: path, location: "line \(line)", problem)
    }

    /// One line: control characters from file contents or names are shown as `?`.
    package var description: String {
        OneLine.clean(location.isEmpty ? "\(path): \(problem)" : "\(path): \(location): \(problem)")
    }
}
