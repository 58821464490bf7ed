import Foundation
import SpikeNet
import SpikeSweepCLI

// `spikesweep-testtool`: the spikesweep command line with test doubles injected, for end-to-end
// tests of failure handling through real processes (mpirun, Slurm). Not shipped.
//   SPIKESWEEP_TEST_FAIL_CONFIGS=<config_id>,…   those configurations' tasks diverge in their first batch
//   SPIKESWEEP_TEST_TOOL_VERSION=<version>       pose as another build towards other MPI ranks
//   SPIKESWEEP_TEST_RUNG_PAUSE=<rung>:<file>     when that rung (0-based) opens, create the file and wait 60 s
//   SPIKESWEEP_TEST_OPENBLAS_THREADS=1           load OpenBLAS as the engine does, print the process's
//                                                threads before and after and OPENBLAS_NUM_THREADS after
//                                                ("-" when unset), and exit
let environment = ProcessInfo.processInfo.environment
if environment["SPIKESWEEP_TEST_OPENBLAS_THREADS"] == "1" {
    func threads() -> Int { (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task").count) ?? -1 }
    let before = threads()
    if let reason = SpikeEngine.denseUnavailableReason { print("unavailable: \(reason)"); exit(0) }
    print(before, threads(), getenv("OPENBLAS_NUM_THREADS").map { String(cString: $0) } ?? "-")
    exit(0)
}
let failing = Set((environment["SPIKESWEEP_TEST_FAIL_CONFIGS"] ?? "").split(separator: ",")
    .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty })
var dependencies = CLIDependencies()
if !failing.isEmpty {
    dependencies.faultInjection = { failing.contains($0.configID) ? .nonFiniteLoss(epoch: 1, batch: 1) : nil }
}
if let version = environment["SPIKESWEEP_TEST_TOOL_VERSION"], !version.isEmpty {
    dependencies.toolVersion = version
}
if let pause = environment["SPIKESWEEP_TEST_RUNG_PAUSE"], let colon = pause.firstIndex(of: ":"), let rung = Int(pause[..<colon]) {
    let marker = String(pause[pause.index(after: colon)...])
    dependencies.rungOpened = { opened in
        guard opened == rung else { return }
        _ = FileManager.default.createFile(atPath: marker, contents: Data())
        sleep(60)
    }
}
SpikeSweep.start(dependencies: dependencies)
