import Foundation

/// A file mapped read-only into memory (`mmap`, `MAP_SHARED`): every process that maps the
/// same file shares one copy in the page cache, so 128 ranks on a node hold a dataset once.
/// The mapping lives as long as this object; `SharedBuffer`s into it keep it alive.
package final class MappedFile: @unchecked Sendable {
    package let path: String
    package let bytes: UnsafeRawBufferPointer
    /// Identity of the file as mapped: device, inode, size and change times.
    package let identity: FileIdentity

    /// Maps `path` read-only.
    /// - Throws: `FileError` naming the file when it cannot be opened, read or mapped.
    package init(path: String) throws {
        self.path = path
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw FileError(path: path, "cannot open: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw FileError(path: path, "cannot read its size: \(String(cString: strerror(errno)))") }
        identity = FileIdentity(info)
        let size = Int(info.st_size)
        if size == 0 {
            bytes = UnsafeRawBufferPointer(start: nil, count: 0)
            return
        }
        guard let base = mmap(nil, size, PROT_READ, MAP_SHARED, fd, 0), base != MAP_FAILED else {
            throw FileError(path: path, "cannot map into memory: \(String(cString: strerror(errno)))")
        }
        bytes = UnsafeRawBufferPointer(start: base, count: size)
    }

    deinit {
        if let base = bytes.baseAddress { munmap(UnsafeMutableRawPointer(mutating: base), bytes.count) }
    }

    /// A typed view of `count` elements at byte `offset` (which must be aligned for `T`).
    package func buffer<T>(of: T.Type, at offset: Int, count: Int) -> SharedBuffer<T> {
        precondition(offset >= 0 && offset + count * MemoryLayout<T>.stride <= bytes.count, "section outside the file")
        precondition(count == 0 || offset % MemoryLayout<T>.alignment == 0, "misaligned section")
        let start = count == 0 ? nil : bytes.baseAddress!.advanced(by: offset).assumingMemoryBound(to: T.self)
        return SharedBuffer(UnsafeBufferPointer(start: start, count: count), owner: self)
    }
}

/// What identifies a file's contents without reading them: if any of these differ, the file
/// was replaced or written since.
package struct FileIdentity: Sendable, Hashable, CustomStringConvertible {
    package var device: UInt64
    package var inode: UInt64
    package var size: Int64
    package var modified: Int64
    package var changed: Int64

    init(_ s: stat) {
        device = UInt64(s.st_dev)
        inode = UInt64(s.st_ino)
        size = Int64(s.st_size)
        modified = Int64(s.st_mtim.tv_sec) * 1_000_000_000 + Int64(s.st_mtim.tv_nsec)
        changed = Int64(s.st_ctim.tv_sec) * 1_000_000_000 + Int64(s.st_ctim.tv_nsec)
    }

    package var description: String { "dev \(device) inode \(inode) size \(size) mtime \(modified) ctime \(changed)" }
}

/// Read-only elements in memory someone else owns: a section of a `MappedFile`, or an array
/// copied once into storage of its own. Reads like an array (`RandomAccessCollection`,
/// `withUnsafeBufferPointer`), costs no copy to pass around, and is shared between threads.
/// Its members are inlinable so that algorithms over it specialize in the module using them
/// (a generic, unspecialized walk costs a metadata lookup per element).
package struct SharedBuffer<Element>: RandomAccessCollection, @unchecked Sendable {
    package typealias Index = Int
    package typealias Indices = Range<Int>
    package typealias SubSequence = Slice<UnsafeBufferPointer<Element>>

    package let base: UnsafeBufferPointer<Element>
    @usableFromInline let owner: AnyObject?

    @inlinable
    package init(_ base: UnsafeBufferPointer<Element>, owner: AnyObject?) {
        self.base = base
        self.owner = owner
    }

    /// The elements of `array`, copied into storage this buffer keeps alive.
    package init(_ array: [Element]) {
        let storage = OwnedStorage<Element>(array)
        self.init(UnsafeBufferPointer(storage.pointer), owner: storage)
    }

    package init() { self.init([]) }

    @inlinable package var startIndex: Int { 0 }
    @inlinable package var endIndex: Int { base.count }
    @inlinable package var indices: Range<Int> { 0..<base.count }
    @inlinable package func index(after i: Int) -> Int { i + 1 }
    @inlinable package func index(before i: Int) -> Int { i - 1 }

    @inlinable
    package subscript(i: Int) -> Element { base[i] }

    /// A slice shares the storage (valid while this buffer, or a copy of it, is alive).
    @inlinable
    package subscript(range: Range<Int>) -> Slice<UnsafeBufferPointer<Element>> { base[range] }

    @inlinable
    package func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<Element>) throws -> R) rethrows -> R {
        try withExtendedLifetime(owner) { try body(base) }
    }

    @inlinable
    package func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try withExtendedLifetime(owner) { try body(UnsafeRawBufferPointer(base)) }
    }
}

extension SharedBuffer: Equatable where Element: Equatable {
    package static func == (a: SharedBuffer, b: SharedBuffer) -> Bool { a.elementsEqual(b) }
}

/// Heap storage for a `SharedBuffer` made from an array.
final class OwnedStorage<Element>: @unchecked Sendable {
    let pointer: UnsafeMutableBufferPointer<Element>

    init(_ array: [Element]) {
        let start = UnsafeMutablePointer<Element>.allocate(capacity: max(1, array.count))
        pointer = UnsafeMutableBufferPointer(start: start, count: array.count)
        _ = pointer.initialize(from: array)
    }

    deinit {
        pointer.baseAddress!.deinitialize(count: pointer.count)
        pointer.baseAddress!.deallocate()
    }
}
