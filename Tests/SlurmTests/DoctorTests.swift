import Foundation
import SpikeNet
import SpikeSupport
import Testing
import TestSupport

/// `spikesweep doctor` against the local Slurm cluster: everything a job needs is there (✔),
/// then one thing at a time is not (✘, with the fix).
@Suite(.serialized, .enabled(if: SlurmTestCluster.shouldRun, Comment(rawValue: SlurmTestCluster.skipMessage)))
struct DoctorTests {
    static func lines(_ run: CLIRunner.Result) -> [String] { run.stdout.split(separator: "\n").map(String.init) }

    static func spec(_ root: URL) throws -> URL {
        let url = root.appendingPathComponent("doctor.yaml")
        try "name: doctor\ndata: {synthetic: {count: 100}}\ncv: {folds: 2}\nepochs: 1\n".write(to: url, atomically: true, encoding: .utf8)
        return url
    }

    @Test func theLocalClusterHasEverythingAJobNeeds() throws {
        let root = try SharedData.makeTemporaryDirectory(); defer { try? FileManager.default.removeItem(at: root) }
        let run = try CLIRunner.run(["doctor", try Self.spec(root).path, "--profile", "local", "--mode", "mpi",
                                     "--results", root.appendingPathComponent("results").path])
        #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
        let lines = Self.lines(run)
        for what in ["spikesweep", "MPI", "OpenBLAS", "engine", "sbatch", "squeue", "partition local", "results", "data"] {
            #expect(lines.contains { $0.hasPrefix("✔ \(what)") }, "no ✔ for \(what): \(run.stdout)")
        }
        #expect(lines.contains { $0.hasPrefix("✔ MPI: Open MPI v4") })
        #expect(lines.contains { $0.hasPrefix(SpikeEngine.cpuHasAVX512 ? "✔ engine: AVX-512 kernels" : "✔ engine: AVX2 kernels") })
        // Accounting is optional (this cluster has none): a warning, not a failure.
        #expect(lines.allSatisfy { !$0.hasPrefix("✘") }, "\(run.stdout)")
    }

    @Test func aMissingPartitionIsNamedWithTheFix() throws {
        let root = try SharedData.makeTemporaryDirectory(); defer { try? FileManager.default.removeItem(at: root) }
        let run = try CLIRunner.run(["doctor", "--profile", "habrok", "--results", root.path])
        #expect(run.status == 1)
        let line = try #require(Self.lines(run).first { $0.hasPrefix("✘ partition regular") }, "\(run.stdout)")
        #expect(line.contains("not among this cluster's partitions (local)") && line.contains("fix: give slurm submit --partition"))
        #expect(run.stderr.contains("1 check failed"))
    }

    @Test func anUnwritableResultsFolderIsNamedWithTheFix() throws {
        guard getuid() == 0 else { print("skipped: a read-only mount needs root"); return }
        let root = try SharedData.makeTemporaryDirectory(); defer { try? FileManager.default.removeItem(at: root) }
        let readOnly = root.appendingPathComponent("ro")
        try FileManager.default.createDirectory(at: readOnly, withIntermediateDirectories: true)
        let mount = try CLIRunner.run(executable: URL(fileURLWithPath: "/bin/mount"), ["-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", readOnly.path])
        guard mount.status == 0 else { print("skipped: cannot mount a read-only tmpfs: \(mount.stderr)"); return }
        defer { _ = try? CLIRunner.run(executable: URL(fileURLWithPath: "/bin/umount"), [readOnly.path]) }
        let run = try CLIRunner.run(["doctor", "--profile", "local", "--results", readOnly.appendingPathComponent("results").path])
        #expect(run.status == 1)
        let line = try #require(Self.lines(run).first { $0.hasPrefix("✘ results") }, "\(run.stdout)")
        #expect(line.contains("Read-only file system") && line.contains("fix: give a folder you can write with --results"), "\(line)")
    }

    /// Runs `spikesweep doctor` with `arguments` in a private mount namespace where every
    /// library file under /usr and /opt named like `pattern` is covered by an empty file.
    static func doctorHiding(_ pattern: String, root: URL, _ arguments: [String]) throws -> Subprocess.Result {
        let script = #"""
            set -eu
            empty="$1/empty"; : > "$empty"
            find /usr /opt -xdev -name "$2" \( -type f -o -type l \) -print0 | xargs -0 -r readlink -f | sort -u |
                while read -r file; do mount --bind "$empty" "$file"; done
            shift 2
            exec "$@"
            """#
        return try Subprocess.run(URL(fileURLWithPath: "/usr/bin/unshare"),
                                  ["-m", "--propagation", "private", "/bin/bash", "-c", script, "bash", root.path, pattern,
                                   CLIRunner.executable.path, "doctor", "--profile", "local", "--results", root.path] + arguments)
    }

    @Test func aHiddenOpenMPIIsNamedWithTheFix() throws {
        guard getuid() == 0, FileManager.default.isExecutableFile(atPath: "/usr/bin/unshare") else {
            print("skipped: hiding libmpi needs root and unshare"); return
        }
        let root = try SharedData.makeTemporaryDirectory(); defer { try? FileManager.default.removeItem(at: root) }
        let run = try Self.doctorHiding("libmpi.so*", root: root, ["--mode", "mpi"])
        #expect(run.status == 1, "\(run.stdout)\(run.stderr)")
        let line = try #require(run.stdout.split(separator: "\n").first { $0.hasPrefix("✘ MPI") }, "\(run.stdout)")
        #expect(line.contains("libmpi.so.40 cannot be loaded") && line.contains("fix: module load OpenMPI"), "\(line)")
        // Array mode does not need it: a warning only.
        let array = try Self.doctorHiding("libmpi.so*", root: root, [])
        #expect(array.status == 0 && array.stdout.contains("! MPI: libmpi.so.40 cannot be loaded (only --mode mpi needs it)"),
                "\(array.stdout)\(array.stderr)")
    }

    /// Without OpenBLAS the engine keeps to its event-driven path: a warning naming the fix,
    /// never a failure.
    @Test func aHiddenOpenBLASIsAWarningWithTheFix() throws {
        guard getuid() == 0, FileManager.default.isExecutableFile(atPath: "/usr/bin/unshare") else {
            print("skipped: hiding libopenblas needs root and unshare"); return
        }
        let root = try SharedData.makeTemporaryDirectory(); defer { try? FileManager.default.removeItem(at: root) }
        let run = try Self.doctorHiding("libopenblas*.so*", root: root, [])
        #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
        let line = try #require(run.stdout.split(separator: "\n").first { $0.hasPrefix("! OpenBLAS") }, "\(run.stdout)")
        #expect(line.contains("event-driven path") && line.contains("fix: module load OpenBLAS"), "\(line)")
    }
}
