import Foundation
import SpikeEvents
import SpikeSupport
import Sweeps

/// What a worker rank tells rank 0 first: who it is and which sweep it loaded, so that rank 0
/// can refuse a rank that would compute something else.
package struct WorkerHello: Codable, Sendable, Equatable {
    package var rank: Int
    package var host: String
    package var pid: Int32
    package var sweepName: String
    /// `SweepSpec.resultHash` of the spec the rank loaded.
    package var specHash: String
    /// Fingerprint of the dataset the rank loaded (hex).
    package var datasetFingerprint: String
    package var taskCount: Int
    /// Digest of every task id of the rank's plan (hex): equal digests, equal work.
    package var planDigest: String

    package init(rank: Int, host: String, pid: Int32, sweepName: String, specHash: String, datasetFingerprint: String,
                taskCount: Int, planDigest: String) {
        self.rank = rank
        self.host = host
        self.pid = pid
        self.sweepName = sweepName
        self.specHash = specHash
        self.datasetFingerprint = datasetFingerprint
        self.taskCount = taskCount
        self.planDigest = planDigest
    }

    /// The hello of a rank that loaded `plan`.
    package init(rank: Int, plan: SweepPlan) {
        self.init(rank: rank, host: ProcessInfo.processInfo.hostName, pid: getpid(), sweepName: plan.spec.name,
                  specHash: plan.spec.resultHash, datasetFingerprint: String(plan.datasetFingerprint, radix: 16),
                  taskCount: plan.tasks.count, planDigest: Self.digest(of: plan))
    }

    /// A digest of the plan's task ids (each already hashes its configuration, fold, seed and data).
    package static func digest(of plan: SweepPlan) -> String {
        var f = Fingerprinter()
        for task in plan.tasks { f.mix(Array((task.id + "\n").utf8)) }
        return String(f.value, radix: 16)
    }

    /// Why this rank's sweep differs from `plan` (rank 0's), e.g. "it loaded other data (…)", or nil when they agree.
    package func mismatch(with plan: SweepPlan) -> String? {
        let reference = WorkerHello(rank: 0, plan: plan)
        if sweepName != reference.sweepName || specHash != reference.specHash {
            return "it loaded sweep '\(sweepName)' (spec hash \(specHash)), rank 0 loaded '\(reference.sweepName)' (spec hash \(reference.specHash))"
        }
        if datasetFingerprint != reference.datasetFingerprint {
            return "it loaded other data (fingerprint \(datasetFingerprint)) than rank 0 (fingerprint \(reference.datasetFingerprint))"
        }
        if taskCount != reference.taskCount || planDigest != reference.planDigest {
            return "it planned \(taskCount) tasks (digest \(planDigest)), rank 0 planned \(reference.taskCount) (digest \(reference.planDigest))"
        }
        return nil
    }
}

/// The messages between rank 0 and the worker ranks of an MPI sweep.
///
/// A worker sends `hello`, then a `result` for every `task` it gets, until it gets `shutdown`.
/// Rank 0 answers each `hello` and each `result` with the next `task` or with `shutdown`,
/// preceded by `recorded` when it has written the result to the results folder (only then may
/// the worker drop that task's checkpoint). A worker that cannot work at all (its spec or data
/// does not load) sends `failure`, and rank 0 ends the job. A task that fails is not a failure
/// of the rank: it is a `result` whose outcome has status `failed` and the task's error; a task
/// stopped by a signal or kept from finishing by the environment is a `result` too
/// (`interrupted`, `unfinished`), and rank 0 then stops handing out tasks.
package enum SweepMessage: Sendable, Equatable {
    case hello(WorkerHello)
    case task(SweepTask)
    /// A finished task, ok or failed, with its per-epoch metrics.
    case result(TaskOutcome)
    /// This rank cannot go on; the text says why.
    case failure(String)
    case shutdown
    /// Rank 0 recorded the result of this task id.
    case recorded(String)

    /// The kind byte of the envelope.
    package enum Kind: UInt8, Sendable, CaseIterable {
        case hello = 1, task = 2, result = 3, failure = 4, shutdown = 5, recorded = 6
    }

    package var kind: Kind {
        switch self {
        case .hello: return .hello
        case .task: return .task
        case .result: return .result
        case .failure: return .failure
        case .shutdown: return .shutdown
        case .recorded: return .recorded
        }
    }
}

