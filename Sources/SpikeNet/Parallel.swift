import Dispatch
import Synchronization

/// Runs `body(worker, item)` for every item in `0..<count` on up to `threads` workers, each
/// taking the next untaken item when it becomes free (so a worker slowed down by another
/// process on the machine simply does fewer items). `worker` (0 ..< threads) selects
/// per-worker scratch space. Callers use this only for items that are independent of each
/// other, so which worker runs an item, and when, never changes a result.
func forEachItem(_ count: Int, threads: Int, _ body: (_ worker: Int, _ item: Int) -> Void) {
    guard threads > 1, count > 1 else {
        for item in 0..<count { body(0, item) }
        return
    }
    let next = ItemCounter()
    DispatchQueue.concurrentPerform(iterations: min(threads, count)) { worker in
        while true {
            let item = next.take()
            if item >= count { return }
            body(worker, item)
        }
    }
}

/// The shared "next item" of `forEachItem`.
final class ItemCounter: Sendable {
    private let value = Atomic<Int>(0)
    func take() -> Int { value.wrappingAdd(1, ordering: .relaxed).oldValue }
}
