import Foundation

/// File-system calls with one-line errors naming the path and the system's reason (`strerror`),
/// never Foundation's error domains.
package enum FileSystem {
    /// Creates `path` and any missing parents (like `mkdir -p`).
    package static func createDirectory(_ path: String) throws {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else { throw FileError(path: path, "cannot create a folder here: a file of that name exists") }
            return
        }
        let parent = (path as NSString).deletingLastPathComponent
        if !parent.isEmpty && parent != path { try createDirectory(parent) }
        guard mkdir(path, 0o755) == 0 || errno == EEXIST else {
            throw FileError(path: path, "cannot create folder: \(String(cString: strerror(errno)))")
        }
    }

    /// Renames `from` to `to` (same file system), refusing to replace an existing `to`.
    package static func move(_ from: String, to: String) throws {
        guard !FileManager.default.fileExists(atPath: to) else { throw FileError(path: to, "cannot move \(from) here: it exists") }
        guard rename(from, to) == 0 else { throw FileError(path: from, "cannot move to \(to): \(String(cString: strerror(errno)))") }
    }

    /// `base`, or `base-2`, `base-3`, … : the first name that does not exist yet.
    package static func unusedName(_ base: String) -> String {
        var candidate = base, n = 1
        while FileManager.default.fileExists(atPath: candidate) { n += 1; candidate = "\(base)-\(n)" }
        return candidate
    }
}
