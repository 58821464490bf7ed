import Foundation
import Synchronization

/// The engine's own workers: `threads − 1` helper threads that live as long as the engine and
/// run `forEachItem` together with the calling thread. A batch runs a few hundred short phases
/// (four per group of recordings), each ending at a barrier; starting them on
/// `DispatchQueue.concurrentPerform` costs tens of microseconds each, which at H = 100 is a
/// fifth of the batch. Here a phase starts by bumping a counter the helpers watch: they spin
/// on it for a short while after each phase, then sleep on a condition until the next.
/// Adam's update runs on the same workers (`Adam.update(_:gradients:l2:workers:)`), right
/// after the batch's last phase, while the helpers still spin.
///
/// Items are taken as workers become free, so which worker runs an item never changes a
/// result; worker 1 takes them from the back of the list and the others from the front, so
/// that with two threads each keeps to its own end of the tiles from phase to phase and group
/// to group (the backward pass then finds the blocks the forward pass wrote in its own core's
/// caches more often: ~8% faster batches at H = 100, ~3% at H = 800, 2 threads, best of
/// repeated identical batches). One caller at a time (the engine's).
final class WorkerPool: @unchecked Sendable {
    let threads: Int
    /// Spins (loads of the phase counter) before a helper goes to sleep: ~50–100 µs.
    private static let spinLimit = 20_000

    private let phase = Atomic<Int>(0)
    /// The items not yet taken, `front ..< back`, packed as `front | back << 32`: worker 1 takes
    /// from the back, the others from the front.
    private let remaining = Atomic<UInt64>(0)
    private let finished = Atomic<Int>(0)
    private let stopped = Atomic<Bool>(false)
    private let condition = NSCondition()
    private var sleepers = 0                       // guarded by `condition`
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
            remaining.store(UInt64(count) << 32, ordering: .relaxed)
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
        while let item = take(fromBack: worker == 1) { body(worker, item) }
    }

    /// The next item from the front or the back of those not yet taken; nil when none is left.
    @inline(__always)
    private func take(fromBack: Bool) -> Int? {
        var state = remaining.load(ordering: .relaxed)
        while true {
            let front = state & 0xffff_ffff, back = state >> 32
            if front >= back { return nil }
            let next = fromBack ? front | (back - 1) << 32 : state + 1
            let (exchanged, original) = remaining.compareExchange(expected: state, desired: next, ordering: .relaxed)
            if exchanged { return Int(fromBack ? back - 1 : front) }
            state = original
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
