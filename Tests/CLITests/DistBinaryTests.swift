import Foundation
import SpikeSupport
import Testing
import TestSupport

/// The binary `make dist` builds (`dist/spikesweep`), and where it can be tested: as root, with
/// `unshare`, so that a mount namespace can hide libraries from it.
enum DistBinary {
    static let executable = SharedData.packageRoot.appendingPathComponent("dist/spikesweep")
    static let unshare = URL(fileURLWithPath: "/usr/bin/unshare")

    /// Why the dist tests cannot run here, or nil.
    static let missing: String? = {
        if getuid() != 0 { return "not root (hiding libraries needs a mount namespace: unshare -m)" }
        if !FileManager.default.isExecutableFile(atPath: unshare.path) { return "no \(unshare.path) (Debian: util-linux)" }
        if !FileManager.default.isExecutableFile(atPath: executable.path) { return "no \(executable.path): run `make dist` first" }
        return nil
    }()

    /// Whether a reason to skip is a failure instead (the `CI` variable is set: CI runs `make dist` as root).
    static var isRequired: Bool { MPIRunner.isRequired }
    static var shouldRun: Bool { missing == nil || isRequired }
    static let skipMessage = "skipped: \(missing ?? "")"
}

/// `dist/spikesweep` on a node without Swift and without MPI: every command but MPI mode
/// works, MPI mode says in one line what it looked for and how to fix it; with Open MPI
/// present, the same binary runs under mpirun and gives the local run's results.
@Suite(.serialized, .enabled(if: DistBinary.shouldRun, Comment(rawValue: DistBinary.skipMessage)))
struct DistBinaryTests {
    /// Runs `script` with bash in a new mount namespace (private propagation: nothing leaks
    /// out), after bind-mounting an empty file over every Swift runtime library (under /usr,
    /// /opt and wherever the ordinary build finds libswiftCore.so), every `libmpi*` and every
    /// `libopenblas*` under /usr and /opt.
    /// `script` gets `root` as $1 (where it writes), then `arguments`.
    static func runWithoutSwiftMPIAndBLAS(_ script: String, in root: URL, arguments: [String]) throws -> CLIRunner.Result {
        let hide = #"""
            set -eu
            empty="$1/empty"; : > "$empty"
            runtime=$(ldd "\#(CLIRunner.executable.path)" | awk '/libswiftCore\.so/ { print $3 }')
            { find /usr /opt ${runtime:+"$(dirname "$runtime")"} -xdev \( -name 'libmpi*.so*' -o -name 'libopenblas*.so*' \
                -o -path '*/lib/swift/linux/*.so*' -o -name 'libswift*.so*' -o -name 'libFoundation*.so*' \
                -o -name 'lib_Foundation*.so*' -o -name 'libdispatch.so*' -o -name 'libBlocksRuntime.so*' \) \
                \( -type f -o -type l \) -print0 | xargs -0 -r readlink -f; } | sort -u > "$1/hidden.txt"
            while read -r file; do
                [ -f "$file" ] && mount --bind "$empty" "$file"
            done < "$1/hidden.txt"
            """#
        guard let unshare = DistBinary.missing == nil ? DistBinary.unshare : nil else {
            throw MPIRunnerError("dist tests required (CI is set) but \(DistBinary.missing ?? "")")
        }
        return try Subprocess.run(unshare, ["-m", "--propagation", "private", "/bin/bash", "-c", hide + "\n" + script, "bash", root.path] + arguments,
                                  timeout: 600)
    }

    /// What one command printed inside the namespace (written there by `run_env_i`).
    struct Output {
        var status: Int32
        var stdout: String
        var stderr: String
        init(_ root: URL, _ name: String) throws {
            func read(_ ext: String) throws -> String {
                try String(contentsOf: root.appendingPathComponent("\(name).\(ext)"), encoding: .utf8)
            }
            status = Int32(try read("status").trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
            stdout = try read("stdout")
            stderr = try read("stderr")
        }
    }

    @Test func runsWithoutSwiftAndMPIAndUnderMPIRunGivesTheLocalResults() throws {
        let root = try SharedData.makeTemporaryDirectory("spikesweep-dist"); defer { try? FileManager.default.removeItem(at: root) }
        let dist = DistBinary.executable.path
        let smoke = SharedData.packageRoot.appendingPathComponent("sweeps/smoke.yaml").path
        let dynamic = CLIRunner.executable.path
        // Each command under `env -i` (an empty environment); its status and output go to files.
        let script = """
            r="$1" dist="$2" smoke="$3" dynamic="$4"
            run_env_i() { name=$1; shift; set +e; env -i "$@" > "$r/$name.stdout" 2> "$r/$name.stderr"; echo $? > "$r/$name.status"; set -e; }
            cd "$r"
            run_env_i dynamic "$dynamic" --version
            run_env_i synth "$dist" data synth -o "$r/synth.spk" --count 200 --seed 1
            run_env_i inspect "$dist" data inspect "$r/synth.spk"
            run_env_i sweep "$dist" sweep "$smoke" --results "$r/local"
            run_env_i leaderboard "$dist" leaderboard "$r/local/smoke"
            run_env_i mpi "$dist" sweep "$smoke" --mpi --results "$r/mpi-missing"
            """
        let namespace = try Self.runWithoutSwiftMPIAndBLAS(script, in: root, arguments: [dist, smoke, dynamic])
        try #require(namespace.status == 0, "namespace set-up failed: \(namespace.stderr)")

        // What was hidden: the Swift runtime and Open MPI (OpenBLAS where installed).
        let hidden = try String(contentsOf: root.appendingPathComponent("hidden.txt"), encoding: .utf8).split(separator: "\n")
        #expect(hidden.contains { $0.contains("libswiftCore.so") }, "Swift runtime not found to hide: \(hidden)")
        #expect(hidden.contains { $0.contains("libFoundation.so") }, "Foundation not found to hide: \(hidden)")
        #expect(hidden.contains { $0.contains("libmpi.so.40") }, "libmpi.so.40 not found to hide: \(hidden)")
        // The hiding works: the ordinary build, which links the Swift runtime, cannot start.
        let control = try Output(root, "dynamic")
        #expect(control.status != 0, "the dynamically linked build ran with the Swift runtime hidden: \(control.stdout)")

        let synth = try Output(root, "synth")
        #expect(synth.status == 0, "data synth: \(synth.stderr)")
        let inspect = try Output(root, "inspect")
        #expect(inspect.status == 0, "data inspect: \(inspect.stderr)")
        #expect(inspect.stdout.contains("200"), "data inspect: \(inspect.stdout)")

        let sweep = try Output(root, "sweep")
        #expect(sweep.status == 0, "sweep: \(sweep.stderr)")
        let local = root.appendingPathComponent("local/smoke")
        let localFolds = ResultFiles.folds(local)
        #expect(localFolds.count == 8, "smoke sweep: \(localFolds.count) of 8 rows in folds.csv")

        let leaderboard = try Output(root, "leaderboard")
        #expect(leaderboard.status == 0, "leaderboard: \(leaderboard.stderr)")
        #expect(leaderboard.stdout.split(separator: "\n").count >= 5, "leaderboard: \(leaderboard.stdout)")

        // MPI mode without Open MPI: one line naming the library and the fix, a non-zero status.
        let mpi = try Output(root, "mpi")
        #expect(mpi.status == 1)
        let lines = mpi.stderr.split(separator: "\n")
        #expect(lines.count == 1, "stderr: \(mpi.stderr)")
        for needle in ["libmpi.so.40", "module load OpenMPI", "LD_LIBRARY_PATH"] {
            #expect(mpi.stderr.contains(needle), "stderr lacks \(needle): \(mpi.stderr)")
        }
        #expect(mpi.stdout.isEmpty, "stdout: \(mpi.stdout)")

        // Outside the namespace, with Open MPI present: the same binary under mpirun -np 2.
        guard MPIRunner.shouldRun else { print(MPIRunner.skipMessage); return }
        let run = try MPIRunner.run(ranks: 2, ["sweep", smoke, "--results", root.appendingPathComponent("np2").path],
                                    executable: DistBinary.executable)
        #expect(run.status == 0, "mpirun: \(run.stderr)")
        #expect(run.stdout.contains("on 2 ranks"), "mpirun: \(run.stdout)")
        #expect(ResultFiles.folds(root.appendingPathComponent("np2/smoke")) == localFolds)
    }
}
