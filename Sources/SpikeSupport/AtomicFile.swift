import Foundation

/// Writes files so that readers see either the old or the complete new contents: a temporary
/// file beside the target, fsynced, then renamed over it. On failure the old contents stay.
package enum AtomicFile {
    /// - Parameter temporary: the temporary file (default `.<name>.tmp-<pid>` beside `path`); a
    ///   file with a single writer may use a fixed name, which a cleanup can then find directly.
    package static func write(_ bytes: [UInt8], to path: String, temporary: String? = nil) throws {
        let temporary = temporary ?? singleWriterTemporary(of: path) + "-\(getpid())"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw FileError(path: path, "cannot create: \(String(cString: strerror(errno)))") }
        var ok = true
        bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = Foundation.write(fd, raw.baseAddress! + offset, raw.count - offset)
                if n <= 0 { ok = false; return }
                offset += n
            }
        }
        let message = ok ? "" : String(cString: strerror(errno))
        if ok && fsync(fd) != 0 { ok = false }
        close(fd)
        guard ok, rename(temporary, path) == 0 else {
            unlink(temporary)
            throw FileError(path: path, "write failed: \(message.isEmpty ? String(cString: strerror(errno)) : message)")
        }
    }
}

extension AtomicFile {
    /// The fixed temporary file of `path` for files with a single writer: `.<name>.tmp` beside it.
    package static func singleWriterTemporary(of path: String) -> String {
        let directory = (path as NSString).deletingLastPathComponent
        return (directory.isEmpty ? "." : directory) + "/.\((path as NSString).lastPathComponent).tmp"
    }
}
