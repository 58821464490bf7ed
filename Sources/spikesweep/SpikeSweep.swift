import ArgumentParser

@main
struct SpikeSweep: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "spikesweep",
        abstract: "Hyper-parameter sweeps of spiking neural networks on N-MNIST.",
        discussion: """
            Prepare data once, train and benchmark the engine, run sweeps locally, under \
            mpirun or as Slurm jobs, and read ranked leaderboards.
            """,
        version: SpikeSweepVersion.string,
        subcommands: [DataCommand.self, Train.self, Evaluate.self, Bench.self])
}

enum SpikeSweepVersion {
    static let string = "0.1.0"
}
