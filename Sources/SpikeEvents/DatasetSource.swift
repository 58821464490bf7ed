import Dispatch
import Foundation
import SpikeSupport

/// Where N-MNIST recordings come from, and how to read every kind of source into an
/// `EventDataset`:
/// - one native `.bin` file (label from its `<digit>/` folder);
/// - an extracted tree `Train/<digit>/*.bin` (or a folder holding the `<digit>/` folders);
/// - the official `Train.zip` / `Test.zip`, read directly without extracting;
/// - a flat folder of `.bs2` files with a `#sample #class` label list;
/// - a prepared `.spk` file.
package enum DatasetSource: Equatable, Sendable {
    case file(path: String)
    case tree(root: String)
    case zip(path: String)
    case labelledFolder(folder: String, labels: String)
    case prepared(path: String)

    /// Recognises the kind of `path`. `labels` names the label list for a `.bs2` folder (by
    /// default the only `.txt` file in it).
    package static func detect(_ path: String, labels: String? = nil) throws -> DatasetSource {
        let fm = FileManager.default
        var isDirectory: ObjCBool = false
        guard fm.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw FileError(path: path, "no such file or folder")
        }
        if !isDirectory.boolValue {
            if path.hasSuffix(".spk") || PreparedFile.hasMagic(path: path) { return .prepared(path: path) }
            if path.lowercased().hasSuffix(".zip") { return .zip(path: path) }
            return .file(path: path)
        }
        let names: [String]
        do { names = try fm.contentsOfDirectory(atPath: path) } catch {
            throw FileError(path: path, "cannot list folder: \(error.localizedDescription)")
        }
        if names.contains(where: { $0.hasSuffix(".bs2") }) {
            if let labels { return .labelledFolder(folder: path, labels: labels) }
            let lists = names.filter { $0.hasSuffix(".txt") }.sorted()
            guard lists.count == 1 else {
                throw FileError(path: path, lists.isEmpty
                    ? "folder of .bs2 files has no label list (pass --labels LIST)"
                    : "folder has several label lists (\(lists.joined(separator: ", "))): pass --labels LIST")
            }
            return .labelledFolder(folder: path, labels: (path as NSString).appendingPathComponent(lists[0]))
        }
        if names.contains(where: { $0.count == 1 && $0.first!.isNumber }) { return .tree(root: path) }
        for split in ["Train", "Test", "train", "test"] where names.contains(split) {
            return .tree(root: (path as NSString).appendingPathComponent(split))
        }
        throw FileError(path: path, "no N-MNIST recordings found (expected <digit>/*.bin folders, Train/ or Test/, .bs2 files with a label list, a .zip or a .spk file)")
    }

    /// The split a source's name suggests (`Train…` or `Test…`), else `.unknown`.
    package var impliedSplit: EventDataset.Split {
        let name: String
        switch self {
        case .file(let p), .tree(let p), .zip(let p), .prepared(let p): name = p
        case .labelledFolder(_, let labels): name = labels
        }
        let last = (name as NSString).lastPathComponent.lowercased()
        if last.hasPrefix("test") { return .test }
        if last.hasPrefix("train") { return .train }
        return .unknown
    }

    /// Reads every recording. `progress(done, total)` is called from the reading thread(s)
    /// now and then on long reads.
    package func read(threads: Int = ProcessInfo.processInfo.activeProcessorCount,
                     progress: (@Sendable (Int, Int) -> Void)? = nil) throws -> EventDataset {
        switch self {
        case .prepared(let path):
            return try PreparedFile.read(path: path)
        case .file(let path):
            let label = Self.digitFolderLabel(of: path)
            guard let label else {
                throw FileError(path: path, "cannot tell the class of a lone recording: put it in a <digit>/ folder")
            }
            let bytes = try Self.readFile(path)
            return EventDataset(split: impliedSplit, recordings: [try NMNISTCodec.decode(bytes, path: path, label: label)])
        case .tree(let root):
            var jobs: [(name: String, label: UInt8)] = []
            for digit in 0...9 {
                let folder = (root as NSString).appendingPathComponent(String(digit))
                guard let files = try? FileManager.default.contentsOfDirectory(atPath: folder) else { continue }
                for file in files.sorted() where file.hasSuffix(".bin") {
                    jobs.append(("\(digit)/\(file)", UInt8(digit)))
                }
            }
            guard !jobs.isEmpty else { throw FileError(path: root, "no <digit>/*.bin recordings in this folder") }
            let recordings = try Self.decodeAll(count: jobs.count, threads: threads, progress: progress) { i in
                let path = (root as NSString).appendingPathComponent(jobs[i].name)
                return try NMNISTCodec.decode(try Self.readFile(path), path: path, label: jobs[i].label)
            }
            return EventDataset(split: impliedSplit, recordings: recordings)
        case .labelledFolder(let folder, let labelsPath):
            let text: String
            do { text = try String(contentsOfFile: labelsPath, encoding: .utf8) } catch {
                throw FileError(path: labelsPath, "cannot read label list: \(error.localizedDescription)")
            }
            let list = try LabelList(text: text, path: labelsPath)
            let present = Set((try? FileManager.default.contentsOfDirectory(atPath: folder))?.filter { $0.hasSuffix(".bs2") } ?? [])
            let listed = Set(list.entries.map { "\($0.sample).bs2" })
            if let unlabelled = present.subtracting(listed).sorted(by: Self.naturalOrder).first {
                throw FileError(path: (folder as NSString).appendingPathComponent(unlabelled), "label missing: not listed in \(labelsPath)")
            }
            for entry in list.entries where !present.contains("\(entry.sample).bs2") {
                throw FileError.atLine(labelsPath, entry.line, "sample \(entry.sample) has no file \(entry.sample).bs2 in \(folder)")
            }
            let entries = list.entries
            let recordings = try Self.decodeAll(count: entries.count, threads: threads, progress: progress) { i in
                let path = (folder as NSString).appendingPathComponent("\(entries[i].sample).bs2")
                var r = try NMNISTCodec.decode(try Self.readFile(path), path: path, label: entries[i].label)
                r.name = "\(entries[i].sample).bs2"
                return r
            }
            return EventDataset(split: impliedSplit, recordings: recordings)
        case .zip(let path):
            let archive = try ZipArchive(path: path)
            var members: [(entry: ZipArchive.Entry, label: UInt8)] = []
            for entry in archive.entries where !entry.isDirectory && entry.name.hasSuffix(".bin") {
                let parts = entry.name.split(separator: "/")
                guard parts.count >= 2, let digit = UInt8(parts[parts.count - 2]), digit <= 9 else {
                    throw FileError(path: "\(path):\(entry.name)", "cannot tell the class: member is not inside a <digit>/ folder")
                }
                members.append((entry, digit))
            }
            guard !members.isEmpty else { throw FileError(path: path, "zip holds no <digit>/*.bin recordings") }
            members.sort { ($0.label, $0.entry.name) < ($1.label, $1.entry.name) }
            let recordings = try Self.decodeAll(count: members.count, threads: threads, progress: progress) { i in
                let bytes = try archive.contents(of: members[i].entry)
                return try NMNISTCodec.decode(bytes, path: "\(path):\(members[i].entry.name)", label: members[i].label)
            }
            var dataset = EventDataset(split: impliedSplit, recordings: recordings)
            dataset.names = members.map { $0.entry.name }
            return dataset
        }
    }

    static func digitFolderLabel(of path: String) -> UInt8? {
        let parent = ((path as NSString).deletingLastPathComponent as NSString).lastPathComponent
        guard parent.count == 1, let d = UInt8(parent), d <= 9 else { return nil }
        return d
    }

    static func naturalOrder(_ a: String, _ b: String) -> Bool {
        let ia = Int(a.split(separator: ".")[0]), ib = Int(b.split(separator: ".")[0])
        if let ia, let ib, ia != ib { return ia < ib }
        return a < b
    }

    static func readFile(_ path: String) throws -> [UInt8] {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw FileError(path: path, "cannot open for reading")
        }
        defer { try? handle.close() }
        do { return [UInt8](try handle.readToEnd() ?? Data()) } catch {
            throw FileError(path: path, "read failed: \(error.localizedDescription)")
        }
    }

    /// Decodes `count` recordings on `threads` threads, in order; the first error (lowest index) wins.
    static func decodeAll(count: Int, threads: Int, progress: (@Sendable (Int, Int) -> Void)?,
                          _ decode: (Int) throws -> Recording) throws -> [Recording] {
        let chunks = max(1, min(threads, count / 32))
        let chunkSize = (count + chunks - 1) / chunks
        var results = [Result<[Recording], Error>](repeating: .success([]), count: chunks)
        let done = ManagedCounter()
        let step = max(1, count / 100)
        results.withUnsafeMutableBufferPointer { out in
            DispatchQueue.concurrentPerform(iterations: chunks) { c in
                let lo = c * chunkSize, hi = min(count, lo + chunkSize)
                var part: [Recording] = []
                part.reserveCapacity(hi - lo)
                do {
                    for i in lo..<hi {
                        part.append(try decode(i))
                        let n = done.increment()
                        if n % step == 0 || n == count { progress?(n, count) }
                    }
                    out[c] = .success(part)
                } catch {
                    out[c] = .failure(error)
                }
            }
        }
        return try results.flatMap { try $0.get() }
    }
}

/// A thread-safe counter for progress reports.
final class ManagedCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0
    func increment() -> Int {
        lock.lock(); defer { lock.unlock() }
        value += 1
        return value
    }
}
