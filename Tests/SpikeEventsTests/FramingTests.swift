import Foundation
import Testing
import SpikeEvents
import TestSupport

/// One entry of `fixtures/frames.json` (tonic 1.7.0 on real recordings).
struct FrameFixture: Decodable, CustomTestStringConvertible {
    var sample: String
    var time_window_us: Int
    var filter_time_us: Int
    var raw_event_count: Int
    var raw_first_t: UInt32
    var raw_last_t: UInt32
    var denoised_event_count: Int
    var denoised_first_t: UInt32
    var denoised_last_t: UInt32
    var denoise_kept_raw_indices: [Int32]
    var frame_shape: [Int]
    var events_in_frames: Int
    var nonzero_entries: Int
    var max_count: Int
    var frames_sparse_t_p_y_x_count: [[Int]]

    var testDescription: String { "\(sample) @ \(time_window_us) us" }

    static func load() throws -> [FrameFixture] {
        guard let url = SharedData.fixture("frames.json") else { return [] }
        struct File: Decodable { var samples: [FrameFixture] }
        return try JSONDecoder().decode(File.self, from: Data(contentsOf: url)).samples
    }
}

@Suite struct FramingTests {
    static let fixtures: [FrameFixture] = (try? FrameFixture.load()) ?? []

    @Test func fixturesArePresent() throws {
        guard SharedData.fixture("frames.json") != nil else {
            print("skipped: ../shared/fixtures/frames.json not found"); return
        }
        #expect(Self.fixtures.count == 6)
    }

    @Test(arguments: fixtures)
    func matchesTonicBitForBit(_ fixture: FrameFixture) throws {
        guard let folder = SharedData.nmnistSmall else { print(SharedData.skipMessage); return }
        let path = folder.appendingPathComponent(fixture.sample).path
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        let recording = try NMNISTCodec.decode(bytes, path: path, label: 0)
        #expect(recording.count == fixture.raw_event_count)
        #expect(recording.times.first == fixture.raw_first_t)
        #expect(recording.times.last == fixture.raw_last_t)

        let kept = recording.times.withUnsafeBufferPointer { t in
            recording.inputs.withUnsafeBufferPointer { i in
                Denoise.keptIndices(times: t, inputs: i, filterTime: fixture.filter_time_us)
            }
        }
        #expect(kept.count == fixture.denoised_event_count)
        #expect(kept == fixture.denoise_kept_raw_indices)
        #expect(recording.times[Int(kept.first!)] == fixture.denoised_first_t)
        #expect(recording.times[Int(kept.last!)] == fixture.denoised_last_t)

        let dataset = EventDataset(recordings: [recording])
        let frames = dataset.frames(windowMicros: fixture.time_window_us, denoiseMicros: fixture.filter_time_us)
        #expect(frames.stepCount(of: 0) == fixture.frame_shape[0])
        var entries: [[Int]] = []
        var eventsInFrames = 0
        for t in 0..<frames.stepCount(of: 0) {
            for e in frames.entryRange(recording: 0, step: t) {
                let input = Int(frames.storage.inputs[e])
                entries.append([t, NMNIST.p(ofInput: input), NMNIST.y(ofInput: input), NMNIST.x(ofInput: input), Int(frames.storage.counts[e])])
                eventsInFrames += Int(frames.storage.counts[e])
            }
        }
        #expect(entries.count == fixture.nonzero_entries)
        #expect(eventsInFrames == fixture.events_in_frames)
        #expect(Int(frames.storage.counts.max() ?? 0) == fixture.max_count)
        // The fixture lists entries in (t, p, y, x) order, which is our (step, input) order.
        #expect(entries == fixture.frames_sparse_t_p_y_x_count)
    }

    // MARK: - tonic's rules on hand-made streams (SEMANTICS §7–8)

    func recording(_ events: [(x: Int, y: Int, p: Int, t: UInt32)]) -> Recording {
        Recording(name: "hand-made", label: 3, times: events.map(\.t),
                  inputs: events.map { UInt16(NMNIST.inputIndex(x: $0.x, y: $0.y, p: $0.p)) })
    }

    func kept(_ r: Recording, filter: Int = 10_000) -> [Int32] {
        r.times.withUnsafeBufferPointer { t in
            r.inputs.withUnsafeBufferPointer { i in Denoise.keptIndices(times: t, inputs: i, filterTime: filter) }
        }
    }

