import Foundation
import SpikeEvents
import SpikeSupport
import TestSupport
import Testing

/// Recordings shared by the statistics and learnability tests, made once (in parallel).
private enum Sample {
    static let generator = SyntheticNMNIST(seed: 2026)
    /// Indices 0..<500 train the nearest-class-mean classifier, 500..<700 test it and are the
    /// sample for the statistics.
    static let recordings = generator.recordings(count: 700)
    static var training: ArraySlice<Recording> { recordings[0..<500] }
    static var testing: ArraySlice<Recording> { recordings[500..<700] }
}

/// Per-input event counts summed over the whole recording (2312 values).
private func eventCounts(_ recording: Recording) -> [Double] {
    var counts = [Double](repeating: 0, count: NMNIST.inputCount)
    for input in recording.inputs { counts[Int(input)] += 1 }
    return counts
}

/// Distinct active inputs per 2000 µs window: bin = (t − t0) / 2000, distinct (bin, input)
/// pairs divided by the number of bins (the last event's bin + 1).
private func activeInputsPerWindow(_ recording: Recording, windowMicros: UInt32 = 2000) -> Double {
    let t0 = recording.times[0]
    var pairs = Set<Int>()
    var bins = 0
    for (t, input) in zip(recording.times, recording.inputs) {
        let bin = Int((t - t0) / windowMicros)
        bins = max(bins, bin + 1)
        pairs.insert(bin * NMNIST.inputCount + Int(input))
    }
    return Double(pairs.count) / Double(bins)
}

@Suite struct SynthesisTests {
    @Test func sameSeedGivesIdenticalRecordingsAndAnotherSeedDifferentOnes() {
        let again = SyntheticNMNIST(seed: 2026), other = SyntheticNMNIST(seed: 2027)
        for index in [0, 3] {
            let r = Sample.recordings[index]
            #expect(r == again.recording(index: index))
            let different = other.recording(index: index)
            #expect(r.times != different.times || r.inputs != different.inputs)
        }
        #expect(Sample.recordings[0].inputs != Sample.recordings[1].inputs)
    }

    /// Recording i is the same whether made alone, in any order, or within a parallel batch.
    @Test func recordingDependsOnlyOnSeedAndIndex() {
        let alone = [612, 37, 5].map { Sample.generator.recording(index: $0) }
        #expect(alone == [612, 37, 5].map { Sample.recordings[$0] })
        #expect(Sample.generator.recordings(in: 36..<39) == Array(Sample.recordings[36..<39]))
        #expect(Sample.recordings[17].name == "synthetic-000017")
        #expect(SyntheticNMNIST.name(of: 1_234_567) == "synthetic-1234567")
    }

    @Test func statisticsResembleTheRealSet() {
        let sample = Sample.testing
        let counts = sample.map(\.count)
        let meanEvents = Double(counts.reduce(0, +)) / Double(sample.count)
        let durations = sample.map { Int($0.times.last!) - Int($0.times.first!) }
        let onFractions = sample.map { r in Double(r.inputs.filter { Int($0) >= 1156 }.count) / Double(r.count) }
        let density = sample.map { activeInputsPerWindow($0) }.reduce(0, +) / Double(sample.count)
        print("""
            synthetic N-MNIST, \(sample.count) recordings: events mean \(meanEvents) min \(counts.min()!) \
            max \(counts.max()!); duration \(durations.min()!)–\(durations.max()!) µs; ON fraction \
            \(onFractions.min()!)–\(onFractions.max()!); first event ≤ \(sample.map { $0.times[0] }.max()!) µs; \
            active inputs per 2000 µs \(density) (\(density / Double(NMNIST.inputCount) * 100)%)
            """)
        #expect((2500...6000).contains(meanEvents))
        #expect(counts.allSatisfy { (1000...7000).contains($0) })
        #expect(durations.allSatisfy { (250_000...350_000).contains($0) })
        #expect(onFractions.allSatisfy { $0 >= 0.25 && $0 <= 0.75 })
        #expect(sample.allSatisfy { $0.times[0] < 30_000 })
        #expect(sample.allSatisfy { $0.inputs.allSatisfy { Int($0) < NMNIST.inputCount } })
        #expect(sample.allSatisfy { r in zip(r.times, r.times.dropFirst()).allSatisfy { $0 <= $1 } })
        let fraction = density / Double(NMNIST.inputCount)
        #expect(fraction >= 0.006 && fraction <= 0.02)
    }

