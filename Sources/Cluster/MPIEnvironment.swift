import Foundation

/// How this process was started as one of several MPI ranks, read from the launcher's
/// environment before `MPI_Init`.
package struct MPILaunch: Sendable, Equatable {
    /// "mpirun", "PMIx", "PMI" or "srun".
    package var launcher: String
    /// This process's rank and the job's size, when the launcher says.
    package var rank: Int?
    package var size: Int?

    package init(launcher: String, rank: Int?, size: Int?) {
        self.launcher = launcher
        self.rank = rank
        self.size = size
    }
}

/// Detects a launch under `mpirun`/`mpiexec` (Open MPI), a PMIx or PMI launcher, or `srun`.
package enum MPIEnvironment {
    /// The launch this environment describes, or nil for a plain process.
    ///
    /// - Open MPI's `mpirun`: `OMPI_COMM_WORLD_SIZE` (and `OMPI_COMM_WORLD_RANK`).
    /// - PMIx launchers (`srun --mpi=pmix`, `prterun`): `PMIX_RANK`.
    /// - PMI launchers (MPICH's Hydra, `srun --mpi=pmi2`): `PMI_RANK` / `PMI_SIZE`.
    /// - `srun` of more than one task: `SLURM_STEP_NUM_TASKS` > 1 with `SLURM_PROCID`. A batch
    ///   script alone (one task, no `srun`) is not an MPI launch.
    package static func detect(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> MPILaunch? {
        func int(_ key: String) -> Int? { environment[key].flatMap { Int($0.trimmingCharacters(in: .whitespaces)) } }
        if let size = int("OMPI_COMM_WORLD_SIZE") {
            return MPILaunch(launcher: "mpirun", rank: int("OMPI_COMM_WORLD_RANK"), size: size)
        }
        if let rank = int("PMIX_RANK") {
            return MPILaunch(launcher: "PMIx", rank: rank, size: int("SLURM_STEP_NUM_TASKS") ?? int("SLURM_NTASKS"))
        }
        if let rank = int("PMI_RANK") {
            return MPILaunch(launcher: "PMI", rank: rank, size: int("PMI_SIZE"))
        }
        if let tasks = int("SLURM_STEP_NUM_TASKS"), tasks > 1, let rank = int("SLURM_PROCID") {
            return MPILaunch(launcher: "srun", rank: rank, size: tasks)
        }
        return nil
    }
}
