import Foundation

/// A request to stop, set from a signal handler and polled by workers between batches.
///
/// `install` routes the given signals here instead of their default action: a Slurm element
/// gets SIGUSR1 ahead of its time limit (or SIGTERM on preemption), and its workers then
/// checkpoint their tasks and stop cleanly. A second SIGINT terminates as usual. Until the
/// run is `arm`ed (its tasks start), there is nothing to checkpoint: a signal then calls
/// `whileSettingUp`, which ends the process at once.
package final class StopSignal: @unchecked Sendable {
    private let lock = NSLock()
    private var received: Int32?
    private var problem: String?
    private var sources: [DispatchSourceSignal] = []
    private var isArmed = false

    package init() {}

    /// The first signal received, or nil.
    package var signal: Int32? {
        lock.lock(); defer { lock.unlock() }
        return received
    }

    /// Why the run stops when it is not a signal: the first environment failure (a result or
    /// checkpoint that could not be written, a full disk).
    package var failure: String? {
        lock.lock(); defer { lock.unlock() }
        return problem
    }

    package var isRequested: Bool {
        lock.lock(); defer { lock.unlock() }
        return received != nil || problem != nil
    }

    /// Asks workers to stop (as if `signal` had arrived).
    package func request(_ signal: Int32) {
        lock.lock(); defer { lock.unlock() }
        if received == nil { received = signal }
    }

    /// Asks workers to stop because the environment failed (`why`, one line; the first one is kept).
    package func fail(_ why: String) {
        lock.lock(); defer { lock.unlock() }
        if problem == nil { problem = why }
    }

    /// A stop signal fed by `signals` (e.g. SIGUSR1, SIGTERM, SIGINT, SIGHUP).
    package static func install(_ signals: [Int32], whileSettingUp: (@Sendable (Int32) -> Void)? = nil) -> StopSignal {
        let stop = StopSignal()
        stop.isArmed = whileSettingUp == nil
        for number in signals {
            Foundation.signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                if !stop.armed, let whileSettingUp { whileSettingUp(number) }
                stop.request(number)
                // A second Ctrl-C should not wait for checkpoints.
                if number == SIGINT { Foundation.signal(SIGINT, SIG_DFL) }
            }
            source.resume()
            stop.sources.append(source)
        }
        return stop
    }

    /// Tasks are about to start: from now on a signal stops them with checkpoints.
    package func arm() {
        lock.lock(); defer { lock.unlock() }
        isArmed = true
    }

    private var armed: Bool {
        lock.lock(); defer { lock.unlock() }
        return isArmed
    }

    /// The signal's name for messages ("SIGUSR1").
    package static func name(_ signal: Int32) -> String {
        switch signal {
        case SIGUSR1: return "SIGUSR1"
        case SIGTERM: return "SIGTERM"
        case SIGINT: return "SIGINT"
        case SIGHUP: return "SIGHUP"
        default: return "signal \(signal)"
        }
    }
}
