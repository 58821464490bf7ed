import Foundation

/// Large, randomly accessed buffers (W1, its gradient and moments, the kept surrogate values)
/// are asked to be backed by transparent huge pages where the kernel allows it (Linux
/// `madvise(MADV_HUGEPAGE)`): a gather over a 592 KB tile touches ~145 small pages, enough to
/// miss the first-level TLB on every row. Purely a performance hint; values are unaffected.
/// Whether to ask is the caller's choice (`EngineTuning.hugePages`).
enum HugePages {
    static let pageSize = 1 << 21

    /// Advises the 2 MB-aligned interior of `[base, base + bytes)`; call before first touch.
    static func advise(_ base: UnsafeMutableRawPointer, bytes: Int) {
        #if os(Linux)
        guard bytes >= 2 * pageSize else { return }
        let start = (Int(bitPattern: base) + pageSize - 1) & ~(pageSize - 1)
        let end = (Int(bitPattern: base) + bytes) & ~(pageSize - 1)
        if end > start {
            _ = madvise(UnsafeMutableRawPointer(bitPattern: start), end - start, 14)  // MADV_HUGEPAGE
        }
        #endif
    }
}
