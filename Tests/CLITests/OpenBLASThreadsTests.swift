import Foundation
import Testing
import TestSupport

/// OpenBLAS is opened single-threaded. Loaded as it comes, it starts a thread per core, each
/// spinning for a while: on a 128-core node with a rank per core that is 128 × 127 threads, past
/// the usual per-user process limit (RLIMIT_NPROC, often 4096), where its `pthread_create` calls
/// fail. The engine calls it on one thread only.
@Suite struct OpenBLASThreadsTests {
    /// Loading OpenBLAS as the engine does starts no thread, whatever OPENBLAS_NUM_THREADS or
    /// OMP_NUM_THREADS ask for, and leaves OPENBLAS_NUM_THREADS as it was (for the processes
    /// the tool starts: the side-by-side baselines).
    @Test(arguments: [[:], ["OPENBLAS_NUM_THREADS": "8"], ["OMP_NUM_THREADS": "4"]])
    func loadingOpenBLASStartsNoThread(environment: [String: String]) throws {
        guard ProcessInfo.processInfo.activeProcessorCount > 1 else {
            print("OpenBLAS starts no thread on one core, so the check would be vacuous; skipped")
            return
        }
        let run = try CLIRunner.run(executable: CLIRunner.testTool, [],
                                    environment: environment.merging(["SPIKESWEEP_TEST_OPENBLAS_THREADS": "1"]) { a, _ in a })
        #expect(run.status == 0, "\(run.stderr)")
        if run.stdout.hasPrefix("unavailable") { print("OpenBLAS could not be loaded, skipped: \(run.stdout)"); return }
        let fields = run.stdout.split(whereSeparator: \.isWhitespace).map(String.init)
        try #require(fields.count == 3, "unexpected output: \(run.stdout)")
        #expect(fields[0] == fields[1], "threads before and after loading OpenBLAS: \(run.stdout)")
        let expected = environment["OPENBLAS_NUM_THREADS"] ?? ProcessInfo.processInfo.environment["OPENBLAS_NUM_THREADS"] ?? "-"
        #expect(fields[2] == expected)
    }
}
