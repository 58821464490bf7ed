/// The version of SpikeSweep, recorded in results manifests and checked between MPI ranks.
package enum ToolVersion {
    package static let string = "0.1.0"
}
