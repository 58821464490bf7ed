/// The batch script templates and profiles of `slurm/`, compiled into the binary so that a
/// copy of `spikesweep` on a cluster needs no other file.
public enum SlurmFiles {
    public static var arrayScript: String { String(decoding: PackageResources.array_sbatch, as: UTF8.self) }
    public static var mpiScript: String { String(decoding: PackageResources.mpi_sbatch, as: UTF8.self) }
    public static var collectScript: String { String(decoding: PackageResources.collect_sbatch, as: UTF8.self) }

    /// Built-in profiles by name (`habrok`, `local`).
    public static let profiles: [String: String] = [
        "habrok": String(decoding: PackageResources.habrok_env, as: UTF8.self),
        "local": String(decoding: PackageResources.local_env, as: UTF8.self),
    ]
}
