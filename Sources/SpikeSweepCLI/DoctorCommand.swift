import ArgumentParser
import Cluster
import Foundation
import SpikeSupport

extension SpikeSweep {
    struct Doctor: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check, on a login node, what a submitted sweep would need: MPI, Slurm, the partition, the results folder, the data.",
            discussion: """
                One line per check: ✔ fine, ✘ missing (with the fix), ! optional and missing. Exits 1 \
                when something a submitted job would need is missing. The results folder must be \
                writable and must honour flock (some Lustre/NFS mounts do not: two runs could then \
                write one folder at once, so spikesweep refuses to run there).

                Examples:
                  spikesweep doctor sweeps/table1.yaml
                  spikesweep doctor sweeps/smoke.yaml --profile local --mode mpi
                """)

        @Argument(help: "A sweep spec whose data must be readable (optional).")
        var spec: String?

        @Option(help: "Profile: habrok, local, or the path of a KEY=VALUE file.")
        var profile = "habrok"

        @Option(help: "array or mpi (MPI mode needs Open MPI on the nodes).")
        var mode: SlurmMode = .array

        @Option(help: "Results root folder the jobs would write to.")
        var results = "results"

        func run() throws {
            let checks = Cluster.Doctor.run(.init(specPath: spec, resultsRoot: URL(fileURLWithPath: results),
                                                  profile: try SlurmProfile.load(profile), mode: mode))
            for c in checks {
                let mark = switch c.status { case .ok: "✔"; case .missing: "✘"; case .warning: "!" }
                print("\(mark) \(c.what): \(c.detail)" + (c.fix.map { " — fix: \($0)" } ?? ""))
            }
            let missing = checks.filter { $0.status == .missing }.count
            if missing > 0 {
                Console.error("spikesweep: \(Format.count(missing, "check")) failed; a submitted job would not run")
                throw ExitCode(1)
            }
        }
    }
}
