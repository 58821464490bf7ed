import Foundation
import Synchronization

/// The engine's own workers: `threads − 1` helper threads that live as long as the engine and
/// run `forEachItem` together with the calling thread. A batch runs a few hundred short phases
/// (four per group of recordings), each ending at a barrier; starting them on
/// `DispatchQueue.concurrentPerform` costs tens of microseconds each, which at H = 100 is a
/// fifth of the batch. Here a phase starts by bumping a counter the helpers watch: they spin
/// on it for a short while after each phase, then sleep on a condition until the next.
///
/// Items are taken from a shared counter, as in the free function `forEachItem`, so which
/// worker runs an item never changes a result. One caller at a time (the engine's).
final class WorkerPool: @unchecked Sendable {
    let threads: Int
    /// Spins (loads of the phase counter) before a helper goes to sleep: ~50–100 µs.
    private static let spinLimit = 20_000

    private let phase = Atomic<Int>(0)
    private let nextItem = Atomic<Int>(0)
    private let finished = Atomic<Int>(0)
    private let stopped = Atomic<Bool>(false)
    private let condition = NSCondition()
    private var sleepers = 0                       // guarded by `condition`
    private var itemCount = 0                      // written before `phase` is bumped
    private var body: ((Int, Int) -> Void)?        // written before `phase` is bumped
    private let exited = DispatchSemaphore(value: 0)

    init(threads: Int) {
        self.threads = max(1, threads)
        for worker in 1..<self.threads {
            let thread = Thread { [unowned(unsafe) self] in self.helperLoop(worker: worker) }
            thread.name = "spikesweep-engine-\(worker)"
            thread.start()
        }
    }

    deinit {
        guard threads > 1 else { return }
        stopped.store(true, ordering: .sequentiallyConsistent)
        phase.wrappingAdd(1, ordering: .sequentiallyConsistent)
        condition.lock(); condition.broadcast(); condition.unlock()
        for _ in 1..<threads { exited.wait() }
    }

    /// Runs `body(worker, item)` for every item in `0..<count` on the calling thread (worker 0)
    /// and the helpers; returns when all are done.
    func forEachItem(_ count: Int, _ body: (_ worker: Int, _ item: Int) -> Void) {
        guard threads > 1, count > 1 else {
            for item in 0..<count { body(0, item) }
            return
        }
        withoutActuallyEscaping(body) { body in
            self.body = body
            itemCount = count
            nextItem.store(0, ordering: .relaxed)
            finished.store(0, ordering: .relaxed)
            phase.wrappingAdd(1, ordering: .sequentiallyConsistent)
            condition.lock()
            if sleepers > 0 { condition.broadcast() }
            condition.unlock()
            runItems(worker: 0, body)
            var spins = 0
            while finished.load(ordering: .acquiring) < threads - 1 {
                spins += 1
                if spins > 1000 { sched_yield() }
            }
            self.body = nil
        }
    }

    private func runItems(worker: Int, _ body: (Int, Int) -> Void) {
        while true {
            let item = nextItem.wrappingAdd(1, ordering: .relaxed).oldValue
            if item >= itemCount { return }
            body(worker, item)
        }
    }

    private func helperLoop(worker: Int) {
        // Phase 0 is "no work yet": a helper that starts late must not skip a phase begun
        // before it ran.
        var seen = 0
        while true {
            var spins = 0
            while phase.load(ordering: .acquiring) == seen {
                spins += 1
                guard spins > Self.spinLimit else { continue }
                condition.lock()
                sleepers += 1
                while phase.load(ordering: .acquiring) == seen { condition.wait() }
                sleepers -= 1
                condition.unlock()
            }
            seen = phase.load(ordering: .acquiring)
            if stopped.load(ordering: .acquiring) { exited.signal(); return }
            if let body { runItems(worker: worker, body) }
            finished.wrappingAdd(1, ordering: .releasing)
        }
    }
}
