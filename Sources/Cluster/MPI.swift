import CMPILoader
import Foundation
import SpikeSupport

/// An MPI call that did not return MPI_SUCCESS, with the library's own description.
package struct MPIError: Error, CustomStringConvertible, Sendable {
    package var function: String
    package var code: Int32
    package var message: String
    package var description: String { "MPI error in \(function) (code \(code)): \(message)" }
}

/// The one place where MPI return codes become Swift errors: every MPI call goes through it.
@discardableResult
@inline(__always)
package func mpiCheck(_ code: Int32, _ function: @autoclosure () -> String) throws -> Int32 {
    if code == CMPI_SUCCESS { return code }
    throw MPIError(function: function(), code: code, message: mpiErrorString(code))
}

@inline(never)
func mpiErrorString(_ code: Int32) -> String {
    // MPI_Error_string may only be called between MPI_Init and MPI_Finalize (a code that came
    // from an MPI call comes from a loaded library: load() then only returns its first result).
    var initialized: Int32 = 0, finalized: Int32 = 0
    guard (try? MPILibrary.load()) != nil,
          cmpi_initialized(&initialized) == CMPI_SUCCESS, initialized != 0,
          cmpi_finalized(&finalized) == CMPI_SUCCESS, finalized == 0 else {
        return "error code \(code) (MPI not initialized, no description available)"
    }
    var buffer = [CChar](repeating: 0, count: Int(CMPI_MAX_ERROR_STRING) + 1)
    var length: Int32 = 0
    guard cmpi_error_string(code, &buffer, &length) == CMPI_SUCCESS else { return "unknown error" }
    return String(decoding: buffer.prefix(Int(length)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

/// Open MPI, loaded when MPI mode first needs it (`dlopen` of `libmpi.so.40`), and facts
/// about it that are callable before `MPI_Init`.
///
/// The tool does not link Open MPI, so that every other command runs where it is absent.
/// Everything that calls MPI goes through `load()` first.
package enum MPILibrary {
    /// The soname looked for.
    package static let name = CMPI_LIBRARY_NAME

    /// What `load()` found: the path of the loaded file, or why nothing could be loaded.
    private static let loaded: Result<String, ToolError> = {
        var reason = [CChar](repeating: 0, count: 1024)
        guard cmpi_load(&reason, reason.count) == 0, let path = cmpi_library_path() else {
            return .failure(unavailable(reason: String(cString: reason)))
        }
        return .success(String(cString: path))
    }()

    /// The one-line error of a failed load: what was looked for, where, why not, and the fix.
    static func unavailable(reason: String) -> ToolError {
        ToolError("MPI mode needs Open MPI 4 (\(name)), which could not be loaded from LD_LIBRARY_PATH or the "
            + "system library paths (\(reason)); load Open MPI 4 first: `module load OpenMPI`, or put its lib "
            + "directory on LD_LIBRARY_PATH")
    }

    /// Loads Open MPI once per process; later calls return the first call's result.
    /// - Returns: the path of the loaded library.
    /// - Throws: `ToolError` naming `libmpi.so.40` and the fix when it cannot be loaded.
    @discardableResult
    package static func load() throws -> String { try loaded.get() }

    /// Where Open MPI was found and what it says it is, e.g.
    /// ("/usr/lib/x86_64-linux-gnu/libmpi.so.40", "Open MPI v4.1.4, …").
    package static func location() throws -> (path: String, version: String) {
        (try load(), try libraryVersion())
    }

    /// The MPI standard version the library implements, e.g. (3, 1).
    package static func standardVersion() throws -> (major: Int, minor: Int) {
        try load()
        var major: Int32 = 0, minor: Int32 = 0
        try mpiCheck(cmpi_get_version(&major, &minor), "MPI_Get_version")
        return (Int(major), Int(minor))
    }

    /// The library's own version line, e.g. "Open MPI v4.1.4, …".
    package static func libraryVersion() throws -> String {
        try load()
        var buffer = [CChar](repeating: 0, count: 8192)
        var length: Int32 = 0
        try mpiCheck(cmpi_get_library_version(&buffer, &length), "MPI_Get_library_version")
        let text = String(decoding: buffer.prefix(Int(length)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return text.split(separator: "\n").first.map(String.init) ?? text
    }

    /// Whether `MPI_Init` has been called in this process.
    package static func isInitialized() throws -> Bool {
        try load()
        var flag: Int32 = 0
        try mpiCheck(cmpi_initialized(&flag), "MPI_Initialized")
        return flag != 0
    }
}

/// A message waiting to be received: who sent it, its tag and its length in bytes.
package struct MPIPendingMessage: Sendable, Equatable {
    package var source: Int
    package var tag: Int
    package var byteCount: Int
}

/// `MPI_COMM_WORLD` of this process, with byte messages of any length.
///
/// Initialized once per process with `MPI_THREAD_FUNNELED`: only the thread that created it
/// may call it (other threads may compute, not communicate). Errors are returned, not fatal
/// (`MPI_ERRORS_RETURN`), so that every failure surfaces as an `MPIError` through `mpiCheck`.
package final class MPICommunicator {
    package let rank: Int
    package let size: Int
    /// The thread support level the library granted (≥ FUNNELED).
    package let threadLevel: Int32
    private let comm: cmpi_comm
    package private(set) var isFinalized = false

    private init(comm: cmpi_comm, rank: Int, size: Int, threadLevel: Int32) {
        self.comm = comm
        self.rank = rank
        self.size = size
        self.threadLevel = threadLevel
    }

    /// Loads Open MPI (`MPILibrary.load()`), then `MPI_Init_thread(FUNNELED)` and the world
    /// communicator, set to return errors.
    package static func initializeWorld() throws -> MPICommunicator {
        try MPILibrary.load()
        var provided: Int32 = 0
        try mpiCheck(cmpi_init_thread(CMPI_THREAD_FUNNELED, &provided), "MPI_Init_thread")
        let world = cmpi_comm_world()
        try mpiCheck(cmpi_comm_set_errhandler(world, cmpi_errors_return()), "MPI_Comm_set_errhandler")
        guard provided >= CMPI_THREAD_FUNNELED else {
            _ = cmpi_finalize()
            throw MPIError(function: "MPI_Init_thread", code: -1,
                           message: "the MPI library grants thread level \(provided), SpikeSweep needs MPI_THREAD_FUNNELED (\(CMPI_THREAD_FUNNELED))")
        }
        var rank: Int32 = 0, size: Int32 = 0
        try mpiCheck(cmpi_comm_rank(world, &rank), "MPI_Comm_rank")
        try mpiCheck(cmpi_comm_size(world, &size), "MPI_Comm_size")
        return MPICommunicator(comm: world, rank: Int(rank), size: Int(size), threadLevel: provided)
    }

    /// Sends `bytes` to `destination` (`MPI_Send`; returns once the buffer may be reused).
    package func send(_ bytes: [UInt8], to destination: Int, tag: Int) throws {
        guard bytes.count <= Int(Int32.max) else {
            throw MPIError(function: "MPI_Send", code: -1, message: "message of \(bytes.count) bytes is too long")
        }
        _ = try bytes.withUnsafeBytes { buffer in
            try mpiCheck(cmpi_send(buffer.baseAddress, Int32(buffer.count), cmpi_byte(), Int32(destination), Int32(tag), comm), "MPI_Send")
        }
    }

    /// A message that could be received now, without waiting (`MPI_Iprobe` + `MPI_Get_count`).
    /// - Parameters: source, tag: nil for any.
    package func pendingMessage(from source: Int? = nil, tag: Int? = nil) throws -> MPIPendingMessage? {
        var flag: Int32 = 0
        var status = cmpi_status()
        try mpiCheck(cmpi_iprobe(source.map(Int32.init) ?? CMPI_ANY_SOURCE, tag.map(Int32.init) ?? CMPI_ANY_TAG, comm, &flag, &status),
                     "MPI_Iprobe")
        guard flag != 0 else { return nil }
        return try pending(status)
    }

    /// Waits for a message in `MPI_Probe`. OpenMPI's blocking calls spin a core while they
    /// wait: prefer `waitForMessage(from:tag:poll:)` for waits longer than a moment.
    package func probe(from source: Int? = nil, tag: Int? = nil) throws -> MPIPendingMessage {
        var status = cmpi_status()
        try mpiCheck(cmpi_probe(source.map(Int32.init) ?? CMPI_ANY_SOURCE, tag.map(Int32.init) ?? CMPI_ANY_TAG, comm, &status),
                     "MPI_Probe")
        return try pending(status)
    }

    /// Waits for a message without burning a core: `MPI_Iprobe`, and a sleep that doubles
    /// from `poll.lowerBound` to `poll.upperBound` seconds while nothing arrives.
    package func waitForMessage(from source: Int? = nil, tag: Int? = nil,
                               poll: ClosedRange<Double> = 0.000_25...0.002) throws -> MPIPendingMessage {
        var backoff = Backoff(poll)
        while true {
            if let message = try pendingMessage(from: source, tag: tag) { return message }
            backoff.wait()
        }
    }

    /// Receives a message found by `pendingMessage`, `probe` or `waitForMessage`.
    package func receive(_ message: MPIPendingMessage) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: message.byteCount)
        var status = cmpi_status()
        _ = try bytes.withUnsafeMutableBytes { buffer in
            try mpiCheck(cmpi_recv(buffer.baseAddress, Int32(message.byteCount), cmpi_byte(), Int32(message.source), Int32(message.tag),
                                  comm, &status), "MPI_Recv")
        }
        return bytes
    }

    /// Ends every process of the job (`MPI_Abort`): MPI's way for one rank to stop them all.
    package func abort(code: Int32) -> Never {
        _ = cmpi_abort(comm, code)
        exit(code)  // MPI_Abort does not return; this is for the type checker and broken libraries.
    }

    /// `MPI_Finalize`; later calls do nothing.
    package func finalize() throws {
        guard !isFinalized else { return }
        isFinalized = true
        try mpiCheck(cmpi_finalize(), "MPI_Finalize")
    }

    private func pending(_ status: cmpi_status) throws -> MPIPendingMessage {
        var status = status
        var count: Int32 = 0
        try mpiCheck(cmpi_get_count(&status, cmpi_byte(), &count), "MPI_Get_count")
        return MPIPendingMessage(source: Int(status.source), tag: Int(status.tag), byteCount: Int(count))
    }
}