/// A message that cannot be read: not ours, from another build, or damaged.
package enum MessageError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The bytes do not start with the SpikeSweep magic.
    case notASweepMessage
    /// The sender was built from another version (tool or message format).
    case versionMismatch(toolVersion: String, formatVersion: UInt16)
    case malformed(String)

    package var description: String {
        switch self {
        case .notASweepMessage:
            return "not a SpikeSweep message (bad magic)"
        case .versionMismatch(let tool, let format):
            return "sender runs spikesweep \(tool) (message format \(format)), not this build's; run the same build on every rank"
        case .malformed(let why):
            return "malformed message: \(why)"
        }
    }
}

/// The binary envelope of a `SweepMessage`:
///
/// ```
/// "SSWP"  format version (UInt16 LE)  tool version length (UInt16 LE)  tool version (UTF-8)
/// kind (UInt8)  payload (JSON of the case's value; empty for shutdown)
/// ```
/// Everything up to and including the tool version is fixed for all time, so that any build
/// can tell that a message comes from another build and refuse it clearly. Anything after it
/// may change with the format version.
package enum MessageEnvelope {
    package static let magic: [UInt8] = Array("SSWP".utf8)
    package static let formatVersion: UInt16 = 3
    /// The version this build announces (a test tool may pose as another build by passing its
    /// own to `encode` and `decode`).
    package static let toolVersion = ToolVersion.string

    static let encoder: JSONEncoder = {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        // Exact round trip of every Double (Swift prints the shortest representation that
        // reads back bit-identical); NaN and infinities as strings.
        e.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return e
    }()

    static let decoder: JSONDecoder = {
        let d = JSONDecoder()
        d.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return d
    }()

    /// The bytes of `message` as this build sends it.
    package static func encode(_ message: SweepMessage, toolVersion: String = toolVersion,
                              formatVersion: UInt16 = formatVersion) throws -> [UInt8] {
        let tool = Array(toolVersion.utf8.prefix(Int(UInt16.max)))
        var bytes = magic
        bytes += [UInt8(formatVersion & 0xFF), UInt8(formatVersion >> 8)]
        bytes += [UInt8(tool.count & 0xFF), UInt8(tool.count >> 8)]
        bytes += tool
        bytes.append(message.kind.rawValue)
        switch message {
        case .hello(let hello): bytes += try encoder.encode(hello)
        case .task(let task): bytes += try encoder.encode(task)
        case .result(let outcome): bytes += try encoder.encode(outcome)
        case .failure(let text): bytes += Array(text.utf8)
        case .shutdown: break
        case .recorded(let id): bytes += Array(id.utf8)
        }
        return bytes
    }

    /// Reads a message sent by the same build.
    /// - Throws: `MessageError.versionMismatch` when another build sent it (checked before
    ///   anything else is read), `.notASweepMessage` or `.malformed`.
    package static func decode(_ bytes: [UInt8], toolVersion: String = toolVersion) throws -> SweepMessage {
        guard bytes.count >= 8, Array(bytes[0..<4]) == magic else { throw MessageError.notASweepMessage }
        let format = UInt16(bytes[4]) | UInt16(bytes[5]) << 8
        let toolLength = Int(UInt16(bytes[6]) | UInt16(bytes[7]) << 8)
        guard bytes.count >= 8 + toolLength else { throw MessageError.malformed("truncated header") }
        let tool = String(decoding: bytes[8..<(8 + toolLength)], as: UTF8.self)
        guard format == formatVersion, tool == toolVersion else {
            throw MessageError.versionMismatch(toolVersion: tool, formatVersion: format)
        }
        guard bytes.count >= 9 + toolLength else { throw MessageError.malformed("no kind") }
        guard let kind = SweepMessage.Kind(rawValue: bytes[8 + toolLength]) else {
            throw MessageError.malformed("unknown kind \(bytes[8 + toolLength])")
        }
        let payload = Data(bytes[(9 + toolLength)...])
        do {
            switch kind {
            case .hello: return .hello(try decoder.decode(WorkerHello.self, from: payload))
            case .task: return .task(try decoder.decode(SweepTask.self, from: payload))
            case .result: return .result(try decoder.decode(TaskOutcome.self, from: payload))
            case .failure: return .failure(String(decoding: payload, as: UTF8.self))
            case .shutdown:
                guard payload.isEmpty else { throw MessageError.malformed("shutdown with a payload") }
                return .shutdown
            case .recorded: return .recorded(String(decoding: payload, as: UTF8.self))
            }
        } catch let error as MessageError {
            throw error
        } catch {
            throw MessageError.malformed("\(kind) payload: \(error)")
        }
    }
}
