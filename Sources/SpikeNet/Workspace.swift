/// A growable raw buffer owned by the engine: its address is stable between `reserve` calls,
/// so the hot loops read and write it through a plain pointer, without a `withUnsafe…` scope.
final class Workspace<Element: Numeric> {
    private(set) var pointer: UnsafeMutablePointer<Element>
    private(set) var capacity: Int
    /// Whether a large allocation is advised to use transparent huge pages.
    let hugePages: Bool

    init(hugePages: Bool) {
        self.hugePages = hugePages
        capacity = 0
        pointer = UnsafeMutableRawPointer.allocate(byteCount: MemoryLayout<Element>.stride, alignment: 64).assumingMemoryBound(to: Element.self)
    }

    /// Makes room for `count` elements. When it grows, the old contents are dropped and the
    /// new storage is zero-filled.
    /// - Complexity: O(count) when it grows, O(1) otherwise.
    func reserve(_ count: Int) {
        guard count > capacity else { return }
        pointer.deallocate()
        pointer = UnsafeMutableRawPointer.allocate(byteCount: count * MemoryLayout<Element>.stride, alignment: 64)
            .bindMemory(to: Element.self, capacity: count)
        if hugePages { HugePages.advise(UnsafeMutableRawPointer(pointer), bytes: count * MemoryLayout<Element>.stride) }
        pointer.initialize(repeating: 0, count: count)
        capacity = count
    }

    deinit { pointer.deallocate() }
}
