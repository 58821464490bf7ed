// swift-tools-version:6.0
import PackageDescription
import Foundation

// Hot loops (the event-driven SNN engine, denoise and framing) need AVX2/FMA code generation
// to vectorize; Swift only emits it for an explicit target CPU. The default, `haswell`
// (Haswell/Zen and later: AVX2, FMA, BMI2), runs on every current cluster node. Override at
// build time with SPIKESWEEP_TARGET_CPU=native|x86-64|… ("none" adds no flag at all).
// OpenBLAS picks its own kernels at run time and is unaffected; so does the engine, whose
// AVX-512 kernels (Sources/CSpikeSIMD) are built for AVX-512 whatever this setting and run only
// on CPUs that have it.
let targetCPU: String? = {
    let requested = ProcessInfo.processInfo.environment["SPIKESWEEP_TARGET_CPU"]
    if requested == "none" { return nil }
    if let requested, !requested.isEmpty { return requested }
    #if arch(x86_64)
    return "haswell"
    #else
    return nil
    #endif
}()

var hotSwiftSettings: [SwiftSetting] = [.unsafeFlags(["-enforce-exclusivity=unchecked"])]
var hotCSettings: [CSetting] = []
if let cpu = targetCPU {
    hotSwiftSettings.append(.unsafeFlags(["-target-cpu", cpu]))
    hotCSettings.append(.unsafeFlags(["-march=\(cpu)"]))
}

// Open MPI is loaded at run time, never linked (Sources/CMPILoader): the tool runs on nodes
// without it and needs it only in MPI mode. Building the loader needs Open MPI's mpi.h, for
// its prototypes and constants: where pkg-config says it is (Debian: libopenmpi-dev), else
// where the compiler finds it by itself (a cluster's `module load OpenMPI` sets CPATH).
// SPIKESWEEP_MPI_INCLUDE=DIR overrides.
let mpiIncludeFlags: [String] = {
    if let directory = ProcessInfo.processInfo.environment["SPIKESWEEP_MPI_INCLUDE"], !directory.isEmpty {
        return ["-I", directory]
    }
    let pkgConfig = Process()
    pkgConfig.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    pkgConfig.arguments = ["pkg-config", "--cflags-only-I", "ompi"]
    let output = Pipe()
    pkgConfig.standardOutput = output
    pkgConfig.standardError = FileHandle.nullDevice
    guard (try? pkgConfig.run()) != nil else { return [] }
    let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    pkgConfig.waitUntilExit()
    guard pkgConfig.terminationStatus == 0 else { return [] }
    return text.split(whereSeparator: \.isWhitespace).filter { $0.hasPrefix("-I") }.map(String.init)
}()

let package = Package(
    name: "SpikeSweep",
    products: [
        .executable(name: "spikesweep", targets: ["spikesweep"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
    ],
    targets: [
        .systemLibrary(name: "COpenBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
        // dlopen of libmpi.so.40; -ldl for glibc before 2.34, where dlopen is not in libc.
        .target(name: "CMPILoader", cSettings: [.unsafeFlags(mpiIncludeFlags)], linkerSettings: [.linkedLibrary("dl")]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        // The bottom of the stack: atomic files, fingerprints, seeds, subprocesses, errors, reporting.
        .target(name: "SpikeSupport"),
        .target(name: "SpikeEvents", dependencies: ["SpikeSupport", "CZlib"], swiftSettings: hotSwiftSettings),
        // OpenBLAS serves the engine's dense path, loaded at run time like Open MPI (Sources/CBLASLoader).
        .target(name: "CBLASLoader", linkerSettings: [.linkedLibrary("dl")]),
        // Inline SIMD helpers Swift cannot express (a movemask), inlined into the engine's loops.
        .target(name: "CSpikeSIMD", cSettings: hotCSettings),
        .target(name: "SpikeNet", dependencies: ["SpikeSupport", "SpikeEvents", "CBLASLoader", "CSpikeSIMD"],
                swiftSettings: hotSwiftSettings),
        .target(name: "Sweeps", dependencies: ["SpikeSupport", "SpikeNet", .product(name: "Yams", package: "Yams")]),
        .target(name: "SlurmFiles", path: "slurm", exclude: ["README.md"], sources: ["SlurmFiles.swift"],
                resources: ["array.sbatch", "mpi.sbatch", "collect.sbatch", "habrok.env", "local.env"].map { .embedInCode($0) }),
        .target(name: "Cluster", dependencies: ["SpikeSupport", "SpikeNet", "Sweeps", "CMPILoader", "SlurmFiles"]),
        // Every command: parses, calls one library function, prints.
        .target(name: "SpikeSweepCLI", dependencies: [
            "SpikeSupport", "SpikeEvents", "SpikeNet", "Sweeps", "Cluster",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .executableTarget(name: "spikesweep", dependencies: ["SpikeSweepCLI"]),
        // The same command line with test doubles injected (never shipped).
        .executableTarget(name: "spikesweep-testtool", dependencies: ["SpikeSweepCLI", "SpikeNet"], path: "Tests/TestTool"),
        .target(name: "TestSupport", dependencies: ["SpikeSupport", "SpikeEvents"], path: "Tests/TestSupport"),
        .testTarget(name: "SpikeEventsTests", dependencies: ["SpikeEvents", "TestSupport"]),
        .testTarget(name: "SweepsTests", dependencies: ["Sweeps", "TestSupport"], exclude: ["Fixtures"]),
        .testTarget(name: "ClusterTests", dependencies: ["Cluster", "Sweeps", "TestSupport"]),
        // OpenBLAS serves the dense reference the engine is checked against; the tool does not link it.
        // The engine's target CPU, so that the C helpers the tests call take the engine's code path.
        .testTarget(name: "SpikeNetTests", dependencies: ["SpikeNet", "TestSupport", "COpenBLAS", "CSpikeSIMD"],
                    swiftSettings: hotSwiftSettings),
        .testTarget(name: "CLITests", dependencies: ["SpikeEvents", "SpikeNet", "TestSupport"]),
        .testTarget(name: "SlurmTests", dependencies: ["Cluster", "Sweeps", "SpikeNet", "TestSupport"]),
    ],
    swiftLanguageModes: [.v5]
)
