import ArgumentParser
import SpikeEvents

@main
struct SpikeSweep: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "spikesweep",
        abstract: "Hyper-parameter sweeps of spiking neural networks on N-MNIST.",
        discussion: """
            Prepare data once, train and benchmark the engine, run sweeps locally, under \
            mpirun or as Slurm jobs, and read ranked leaderboards.
            """,
        version: ToolVersion.string,
        subcommands: [DataCommand.self, Train.self, Evaluate.self, Bench.self, Sweep.self, LeaderboardCommand.self, Collect.self,
                      SlurmCommand.self, Final.self, Report.self, Plan.self])
}
