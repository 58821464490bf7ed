import Testing
import Cluster

@Suite struct MPIEnvironmentTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var environment: [String: String]
        var expected: MPILaunch?
        var testDescription: String { environment.keys.sorted().joined(separator: ",") }
    }

    static let cases: [Case] = [
        Case(environment: [:], expected: nil),
        Case(environment: ["HOME": "/home/me", "LANG": "C.UTF-8"], expected: nil),
        // mpirun (Open MPI) also sets PMIX_RANK: Open MPI's own variables win.
        Case(environment: ["OMPI_COMM_WORLD_SIZE": "3", "OMPI_COMM_WORLD_RANK": "2", "PMIX_RANK": "2"],
             expected: MPILaunch(launcher: "mpirun", rank: 2, size: 3)),
        Case(environment: ["OMPI_COMM_WORLD_SIZE": "1", "OMPI_COMM_WORLD_RANK": "0"],
             expected: MPILaunch(launcher: "mpirun", rank: 0, size: 1)),
        Case(environment: ["PMIX_RANK": "1", "SLURM_STEP_NUM_TASKS": "4", "SLURM_PROCID": "1"],
             expected: MPILaunch(launcher: "PMIx", rank: 1, size: 4)),
        Case(environment: ["PMI_RANK": "0", "PMI_SIZE": "2"], expected: MPILaunch(launcher: "PMI", rank: 0, size: 2)),
        Case(environment: ["SLURM_STEP_NUM_TASKS": "8", "SLURM_PROCID": "5"], expected: MPILaunch(launcher: "srun", rank: 5, size: 8)),
        // A batch script (one task) or `srun -n 1` is not an MPI launch.
        Case(environment: ["SLURM_STEP_NUM_TASKS": "1", "SLURM_PROCID": "0", "SLURM_JOB_ID": "42"], expected: nil),
        Case(environment: ["SLURM_JOB_ID": "42", "SLURM_NTASKS": "16"], expected: nil),
        Case(environment: ["OMPI_COMM_WORLD_SIZE": "not a number"], expected: nil),
    ]

    @Test(arguments: cases)
    func detectsTheLauncher(_ c: Case) {
        #expect(MPIEnvironment.detect(c.environment) == c.expected)
    }
}