    @Test(arguments: [0..<10, 0..<200, 130..<1130])
    func labelsAreBalanced(indices: Range<Int>) {
        let generator = SyntheticNMNIST(seed: 9)
        var perDigit = [Int](repeating: 0, count: NMNIST.classCount)
        for index in indices { perDigit[Int(generator.label(of: index))] += 1 }
        #expect(perDigit == [Int](repeating: indices.count / 10, count: NMNIST.classCount))
        // Not simply index % 10.
        #expect(indices.contains { Int(generator.label(of: $0)) != $0 % 10 })
    }

    @Test func recordingsCarryTheirLabel() {
        #expect(Sample.recordings.indices.allSatisfy { Sample.recordings[$0].label == Sample.generator.label(of: $0) })
    }

    @Test(arguments: [0, 1, 17, 123])
    func nativeFormatRoundTrips(index: Int) throws {
        let recording = Sample.recordings[index]
        let decoded = try NMNISTCodec.decode(NMNISTCodec.encode(recording), path: recording.name, label: recording.label)
        #expect(decoded == recording)
    }

    @Test(arguments: ["Train", "Test"])
    func treeWriterUsesTheOfficialLayout(split: String) throws {
        let directory = try SharedData.makeTemporaryDirectory("synthetic-tree")
        defer { try? FileManager.default.removeItem(at: directory) }
        let generator = Sample.generator
        let urls = try generator.writeNativeTree(count: 23, to: directory, split: split)
        #expect(urls.count == 23)
        let root = directory.appendingPathComponent(split)
        let digitFolders = try FileManager.default.contentsOfDirectory(atPath: root.path).sorted()
        #expect(digitFolders == (0..<10).map(String.init))
        var found: [String] = []
        for folder in digitFolders {
            for file in try FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent(folder).path) {
                found.append("\(folder)/\(file)")
            }
        }
        let expected = (0..<23).map { index -> String in
            let number = String(index)
            return "\(generator.label(of: index))/\(String(repeating: "0", count: 5 - number.count))\(number).bin"
        }
        #expect(found.sorted() == expected.sorted())
        for (index, url) in urls.enumerated() {
            let recording = Sample.recordings[index]
            #expect(url.lastPathComponent == expected[index].split(separator: "/").last.map(String.init))
            let bytes = [UInt8](try Data(contentsOf: url))
            let decoded = try NMNISTCodec.decode(bytes, path: url.path, label: UInt8(url.deletingLastPathComponent().lastPathComponent)!)
            #expect(decoded.times == recording.times)
            #expect(decoded.inputs == recording.inputs)
            #expect(decoded.label == recording.label)
        }
    }

    /// A nearest-class-mean classifier on time-summed per-input event counts learns the labels
    /// well above chance (10%), yet no single input separates the classes.
    @Test func labelsAreLearnableButNotByOnePixel() {
        var means = [[Double]](repeating: [Double](repeating: 0, count: NMNIST.inputCount), count: NMNIST.classCount)
        var members = [Double](repeating: 0, count: NMNIST.classCount)
        for recording in Sample.training {
            let counts = eventCounts(recording)
            let label = Int(recording.label)
            for k in counts.indices { means[label][k] += counts[k] }
            members[label] += 1
        }
        for c in means.indices { means[c] = means[c].map { $0 / members[c] } }
        let tests = Sample.testing.map { (label: Int($0.label), counts: eventCounts($0)) }
        let correct = tests.filter { test in
            let distances = means.map { mean in zip(mean, test.counts).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) } }
            return distances.indices.min { distances[$0] < distances[$1] } == test.label
        }.count
        let accuracy = Double(correct) / Double(tests.count)

        // The same rule restricted to one input, for the best input.
        var bestSingle = 0
        for k in 0..<NMNIST.inputCount {
            var hits = 0
            for test in tests {
                var nearest = 0
                for c in 1..<NMNIST.classCount
                where abs(means[c][k] - test.counts[k]) < abs(means[nearest][k] - test.counts[k]) {
                    nearest = c
                }
                if nearest == test.label { hits += 1 }
            }
            bestSingle = max(bestSingle, hits)
        }
        let singleAccuracy = Double(bestSingle) / Double(tests.count)
        print("nearest class mean: accuracy \(accuracy) on \(tests.count) held-out recordings; best single input \(singleAccuracy)")
        #expect(accuracy >= 0.6)
        #expect(accuracy <= 0.97)
        #expect(singleAccuracy <= 0.4)
    }

    @Test(arguments: [0, 1, 5, 800])
    func timeOrderIsStable(count: Int) {
        var rng = Xoshiro256(seed: UInt64(count))
        // Many ties, and times beyond 2^22 µs that need a third radix pass.
        let times = (0..<count).map { _ in rng.nextInt(below: 50) * (rng.nextInt(below: 2) == 0 ? 7 : 300_001) }
        let order = SyntheticNMNIST.stableOrder(byTime: times)
        let expected = Array(0..<count).sorted { (times[$0], $0) < (times[$1], $1) }
        #expect(order == expected)
    }

    @Test(arguments: [(0.15, 0.23), (0.23, 0.35)])
    func higherContrastThresholdGivesFewerEvents(lower: Double, higher: Double) {
        var options = SyntheticNMNIST.Options()
        options.contrastThreshold = lower
        let sensitive = SyntheticNMNIST(seed: 4, options: options).recordings(count: 6)
        options.contrastThreshold = higher
        let dull = SyntheticNMNIST(seed: 4, options: options).recordings(count: 6)
        let sensitiveEvents: Int = sensitive.map(\.count).reduce(0, +)
        let dullEvents: Int = dull.map(\.count).reduce(0, +)
        #expect(sensitiveEvents > dullEvents * 5 / 4)
        #expect(zip(sensitive, dull).allSatisfy { $0.label == $1.label })
    }

    @Test func noiseIsOptionalAndMostlyIsolated() {
        var options = SyntheticNMNIST.Options()
        options.noiseRate = 0
        let quiet = SyntheticNMNIST(seed: 8, options: options).recordings(count: 10)
        let noisy = SyntheticNMNIST(seed: 8).recordings(count: 10)
        // Noise is drawn after the sensor's events, so it only adds events.
        let extra: Int = noisy.map(\.count).reduce(0, +) - quiet.map(\.count).reduce(0, +)
        #expect((1200...2600).contains(extra))  // 600 events/s × ~0.31 s ≈ 185 each
        // tonic's Denoise(10 ms) removes most of the added events.
        let removedQuiet: Int = quiet.map { $0.count - denoisedCount($0) }.reduce(0, +)
        let removedNoisy: Int = noisy.map { $0.count - denoisedCount($0) }.reduce(0, +)
        print("noise: \(extra) events added to 10 recordings, denoise removes \(removedNoisy - removedQuiet) more")
        #expect(Double(removedNoisy - removedQuiet) >= 0.7 * Double(extra))
    }
}

/// Events kept by tonic's `Denoise(filterMicros)` (SEMANTICS.md §7, sensor-size form): an
/// event is kept when a 4-neighbour had an event less than `filterMicros` earlier.
private func denoisedCount(_ recording: Recording, filterMicros: Int = 10_000) -> Int {
    let (w, h) = (NMNIST.width, NMNIST.height)
    var expiry = [Int](repeating: filterMicros, count: w * h)
    var kept = 0
    for (time, input) in zip(recording.times, recording.inputs) {
        let t = Int(time), pixel = Int(input) % (w * h), x = pixel % w, y = pixel / w
        expiry[pixel] = t + filterMicros
        if (x > 0 && expiry[pixel - 1] > t) || (x < w - 1 && expiry[pixel + 1] > t)
            || (y > 0 && expiry[pixel - w] > t) || (y < h - 1 && expiry[pixel + w] > t) {
            kept += 1
        }
    }
    return kept
}
