/// The version of SpikeSweep, recorded in results manifests and checked between MPI ranks.
public enum ToolVersion {
    public static let string = "0.1.0"
}