    @Test func denoiseKeepsEarlyEventsBecauseMemoryStartsAtFilterTime() {
        // Isolated events: kept at t = 100 (< filter time), dropped at t = 10000.
        #expect(kept(recording([(5, 5, 0, 100), (20, 20, 0, 10_000)])) == [0])
    }

    @Test func denoiseUsesOnlyTheFourDirectNeighboursAndThePast() {
        let base: UInt32 = 50_000
        // Same pixel twice: dropped (the pixel itself is not a neighbour).
        #expect(kept(recording([(3, 3, 0, base), (3, 3, 1, base + 10), (30, 30, 0, base + 20)])) == [])
        // Diagonal: dropped.
        #expect(kept(recording([(3, 3, 0, base), (4, 4, 0, base + 10), (30, 30, 0, base + 20)])) == [])
        // Right neighbour 9999 µs earlier: kept; 10000 µs earlier: dropped (strict window).
        #expect(kept(recording([(3, 3, 0, base), (4, 3, 1, base + 9_999), (30, 30, 0, base + 9_999)])) == [1])
        #expect(kept(recording([(3, 3, 0, base), (4, 3, 1, base + 10_000), (30, 30, 0, base + 10_000)])) == [])
        // Only the past counts: the first of two neighbours is dropped, the second kept, even at equal times.
        #expect(kept(recording([(3, 3, 0, base), (3, 4, 0, base), (30, 30, 0, base)])) == [1])
    }

    @Test func denoiseBoundsAreTheRecordingsOwnExtent() {
        // All events on pixel (0, 0): tonic's grid is 1 × 1 with no in-bounds neighbour, so even
        // early events are dropped (the one case where the sensor-size form would differ).
        #expect(kept(recording([(0, 0, 0, 10), (0, 0, 1, 20)])) == [])
    }

    @Test func framesDropTheTrailingPartialWindowAndCountRepeats() throws {
        let r = recording([(1, 1, 0, 1000), (1, 1, 0, 1500), (2, 1, 1, 2999), (3, 3, 0, 3000), (4, 4, 0, 6999)])
        let frames = EventDataset(recordings: [r]).frames(windowMicros: 2000, denoiseMicros: nil)
        // t0 = 1000, t1 = 6999: n = (5999) / 2000 = 2 windows; 3000 falls in window 1; 6999 dropped.
        #expect(frames.stepCount(of: 0) == 2)
        #expect(Array(frames.storage.inputs[frames.entryRange(recording: 0, step: 0)]) == [35, 1156 + 36])
        #expect(Array(frames.storage.counts[frames.entryRange(recording: 0, step: 0)]) == [2, 1])
        #expect(Array(frames.storage.inputs[frames.entryRange(recording: 0, step: 1)]) == [105])
    }

    @Test func aRecordingShorterThanOneWindowIsOneStep() {
        let r = recording([(1, 1, 0, 10), (2, 1, 0, 500)])
        let frames = EventDataset(recordings: [r]).frames(windowMicros: 2000, denoiseMicros: nil)
        #expect(frames.stepCount(of: 0) == 1)
        #expect(frames.storage.counts.reduce(0) { $0 + Int($1) } == 2)
    }

    @Test func firstSaccadeCropKeepsOnlyTheFirst100Milliseconds() {
        let r = recording([(1, 1, 0, 10), (2, 1, 0, 99_999), (3, 1, 0, 100_000), (4, 1, 0, 250_000)])
        let options = Framing.Options(windowMicros: 1000, denoiseMicros: nil, firstSaccadeOnly: true)
        let frames = EventDataset(recordings: [r]).frames(options)
        #expect(frames.storage.counts.reduce(0) { $0 + Int($1) } == 1)  // the 99_999 event is in the trailing partial window
        #expect(frames.stepCount(of: 0) == 99)
    }

    @Test func framesDoNotDependOnThreadCountAndSubsetsMatch() {
        var recordings: [Recording] = []
        for i in 0..<300 {
            var events: [(x: Int, y: Int, p: Int, t: UInt32)] = []
            for k in 0..<50 {
                events.append((x: (i + k) % 34, y: (i * 7 + k) % 34, p: k % 2, t: UInt32(k * 997 + i)))
            }
            recordings.append(recording(events))
        }
        let dataset = EventDataset(recordings: recordings)
        let one = dataset.frames(Framing.Options(windowMicros: 2000), threads: 1)
        let two = dataset.frames(Framing.Options(windowMicros: 2000), threads: 2)
        #expect(one == two)
        let picked = [5, 17, 299, 0]
        #expect(one.subset(picked) == dataset.frames(Framing.Options(windowMicros: 2000), indices: picked))
    }
}
