import Foundation
import SpikeEvents
import SpikeNet
import SpikeSupport
import Sweeps

/// `spikesweep doctor`: what a job submitted from here would need, checked on the login node
/// before any queue time is spent.
package enum Doctor {
    /// One check: what was looked at, what was found and, when it falls short, the fix.
    package struct Check: Sendable, Equatable {
        package enum Status: String, Sendable { case ok, missing, warning }
        package var status: Status
        package var what: String
        package var detail: String
        package var fix: String?
    }

    package struct Options: Sendable {
        /// A sweep spec whose data must be readable (optional).
        package var specPath: String?
        package var resultsRoot: URL
        package var profile: SlurmProfile
        /// `mpi`: MPI mode needs Open MPI here; `array`: it is optional.
        package var mode: SlurmMode

        package init(specPath: String?, resultsRoot: URL, profile: SlurmProfile, mode: SlurmMode) {
            self.specPath = specPath
            self.resultsRoot = resultsRoot
            self.profile = profile
            self.mode = mode
        }
    }

    /// Runs every check; a `missing` one is something a submitted job would need.
    package static func run(_ o: Options) -> [Check] {
        var checks: [Check] = []
        var glibc = ""
        var buffer = [CChar](repeating: 0, count: 64)
        if confstr(Int32(_CS_GNU_LIBC_VERSION), &buffer, buffer.count) > 0 { glibc = ", \(String(cString: buffer))" }
        checks.append(Check(status: .ok, what: "spikesweep", detail: "\(ToolVersion.string) runs on \(ProcessInfo.processInfo.hostName)\(glibc)", fix: nil))
        checks.append(mpi(required: o.mode == .mpi))
        checks.append(openBLAS())
        checks.append(kernels())
        checks += slurm(o.profile)
        checks.append(results(o.resultsRoot))
        if let spec = o.specPath { checks.append(data(spec)) }
        return checks
    }

    static func mpi(required: Bool) -> Check {
        do {
            let (path, version) = try MPILibrary.location()
            let short = version.split(separator: ",").first.map { $0.trimmingCharacters(in: .whitespaces) } ?? version
            return Check(status: .ok, what: "MPI", detail: "\(short) from \(path)", fix: nil)
        } catch {
            return Check(status: required ? .missing : .warning, what: "MPI",
                         detail: "\(MPILibrary.name) cannot be loaded" + (required ? "" : " (only --mode mpi needs it)"),
                         fix: "module load OpenMPI (Open MPI 4), or put its lib directory on LD_LIBRARY_PATH")
        }
    }

    /// OpenBLAS serves only the engine's dense path (`EngineTuning.measuredDenseCrossover(avx512:)`); without it the
    /// engine keeps to its event-driven path, so it is never required.
    static func openBLAS() -> Check {
        if let reason = SpikeEngine.denseUnavailableReason {
            return Check(status: .warning, what: "OpenBLAS",
                         detail: "\(reason); the engine keeps to its event-driven path (N-MNIST frames are ~1% dense and never need the dense one)",
                         fix: "module load OpenBLAS, or put its lib directory on LD_LIBRARY_PATH, for dense frames")
        }
        return Check(status: .ok, what: "OpenBLAS", detail: "kernel \(SpikeEngine.denseKernelName): the dense path is available", fix: nil)
    }

    /// Which kernels the engine runs on this machine's CPU (a login node's CPU may differ from the
    /// compute nodes'; the choice is made again on each node). Never required: without AVX-512
    /// the engine runs its 256-bit loops, with the same results.
    static func kernels() -> Check {
        Check(status: .ok, what: "engine",
              detail: SpikeEngine.cpuHasAVX512
                  ? "AVX-512 kernels on this CPU (AVX2 on nodes without it; same results)"
                  : "AVX2 kernels (this CPU has no AVX-512; nodes with it use AVX-512 kernels, same results)",
              fix: nil)
    }

    static func slurm(_ profile: SlurmProfile) -> [Check] {
        var checks: [Check] = []
        func answers(_ program: String, _ arguments: [String], required: Bool, why: String) -> ProgramRun? {
            let run = try? ProgramRun.run(program, arguments)
            if let run, run.status == 0 {
                let first = run.stdout.split(whereSeparator: \.isNewline).first.map(String.init) ?? "answers"
                checks.append(Check(status: .ok, what: program, detail: first, fix: nil))
                return run
            }
            let problem = run.map { "exits \($0.status): \($0.message)" } ?? "not found on PATH"
            checks.append(Check(status: required ? .missing : .warning, what: program, detail: "\(problem)\(why)",
                                fix: required ? "run this on a Slurm login node (or `scripts/slurm-local up` for a local cluster)" : nil))
            return nil
        }
        _ = answers("sbatch", ["--version"], required: true, why: "")
        if answers("squeue", ["-h", "-u", String(getuid())], required: true, why: "") != nil {
            checks[checks.count - 1].detail = "answers"
        }
        _ = answers("sacct", ["-n", "-X", "-S", "now"], required: false,
                    why: " (optional: `slurm status` works without accounting, from squeue and the results)")
        if let sinfo = try? ProgramRun.run("sinfo", ["-h", "-o", "%R"]), sinfo.status == 0 {
            let partitions = Set(sinfo.stdout.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) })
            for (role, name) in [("jobs", profile.partition), ("collect jobs", profile.collectPartition)] {
                if partitions.contains(name) {
                    checks.append(Check(status: .ok, what: "partition \(name)", detail: "exists (\(profile.source), \(role))", fix: nil))
                } else {
                    checks.append(Check(status: .missing, what: "partition \(name)",
                                        detail: "not among this cluster's partitions (\(partitions.sorted().joined(separator: ", ")))",
                                        fix: "give slurm submit --partition NAME, or a profile that names one (\(profile.source))"))
                }
                if profile.partition == profile.collectPartition { break }
            }
        } else {
            checks.append(Check(status: .missing, what: "sinfo", detail: "does not answer, so the partitions are unknown",
                                fix: "run this on a Slurm login node (or `scripts/slurm-local up` for a local cluster)"))
        }
        return checks
    }

    static func results(_ root: URL) -> Check {
        let what = "results \(root.path)"
        do {
            try FileSystem.createDirectory(root.path)
            let probe = root.appendingPathComponent(".spikesweep-doctor-\(getpid())")
            defer { unlink(probe.path) }
            try AtomicFile.write(Array("probe\n".utf8), to: probe.path)
            let fd = open(probe.path, O_RDWR | O_CLOEXEC)
            guard fd >= 0 else { throw FileError(path: probe.path, "cannot open: \(String(cString: strerror(errno)))") }
            defer { close(fd) }
            guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
                throw FileError(path: root.path, "flock fails here (\(String(cString: strerror(errno))))")
            }
            if let problem = FolderLock.lockIsNotHonoured(probe.path) {
                return Check(status: .missing, what: what, detail: "writable, but \(problem)",
                             fix: "put the results on a file system that honours flock (a local disk, or Lustre/NFS mounted with flock)")
            }
            return Check(status: .ok, what: what, detail: "writable, and flock excludes a second owner", fix: nil)
        } catch {
            return Check(status: .missing, what: what, detail: OneLine.clean("\(error)"),
                         fix: "give a folder you can write with --results (on the shared file system the nodes see)")
        }
    }

    static func data(_ specPath: String) -> Check {
        do {
            let spec = try SweepSpec.load(path: specPath)
            let dataset = try SweepSession.loadData(spec.data.absolute)
            let source: String
            switch spec.data {
            case .path(let path, _): source = path
            case .synthetic: source = "synthetic"
            }
            return Check(status: .ok, what: "data", detail: "\(source): \(dataset.count) recordings, fingerprint \(dataset.fingerprint.hex16)", fix: nil)
        } catch {
            return Check(status: .missing, what: "data", detail: OneLine.clean("\(error)"),
                         fix: "fix the spec's data: (a prepared .spk from `spikesweep data prepare` maps fastest)")
        }
    }
}
