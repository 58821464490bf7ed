import Foundation
import Testing
import Cluster
import Sweeps

@Suite struct MessageEnvelopeTests {
    static let plan = SweepPlan(spec: try! SweepSpec.parse("""
        name: msg
        data: {synthetic: {count: 60, seed: 2}}
        cv: {folds: 2}
        epochs: 2
        seed: 9
        grid: {beta: [0.8, 0.9], hidden: [16, 32]}
        """, file: "msg.yaml"), datasetFingerprint: 0xABCDEF)

    static var outcome: TaskOutcome {
        let task = plan.tasks[3]
        return TaskOutcome(taskID: task.id, configID: task.configID, fold: task.fold, status: .ok,
                           validationAccuracy: 0.1 + 0.2, trainAccuracy: 1.0 / 3.0, trainLoss: 2.220446049250313e-16,
                           epochs: [EpochRecord(epoch: 1, trainLoss: 0.7071067811865476, trainAccuracy: 0.5, validationAccuracy: .nan, seconds: 0.25),
                                    EpochRecord(epoch: 2, trainLoss: .infinity, trainAccuracy: 0.6, validationAccuracy: 0.30000000000000004, seconds: 1e-9)],
                           seconds: 3.5, recordingsPerSecond: 812.25, worker: "rank 2", error: nil)
    }

    static let messages: [SweepMessage] = [
        .hello(WorkerHello(rank: 3, plan: plan)),
        .task(plan.tasks[2]),
        .result(outcome),
        .result(.failure(plan.tasks[1], error: "training diverged: loss is nan\nat epoch 1", seconds: 0.5, worker: "rank 1")),
        .failure("data/nmnist-train.spk: no such file"),
        .shutdown,
        .recorded(plan.tasks[1].id),
    ]

    @Test(arguments: messages)
    func everyKindRoundTrips(_ message: SweepMessage) throws {
        let bytes = try MessageEnvelope.encode(message)
        #expect(Array(bytes.prefix(4)) == Array("SSWP".utf8))
        let decoded = try MessageEnvelope.decode(bytes)
        #expect(decoded.kind == message.kind)
        if case .result(let sent) = message, case .result(let received) = decoded {
            // Every metric bit-identical, NaN and infinity included (NaN != NaN, so compare bits).
            func bits(_ o: TaskOutcome) -> [UInt64?] {
                [o.validationAccuracy?.bitPattern, o.trainAccuracy?.bitPattern, o.trainLoss?.bitPattern, o.seconds.bitPattern]
                    + o.epochs.flatMap { [$0.trainLoss.bitPattern, $0.trainAccuracy.bitPattern, $0.validationAccuracy.bitPattern, $0.seconds.bitPattern] }
            }
            #expect(bits(received) == bits(sent))
            #expect(received.taskID == sent.taskID && received.status == sent.status && received.error == sent.error)
            #expect(received.worker == sent.worker && received.epochs.count == sent.epochs.count)
        } else {
            #expect(decoded == message)
        }
    }

    @Test func anotherToolVersionIsRefusedBeforeThePayloadIsRead() throws {
        // A payload this build could not read: the version check must come first.
        var bytes = try MessageEnvelope.encode(.task(Self.plan.tasks[0]), toolVersion: "0.0.9")
        bytes.removeLast(10)
        let error = #expect(throws: MessageError.self) { try MessageEnvelope.decode(bytes) }
        #expect(error == .versionMismatch(toolVersion: "0.0.9", formatVersion: MessageEnvelope.formatVersion))
        #expect(error?.description.contains("sender runs spikesweep 0.0.9") == true)
        #expect(error?.description.contains("run the same build on every rank") == true)
    }

    @Test func anotherFormatVersionIsRefused() throws {
        let bytes = try MessageEnvelope.encode(.shutdown, formatVersion: MessageEnvelope.formatVersion + 1)
        let error = #expect(throws: MessageError.self) { try MessageEnvelope.decode(bytes) }
        #expect(error == .versionMismatch(toolVersion: MessageEnvelope.toolVersion, formatVersion: MessageEnvelope.formatVersion + 1))
    }

    @Test func headerLayoutIsFixed() throws {
        // magic, format (UInt16 LE), tool version length (UInt16 LE), tool version, kind, payload.
        let bytes = try MessageEnvelope.encode(.shutdown, toolVersion: "1.2.3", formatVersion: 0x0102)
        #expect(bytes == Array("SSWP".utf8) + [0x02, 0x01, 5, 0] + Array("1.2.3".utf8) + [SweepMessage.Kind.shutdown.rawValue])
    }

    @Test func damagedMessagesAreRejected() throws {
        #expect(throws: MessageError.notASweepMessage) { try MessageEnvelope.decode(Array("HTTP/1.1 200".utf8)) }
        #expect(throws: MessageError.notASweepMessage) { try MessageEnvelope.decode([]) }
        let good = try MessageEnvelope.encode(.task(Self.plan.tasks[0]))
        #expect(throws: MessageError.malformed("truncated header")) { try MessageEnvelope.decode(Array(good.prefix(9))) }
        var unknownKind = try MessageEnvelope.encode(.shutdown)
        unknownKind[unknownKind.count - 1] = 99
        #expect(throws: MessageError.malformed("unknown kind 99")) { try MessageEnvelope.decode(unknownKind) }
        let truncatedPayload = Array(good.dropLast(5))
        let error = #expect(throws: MessageError.self) { try MessageEnvelope.decode(truncatedPayload) }
        #expect(error?.description.hasPrefix("malformed message: task payload") == true)
    }
}

@Suite struct WorkerHelloTests {
    static func plan(seed: Int = 9, fingerprint: UInt64 = 0xABCDEF, hidden: String = "[16, 32]") throws -> SweepPlan {
        SweepPlan(spec: try SweepSpec.parse("""
            name: msg
            data: {synthetic: {count: 60, seed: 2}}
            cv: {folds: 2}
            epochs: 2
            seed: \(seed)
            grid: {beta: [0.8, 0.9], hidden: \(hidden)}
            """, file: "msg.yaml"), datasetFingerprint: fingerprint)
    }

    @Test func sameSpecAndDataAgree() throws {
        let hello = WorkerHello(rank: 2, plan: try Self.plan())
        #expect(hello.mismatch(with: try Self.plan()) == nil)
        #expect(hello.taskCount == 8)
        #expect(hello.datasetFingerprint == "abcdef")
    }

    @Test func anotherSeedDataOrGridIsNamed() throws {
        let hello = WorkerHello(rank: 2, plan: try Self.plan())
        let seed = try #require(hello.mismatch(with: try Self.plan(seed: 10)))
        #expect(seed.hasPrefix("it loaded sweep 'msg' (spec hash \(hello.specHash)), rank 0 loaded 'msg' (spec hash "))
        let data = try #require(hello.mismatch(with: try Self.plan(fingerprint: 0x123)))
        #expect(data == "it loaded other data (fingerprint abcdef) than rank 0 (fingerprint 123)")
        #expect(hello.mismatch(with: try Self.plan(hidden: "[16, 32, 64]")) != nil)
    }

    @Test func digestCoversEveryTask() throws {
        let plan = try Self.plan()
        var hello = WorkerHello(rank: 1, plan: plan)
        hello.planDigest = "0"
        #expect(hello.mismatch(with: plan)?.hasPrefix("it planned 8 tasks (digest 0), rank 0 planned 8") == true)
    }
}
