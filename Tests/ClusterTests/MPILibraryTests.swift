import Foundation
import Testing
import Cluster

@Suite struct MPILibraryTests {
    @Test func reportsOpenMPIVersionBeforeInit() throws {
        let (major, minor) = try MPILibrary.standardVersion()
        #expect(major >= 3, "MPI standard \(major).\(minor)")
        let line = try MPILibrary.libraryVersion()
        #expect(line.contains("Open MPI"), "library version line: \(line)")
        #expect(try MPILibrary.isInitialized() == false)
    }

    @Test func saysWhereOpenMPIWasLoadedFrom() throws {
        let (path, version) = try MPILibrary.location()
        #expect(path.hasPrefix("/"), "path: \(path)")
        #expect(path.contains("libmpi.so.40"), "path: \(path)")
        #expect(FileManager.default.fileExists(atPath: path), "path: \(path)")
        #expect(version.hasPrefix("Open MPI v"), "version: \(version)")
        #expect(try MPILibrary.load() == path)
    }

    @Test func errorCodesBecomeDescriptiveErrors() throws {
        // MPI_ERR_COUNT (2 in every implementation's mpi.h) is a real code with a real message.
        let error = #expect(throws: MPIError.self) { try mpiCheck(2, "MPI_Send") }
        #expect(error?.function == "MPI_Send")
        #expect(error?.code == 2)
        #expect(error?.description.contains("MPI_Send") == true)
        #expect(try mpiCheck(0, "MPI_Send") == 0)
    }
}
