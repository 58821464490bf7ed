import CMPI

/// An MPI call that did not return MPI_SUCCESS, with the library's own description.
public struct MPIError: Error, CustomStringConvertible, Sendable {
    public var function: String
    public var code: Int32
    public var message: String
    public var description: String { "MPI error in \(function) (code \(code)): \(message)" }
}

/// The one place where MPI return codes become Swift errors: every MPI call goes through it.
@discardableResult
@inline(__always)
public func mpiCheck(_ code: Int32, _ function: @autoclosure () -> String) throws -> Int32 {
    if code == cmpi_success() { return code }
    throw MPIError(function: function(), code: code, message: mpiErrorString(code))
}

@inline(never)
func mpiErrorString(_ code: Int32) -> String {
    // MPI_Error_string may only be called between MPI_Init and MPI_Finalize.
    var initialized: Int32 = 0, finalized: Int32 = 0
    guard MPI_Initialized(&initialized) == cmpi_success(), initialized != 0,
          MPI_Finalized(&finalized) == cmpi_success(), finalized == 0 else {
        return "error code \(code) (MPI not initialized, no description available)"
    }
    var buffer = [CChar](repeating: 0, count: Int(cmpi_max_error_string()) + 1)
    var length: Int32 = 0
    guard MPI_Error_string(code, &buffer, &length) == cmpi_success() else { return "unknown error" }
    return String(decoding: buffer.prefix(Int(length)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

/// Facts about the MPI library, callable before `MPI_Init`.
public enum MPILibrary {
    /// The MPI standard version the library implements, e.g. (3, 1).
    public static func standardVersion() throws -> (major: Int, minor: Int) {
        var major: Int32 = 0, minor: Int32 = 0
        try mpiCheck(MPI_Get_version(&major, &minor), "MPI_Get_version")
        return (Int(major), Int(minor))
    }

    /// The library's own version line, e.g. "Open MPI v4.1.4, …".
    public static func libraryVersion() throws -> String {
        var buffer = [CChar](repeating: 0, count: 8192)
        var length: Int32 = 0
        try mpiCheck(MPI_Get_library_version(&buffer, &length), "MPI_Get_library_version")
        let text = String(decoding: buffer.prefix(Int(length)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return text.split(separator: "\n").first.map(String.init) ?? text
    }

    /// Whether `MPI_Init` has been called in this process.
    public static func isInitialized() throws -> Bool {
        var flag: Int32 = 0
        try mpiCheck(MPI_Initialized(&flag), "MPI_Initialized")
        return flag != 0
    }
}
