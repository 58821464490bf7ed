/// A problem with input data, worded as one line that names the file and, where it helps,
/// the byte offset, line or entry: what a researcher needs to find and fix the input.
public struct DataError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The file (or archive member, as `archive.zip:Train/3/00012.bin`) at fault.
    public var path: String
    /// Where in it, e.g. "byte 1235" or "line 7"; empty when the whole file is at fault.
    public var location: String
    /// What is wrong, lower-case, no trailing period.
    public var problem: String

    public init(path: String, location: String = "", _ problem: String) {
        self.path = path
        self.location = location
        self.problem = problem
    }

    public static func atByte(_ path: String, _ offset: Int, _ problem: String) -> DataError {
        DataError(path: path, location: "byte \(offset)", problem)
    }

    public static func atLine(_ path: String, _ line: Int, _ problem: String) -> DataError {
        DataError(path: path, location: "line \(line)", problem)
    }

    /// One line: control characters from file contents or names are shown as `?`.
    public var description: String {
        let line = location.isEmpty ? "\(path): \(problem)" : "\(path): \(location): \(problem)"
        return String(String.UnicodeScalarView(line.unicodeScalars.map {
            $0.value < 0x20 || $0.value == 0x7F || (0x80..<0xA0).contains($0.value) ? "?" : $0
        }))
    }
}
