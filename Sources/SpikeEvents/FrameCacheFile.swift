import Dispatch
import Foundation
import SpikeSupport

/// The frames of a dataset at one framing (window, denoise, first saccade), in a file that
/// every process of a node maps instead of framing the data again: one copy in the page cache
/// for all ranks, built once.
///
/// The first process that needs a cache file builds it, under an exclusive lock on
/// `<file>.lock` (the others wait, then map what it wrote), streaming the frames in chunks to
/// a temporary file that is fsynced and renamed into place: a reader sees no file or a
/// complete one, and building holds only a chunk of frames in memory.
///
/// Layout (little-endian):
/// ```
/// 0    "SPKFRAME"            magic
/// 8    u32 version (= 1)     12  u32 flags (bit 0: first saccade only)
/// 16   u64 window µs         24  u64 denoise µs (0: no denoising)
/// 32   u64 dataset fingerprint   40  u64 frames fingerprint (`FrameSet.Storage.fingerprint`)
/// 48   u64 recordings N      56  u64 steps S        64  u64 entries E
/// 72   5 × u64 section offsets: labels (N × u8), recordingStepStart ((N+1) × i32),
///      stepEntryStart ((S+1) × i32), inputs (E × u16), counts (E × u8)
/// 112  5 × u32 CRC-32 of each section      132  u32 CRC-32 of bytes 0 ..< 132
/// ```
/// Sections start at 8-byte boundaries and are reserved for upper bounds of S and E (steps
/// from the raw event span, entries from the event count), so the unused tail of each is a
/// hole in a sparse file.
package enum FrameCacheFile {
    static let magic = Array("SPKFRAME".utf8)
    static let version: UInt32 = 1
    static let headerSize = 192
    static let verificationKind = "frame cache v\(version)"

    /// The cache file's name for `options` on a dataset with `fingerprint`.
    package static func fileName(datasetFingerprint: UInt64, options: Framing.Options) -> String {
        "\(datasetFingerprint.hex16)-w\(options.windowMicros)-d\(options.denoiseMicros.map(String.init) ?? "off")"
            + (options.firstSaccadeOnly ? "-s" : "") + ".spkf"
    }

    /// The frames of `dataset` at `options`, mapped from their cache file in `directory`,
    /// which is built first when it does not exist yet (by this process, or by another one
    /// while this one waits).
    /// - Throws: `FileError` naming the cache file when it cannot be written, or is damaged.
    package static func frames(of dataset: EventDataset, options: Framing.Options, directory: URL,
                               threads: Int = ProcessInfo.processInfo.activeProcessorCount) throws -> FrameSet {
        try FileSystem.createDirectory(directory.path)
        let path = directory.appendingPathComponent(fileName(datasetFingerprint: dataset.fingerprint, options: options)).path
        if FileManager.default.fileExists(atPath: path) { return try open(path: path, dataset: dataset, options: options) }
        let lockPath = path + ".lock"
        let fd = Foundation.open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw FileError(path: lockPath, "cannot open lock file: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        while flock(fd, LOCK_EX) != 0 {
            guard errno == EINTR else { throw FileError(path: lockPath, "cannot lock: \(String(cString: strerror(errno)))") }
        }
        if !FileManager.default.fileExists(atPath: path) {
            try build(dataset, options: options, path: path, threads: threads)
        }
        return try open(path: path, dataset: dataset, options: options)
    }

    // MARK: - Writing

    /// Frames `dataset` chunk by chunk into a temporary file beside `path`, then renames it.
    static func build(_ dataset: EventDataset, options: Framing.Options, path: String, threads: Int) throws {
        let n = dataset.count
        // Upper bounds: every event is at most one entry; the steps of a recording are at most
        // its raw event span over the window (denoising only shortens the span).
        var maxEvents = 0, maxSteps = 0
        for r in 0..<n {
            let lo = dataset.eventStart[r]
            var hi = dataset.eventStart[r + 1]
            if options.firstSaccadeOnly {
                while hi > lo && dataset.times[hi - 1] >= Framing.firstSaccadeEndMicros { hi -= 1 }
            }
            maxEvents += hi - lo
            let span = hi > lo ? Int(dataset.times[hi - 1] - dataset.times[lo]) : 0
            maxSteps += max(1, span / options.windowMicros)
        }
        func aligned(_ x: Int) -> Int { (x + 7) & ~7 }
        var offsets = [headerSize]
        for bytes in [n, (n + 1) * 4, (maxSteps + 1) * 4, maxEvents * 2] { offsets.append(aligned(offsets.last! + bytes)) }
        let reserved = aligned(offsets.last! + maxEvents)

        let temporary = (path as NSString).deletingLastPathComponent + "/.\((path as NSString).lastPathComponent).tmp-\(getpid())"
        let fd = Foundation.open(temporary, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw FileError(path: path, "cannot create the frame cache: \(String(cString: strerror(errno)))") }
        var finished = false
        defer {
            close(fd)
            if !finished { unlink(temporary) }
        }
        func fail(_ what: String) -> FileError { FileError(path: path, "\(what): \(String(cString: strerror(errno)))") }
        guard ftruncate(fd, off_t(reserved)) == 0 else { throw fail("cannot size the frame cache") }

        var writers = offsets.map { SectionWriter(fd: fd, start: $0) }
        var steps: Int32 = 0, entries: Int32 = 0
        try writers[1].append([Int32(0)], fail)
        try writers[2].append([Int32(0)], fail)
        let chunk = 512
        let chunkStarts = Array(stride(from: 0, to: n, by: chunk))
        let group = max(1, threads)
        for wave in stride(from: 0, to: chunkStarts.count, by: group) {
            let starts = Array(chunkStarts[wave..<min(wave + group, chunkStarts.count)])
            let parts = UnsafeMutableBufferPointer<FrameSet.Builder>.allocate(capacity: starts.count)
            defer { parts.deallocate() }
            DispatchQueue.concurrentPerform(iterations: starts.count) { k in
                let lo = starts[k]
                (parts.baseAddress! + k).initialize(to: dataset.frames(options, Array(lo..<min(lo + chunk, n))[...]))
            }
            defer { _ = parts.baseAddress!.deinitialize(count: starts.count) }
            for part in parts {
                try writers[0].append(part.labels, fail)
                try writers[1].append(part.recordingStepStart.dropFirst().map { $0 + steps }, fail)
                try writers[2].append(part.stepEntryStart.dropFirst().map { $0 + entries }, fail)
                try writers[3].append(part.inputs, fail)
                try writers[4].append(part.counts, fail)
                steps += Int32(part.stepEntryStart.count - 1)
                entries += Int32(part.inputs.count)
            }
        }
        let counts = [n, n + 1, Int(steps) + 1, Int(entries), Int(entries)]
        for (k, w) in writers.enumerated() where w.written != counts[k] * [1, 4, 4, 2, 1][k] {
            throw FileError(path: path, "frame cache section \(k) holds \(w.written) bytes, expected \(counts[k] * [1, 4, 4, 2, 1][k])")
        }
        // The frames' fingerprint, from the written sections.
        guard let mapped = mmap(nil, reserved, PROT_READ, MAP_SHARED, fd, 0), mapped != MAP_FAILED else { throw fail("cannot map the frame cache") }
        let bytes = UnsafeRawBufferPointer(start: mapped, count: reserved)
        func view<T>(_ k: Int, _: T.Type) -> SharedBuffer<T> {
            SharedBuffer(UnsafeRawBufferPointer(rebasing: bytes[offsets[k]..<(offsets[k] + counts[k] * MemoryLayout<T>.stride)])
                .bindMemory(to: T.self), owner: nil)
        }
        let fingerprint = FrameSet.Storage.fingerprint(view(0, UInt8.self), view(1, Int32.self), view(2, Int32.self),
                                                       view(3, UInt16.self), view(4, UInt8.self))
        munmap(mapped, reserved)

        var header = [UInt8]()
        func put<T: FixedWidthInteger>(_ v: T) { withUnsafeBytes(of: v.littleEndian) { header += $0 } }
        header += magic
        put(version); put(UInt32(options.firstSaccadeOnly ? 1 : 0))
        put(UInt64(options.windowMicros)); put(UInt64(options.denoiseMicros ?? 0))
        put(dataset.fingerprint); put(fingerprint)
        put(UInt64(n)); put(UInt64(steps)); put(UInt64(entries))
        for o in offsets { put(UInt64(o)) }
        for w in writers { put(w.crc) }
        put(Checksum.crc32(header))
        header += [UInt8](repeating: 0, count: headerSize - header.count)
        try header.withUnsafeBytes { raw in
            guard pwrite(fd, raw.baseAddress, raw.count, 0) == raw.count else { throw fail("cannot write the frame cache") }
        }
        guard fsync(fd) == 0 else { throw fail("cannot sync the frame cache") }
        guard rename(temporary, path) == 0 else { throw fail("cannot move the frame cache into place") }
        finished = true
    }

    /// Appends one section's bytes at increasing offsets and keeps their CRC-32.
    struct SectionWriter {
        let fd: Int32
        let start: Int
        var written = 0
        var crc: UInt32 = 0

        mutating func append<T>(_ values: [T], _ fail: (String) -> FileError) throws {
            try values.withUnsafeBytes { raw in
                var done = 0
                while done < raw.count {
                    let n = pwrite(fd, raw.baseAddress! + done, raw.count - done, off_t(start + written + done))
                    guard n > 0 else { throw fail("cannot write the frame cache") }
                    done += n
                }
                crc = Checksum.crc32(raw, seed: crc)
            }
            written += values.count * MemoryLayout<T>.stride
        }
    }

    // MARK: - Reading

    /// Offsets monotone and ending where the header says, labels those of the dataset, inputs
    /// below 2312. O(entries), in plain loops over the mapped memory.
    static func consistent(_ storage: FrameSet.Storage, steps: Int, entries: Int, labels: SharedBuffer<UInt8>) -> Bool {
        let rss = storage.recordingStepStart.base, ses = storage.stepEntryStart.base
        guard rss.first == 0, rss.last == Int32(steps), ses.first == 0, ses.last == Int32(entries) else { return false }
        for k in 1..<rss.count where rss[k] <= rss[k - 1] { return false }
        for k in 1..<ses.count where ses[k] < ses[k - 1] { return false }
        let own = storage.labels.base, theirs = labels.base
        guard own.count == theirs.count else { return false }
        for k in 0..<own.count where own[k] != theirs[k] || own[k] >= UInt8(NMNIST.classCount) { return false }
        for input in storage.inputs.base where Int(input) >= NMNIST.inputCount { return false }
        return true
    }

    /// Maps a cache file and checks that it holds the frames of `dataset` at `options`: its
    /// header always; every section (CRC-32, offsets, labels, inputs) once per node and file.
    package static func open(path: String, dataset: EventDataset, options: Framing.Options) throws -> FrameSet {
        let file = try MappedFile(path: path)
        let b = file.bytes
        func damaged(_ why: String) -> FileError {
            FileError(path: path, "damaged frame cache (\(why)); delete it and run again: it is rebuilt from the dataset")
        }
        guard b.count >= headerSize, Array(b[0..<8]) == magic else { throw damaged("no SPKFRAME header") }
        func u32(_ o: Int) -> UInt32 { UInt32(littleEndian: b.loadUnaligned(fromByteOffset: o, as: UInt32.self)) }
        func u64(_ o: Int) -> UInt64 { UInt64(littleEndian: b.loadUnaligned(fromByteOffset: o, as: UInt64.self)) }
        guard u32(8) == version else {
            throw FileError(path: path, "frame cache of another version (\(u32(8))); delete it and run again: it is rebuilt")
        }
        guard Checksum.crc32(UnsafeRawBufferPointer(rebasing: b[0..<132])) == u32(132) else { throw damaged("header checksum mismatch") }
        guard u64(32) == dataset.fingerprint, u64(16) == UInt64(options.windowMicros), u64(24) == UInt64(options.denoiseMicros ?? 0),
              (u32(12) & 1 == 1) == options.firstSaccadeOnly else {
            throw FileError(path: path, "frame cache of other data or settings than its name says; delete it and run again")
        }
        let n = Int(u64(48)), s = Int(u64(56)), e = Int(u64(64))
        let offsets = (0..<5).map { Int(u64(72 + $0 * 8)) }
        let sizes = [n, (n + 1) * 4, (s + 1) * 4, e * 2, e]
        guard n == dataset.count, zip(offsets, sizes).allSatisfy({ $0 >= headerSize && $0 % 8 == 0 && $0 + $1 <= b.count }) else {
            throw damaged("sections outside the file")
        }
        let storage = FrameSet.Storage(labels: file.buffer(of: UInt8.self, at: offsets[0], count: n),
                                       recordingStepStart: file.buffer(of: Int32.self, at: offsets[1], count: n + 1),
                                       stepEntryStart: file.buffer(of: Int32.self, at: offsets[2], count: s + 1),
                                       inputs: file.buffer(of: UInt16.self, at: offsets[3], count: e),
                                       counts: file.buffer(of: UInt8.self, at: offsets[4], count: e), fingerprint: u64(40))
        try NodeVerification.once(file, kind: verificationKind) {
            for k in 0..<5 {
                let crc = Checksum.crc32(UnsafeRawBufferPointer(rebasing: b[offsets[k]..<(offsets[k] + sizes[k])]))
                guard crc == u32(112 + k * 4) else { throw damaged("section \(k) checksum mismatch") }
            }
            guard consistent(storage, steps: s, entries: e, labels: dataset.labels) else { throw damaged("inconsistent sections") }
        }
        return FrameSet(windowMicros: options.windowMicros, denoiseMicros: options.denoiseMicros, storage: storage)
    }
}
