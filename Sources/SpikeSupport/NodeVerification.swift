import Foundation

/// Remembers, per node, which files have been verified in full (checksums over every byte),
/// so that the 128 ranks of a node verify a 1.5 GB dataset once, not 128 times.
///
/// A file is known by its path, device, inode, size and modification *and change* times: any
/// write to it (a flipped byte included) changes its change time, so it is verified again.
/// Markers live in `/dev/shm` (memory, gone at reboot), or the temporary folder without it.
package enum NodeVerification {
    static let directory: String = {
        let shm = "/dev/shm"
        let base = access(shm, W_OK) == 0 ? shm : NSTemporaryDirectory()
        return (base as NSString).appendingPathComponent("spikesweep-\(getuid())-verified")
    }()

    static func marker(for file: MappedFile, kind: String) -> String {
        var f = Fingerprinter()
        f.mix(Array("\(kind)|\(ToolVersion.string)|\(URL(fileURLWithPath: file.path).standardizedFileURL.path)|\(file.identity)".utf8))
        return (directory as NSString).appendingPathComponent(f.value.hex16)
    }

    /// Whether this node already verified `file` (as it is now) for `kind` of check.
    package static func isVerified(_ file: MappedFile, kind: String) -> Bool {
        FileManager.default.fileExists(atPath: marker(for: file, kind: kind))
    }

    /// Records that `file` passed `kind` of check. Best effort: without a marker the next
    /// process simply verifies again.
    package static func markVerified(_ file: MappedFile, kind: String) {
        try? FileSystem.createDirectory(directory)
        _ = try? AtomicFile.write(Array("\(file.path)\n\(file.identity)\n".utf8), to: marker(for: file, kind: kind))
    }

    /// Runs `verify` unless this node verified `file` already, and remembers a success.
    package static func once(_ file: MappedFile, kind: String, _ verify: () throws -> Void) throws {
        if isVerified(file, kind: kind) { return }
        try verify()
        markVerified(file, kind: kind)
    }
}
