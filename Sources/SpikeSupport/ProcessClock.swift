import Foundation

/// CPU time, memory and sleeping: what measurements and polling loops read.
package enum ProcessClock {
    /// CPU time consumed so far by the calling thread, in seconds (`CLOCK_THREAD_CPUTIME_ID`).
    package static func threadCPUSeconds() -> Double { seconds(CLOCK_THREAD_CPUTIME_ID) }

    /// CPU time (user + system) consumed so far by this whole process, in seconds.
    package static func processCPUSeconds() -> Double { seconds(CLOCK_PROCESS_CPUTIME_ID) }

    private static func seconds(_ clock: clockid_t) -> Double {
        var t = timespec()
        guard clock_gettime(clock, &t) == 0 else { return 0 }
        return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9
    }

    /// Peak resident set size of this process in MB (`getrusage`).
    package static var peakRSSMegabytes: Double {
        var usage = rusage()
        #if os(Linux)
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        return Double(usage.ru_maxrss) / 1024  // kilobytes on Linux
        #else
        getrusage(RUSAGE_SELF, &usage)
        return Double(usage.ru_maxrss) / (1024 * 1024)  // bytes on macOS
        #endif
    }

    /// Private memory of this process in bytes: `Anonymous:` in /proc/self/smaps_rollup (heap,
    /// thread stacks and other anonymous mappings, huge pages included; not file-backed pages
    /// such as a mapped dataset or frame cache), or nil where the kernel does not provide it
    /// (not Linux, or Linux before 4.14).
    package static func anonymousBytes() -> Int? {
        #if os(Linux)
        let fd = open("/proc/self/smaps_rollup", O_RDONLY)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { break }
            bytes += chunk[0..<n]
        }
        for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n") where line.hasPrefix("Anonymous:") {
            let fields = line.split(separator: " ")
            guard fields.count >= 3, fields[2] == "kB", let kilobytes = Int(fields[1]) else { return nil }
            return kilobytes * 1024
        }
        return nil
        #else
        return nil
        #endif
    }

    /// Returns the heap's free memory to the system (glibc `malloc_trim(0)`), so that memory
    /// freed earlier is neither counted by `anonymousBytes()` nor silently reused by what is
    /// measured next. Does nothing elsewhere.
    package static func releaseFreeHeapMemory() {
        #if canImport(Glibc)
        // malloc.h is not part of Swift's Glibc module: look the function up instead.
        typealias MallocTrim = @convention(c) (Int) -> Int32
        if let symbol = dlsym(nil, "malloc_trim") { _ = unsafeBitCast(symbol, to: MallocTrim.self)(0) }
        #endif
    }

    /// Sleeps the calling thread for `seconds` (`nanosleep`, resumed after signals).
    package static func sleep(_ seconds: Double) {
        var request = timespec(tv_sec: Int(seconds), tv_nsec: Int((seconds - seconds.rounded(.down)) * 1e9))
        var remaining = timespec()
        while nanosleep(&request, &remaining) != 0 && errno == EINTR { request = remaining }
    }
}

/// A poll interval that starts short and doubles while nothing happens, up to a bound; any
/// activity brings it back to the start. Polling loops sleep `wait()` between idle rounds.
package struct Backoff {
    package let bounds: ClosedRange<Double>
    package private(set) var current: Double

    package init(_ bounds: ClosedRange<Double>) {
        self.bounds = bounds
        current = bounds.lowerBound
    }

    /// Something happened: poll again soon.
    package mutating func reset() { current = bounds.lowerBound }

    /// Nothing happened: sleep the current interval, then double it (up to the bound).
    package mutating func wait() {
        ProcessClock.sleep(current)
        current = min(current * 2, bounds.upperBound)
    }
}
