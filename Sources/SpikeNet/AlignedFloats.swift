/// A fixed-length run of floats (W1, its gradient and its Adam moments) whose storage starts on
/// a cache line, with an array's value semantics (copy on write).
///
/// The engine reads W1 as 128-byte rows of a half tile (`NetworkShape.w1Index`). In a Swift
/// array the elements start 32 bytes into a heap block whose own alignment is malloc's (16
/// bytes), so where W1 landed depended on what the process had allocated before: a row then
/// spans three cache lines instead of two, and two of its four 32-byte loads cross a line.
/// Where that happened (W1 16 bytes past a line at H = 100), the hidden forward pass took about
/// 10% longer. Here the storage starts on a 64-byte boundary, and on a 2 MB one when it is advised
/// to use huge pages, so that the advice covers all of it (`HugePages`).
package struct AlignedFloats: RandomAccessCollection, MutableCollection, Equatable, @unchecked Sendable {
    // @unchecked: the storage is shared only while no copy writes to it (copy on write).
    @usableFromInline
    final class Storage {
        @usableFromInline let base: UnsafeMutablePointer<Float>
        @usableFromInline let count: Int
        let hugePages: Bool

        /// Zero-filled storage for `count` floats.
        init(count: Int, hugePages: Bool) {
            let bytes = Swift.max(1, count) * MemoryLayout<Float>.stride
            let advised = hugePages && bytes >= 2 * HugePages.pageSize
            let raw = UnsafeMutableRawPointer.allocate(byteCount: bytes,
                                                       alignment: advised ? HugePages.pageSize : AlignedFloats.alignment)
            if advised { HugePages.advise(raw, bytes: bytes) }
            base = raw.bindMemory(to: Float.self, capacity: Swift.max(1, count))
            base.initialize(repeating: 0, count: Swift.max(1, count))
            self.count = count
            self.hugePages = hugePages
        }

        func copy() -> Storage {
            let other = Storage(count: count, hugePages: hugePages)
            other.base.update(from: base, count: count)
            return other
        }

        deinit { base.deallocate() }
    }

    /// Bytes the storage's start is a multiple of (a cache line).
    package static let alignment = 64

    @usableFromInline var storage: Storage

    /// `count` zeros; with `hugePages`, large storage is advised to use transparent huge pages.
    package init(zeros count: Int, hugePages: Bool = true) {
        precondition(count >= 0, "negative count")
        storage = Storage(count: count, hugePages: hugePages)
    }

    /// A copy of `values`.
    package init(_ values: [Float], hugePages: Bool = true) {
        storage = Storage(count: values.count, hugePages: hugePages)
        values.withUnsafeBufferPointer { if let first = $0.baseAddress { storage.base.update(from: first, count: values.count) } }
    }

    @inlinable package var startIndex: Int { 0 }
    @inlinable package var endIndex: Int { storage.count }

    @inlinable
    package subscript(position: Int) -> Float {
        get {
            precondition(position >= 0 && position < storage.count, "index out of range")
            return storage.base[position]
        }
        set {
            precondition(position >= 0 && position < storage.count, "index out of range")
            makeUnique()
            storage.base[position] = newValue
        }
    }

    @inlinable
    package func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<Float>) throws -> R) rethrows -> R {
        try body(UnsafeBufferPointer(start: storage.base, count: storage.count))
    }

    @inlinable
    package mutating func withUnsafeMutableBufferPointer<R>(_ body: (UnsafeMutableBufferPointer<Float>) throws -> R) rethrows -> R {
        makeUnique()
        return try body(UnsafeMutableBufferPointer(start: storage.base, count: storage.count))
    }

    @usableFromInline
    mutating func makeUnique() {
        if !isKnownUniquelyReferenced(&storage) { storage = storage.copy() }
    }

    /// As `[Float]` compares: the same storage is equal, otherwise element by element with `==`
    /// (NaN ≠ NaN, −0 = +0).
    package static func == (a: AlignedFloats, b: AlignedFloats) -> Bool {
        guard a.count == b.count else { return false }
        if a.storage === b.storage { return true }
        for k in 0..<a.count where a.storage.base[k] != b.storage.base[k] { return false }
        return true
    }
}

/// A tensor's floats, read and written through a pointer to the first: `[Float]` (biases, W2)
/// and `AlignedFloats` (W1), so that Adam and the file coders take either.
protocol FloatStorage {
    var count: Int { get }
    /// Runs `body` with the address of the first float (valid only inside it; never empty).
    func withFirst<R>(_ body: (UnsafePointer<Float>) -> R) -> R
    /// Runs `body` with the writable address of the first float (valid only inside it).
    mutating func withMutableFirst<R>(_ body: (UnsafeMutablePointer<Float>) -> R) -> R
}

extension Array: FloatStorage where Element == Float {
    func withFirst<R>(_ body: (UnsafePointer<Float>) -> R) -> R { withUnsafeBufferPointer { body($0.baseAddress!) } }
    mutating func withMutableFirst<R>(_ body: (UnsafeMutablePointer<Float>) -> R) -> R {
        withUnsafeMutableBufferPointer { body($0.baseAddress!) }
    }
}

extension AlignedFloats: FloatStorage {
    func withFirst<R>(_ body: (UnsafePointer<Float>) -> R) -> R { body(storage.base) }
    mutating func withMutableFirst<R>(_ body: (UnsafeMutablePointer<Float>) -> R) -> R {
        makeUnique()
        return body(storage.base)
    }
}
