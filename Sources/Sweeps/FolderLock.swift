import Foundation
import SpikeSupport

/// The locks that keep two writers out of one results folder (`flock`, released by the kernel
/// even on `kill -9`).
///
/// Every process that writes into a folder holds `.lock`: exclusively for a plain or MPI run
/// and for `collect`, which write the folder's own files; shared for Slurm array elements,
/// which run side by side but each write only their shard, under the shard's own exclusive
/// lock. So an element and a plain run on one folder exclude each other, and two elements with
/// the same index do too.
package final class FolderLock: @unchecked Sendable {
    private var descriptors: [Int32]

    /// What a lock is for.
    package enum Role: Sendable, Equatable {
        /// The folder's own files (`folds.csv`, leaderboards): a plain run, MPI rank 0, collect.
        case owner
        /// One array element's shard.
        case element(Int)
    }

    /// Takes the locks of `role` in `directory`, or throws a one-line error naming who holds them.
    package init(_ directory: URL, role: Role) throws {
        descriptors = []
        switch role {
        case .owner:
            descriptors.append(try Self.take(directory, ".lock", exclusive: true))
        case .element(let element):
            descriptors.append(try Self.take(directory, ".lock", exclusive: false))
            do { descriptors.append(try Self.take(directory, "shards/.element-\(element).lock", exclusive: true)) } catch {
                close(descriptors[0])
                throw error
            }
        }
    }

    deinit { for fd in descriptors { close(fd) } }

    /// Runs `body` holding the folder exclusively.
    package static func withOwnership(_ directory: URL, _ body: () throws -> Void) throws {
        let lock = try FolderLock(directory, role: .owner)
        try body()
        withExtendedLifetime(lock) {}
    }

    /// Why locks on `path` do not exclude other holders, or nil when they do: with an
    /// exclusive lock held, a second open of the file must not get one. Some Lustre and NFS
    /// mounts accept `flock` and enforce nothing, or only within one node.
    package static func lockIsNotHonoured(_ path: String) -> String? {
        let probe = open(path, O_RDWR | O_CLOEXEC)
        guard probe >= 0 else { return "cannot open \(path) again to check its lock (\(String(cString: strerror(errno))))" }
        defer { close(probe) }
        if flock(probe, LOCK_EX | LOCK_NB) == 0 {
            flock(probe, LOCK_UN)
            return "its file system does not honour flock (a second lock on \((path as NSString).lastPathComponent) was granted)"
        }
        return errno == EWOULDBLOCK ? nil : "flock on \((path as NSString).lastPathComponent) fails (\(String(cString: strerror(errno))))"
    }

    private static func take(_ directory: URL, _ file: String, exclusive: Bool) throws -> Int32 {
        let path = directory.appendingPathComponent(file).path
        let fd = open(path, O_RDWR | O_CREAT, 0o644)
        guard fd >= 0 else { throw FileError(path: path, "cannot open lock file: \(String(cString: strerror(errno)))") }
        if flock(fd, (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB) == 0 {
            if exclusive, let problem = lockIsNotHonoured(path) {
                close(fd)
                throw ToolError("\(directory.path): \(problem); two runs could write these results at once, so none starts here: "
                    + "put the results on a file system that honours flock (a local disk, or a Lustre/NFS mount with flock enabled)")
            }
            if exclusive {
                let owner = Array("pid \(getpid()) on \(ProcessInfo.processInfo.hostName)\n".utf8)
                _ = ftruncate(fd, 0)
                _ = pwrite(fd, owner, owner.count, 0)
            }
            return fd
        }
        // Who holds it: shared holders are array elements; an exclusive holder wrote its pid.
        let heldShared = exclusive && flock(fd, LOCK_SH | LOCK_NB) == 0
        var buffer = [UInt8](repeating: 0, count: 64)
        let n = pread(fd, &buffer, 63, 0)
        close(fd)
        let holder = heldShared
            ? "Slurm array elements writing their shards"
            : "another spikesweep run (" + (n > 0 ? String(decoding: buffer.prefix(n), as: UTF8.self)
                .trimmingCharacters(in: .whitespacesAndNewlines) : "?") + ")"
        let what = file == ".lock" ? directory.path : "\(directory.path) (\(file))"
        throw ToolError("\(what) is in use by \(holder); wait for it to finish or stop it first")
    }
}
