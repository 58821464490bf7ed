import Dispatch
import SpikeSupport

/// What `spikesweep data inspect` reports about a split: sizes, per-class counts, events per
/// recording before and after denoising, duration, frames per recording and input density
/// for a given window.
package struct DatasetStatistics: Codable, Sendable, Equatable {
    package struct Summary: Codable, Sendable, Equatable {
        package var mean: Double
        package var min: Double
        package var max: Double

        init<S: Sequence>(_ values: S) where S.Element: BinaryInteger {
            var sum = 0.0, lo = Double.infinity, hi = -Double.infinity, n = 0
            for v in values { let d = Double(v); sum += d; lo = Swift.min(lo, d); hi = Swift.max(hi, d); n += 1 }
            mean = n == 0 ? 0 : sum / Double(n)
            min = n == 0 ? 0 : lo
            max = n == 0 ? 0 : hi
        }
    }

    package var recordings: Int
    package var split: String
    /// Content fingerprint as 16 hex digits.
    package var fingerprint: String
    package var recordingsPerClass: [Int]
    package var rawEvents: Summary
    /// After tonic `Denoise(denoiseMicros)`; equal to raw when denoising is off.
    package var denoisedEvents: Summary
    /// Last minus first raw timestamp, µs.
    package var durationMicros: Summary
    package var windowMicros: Int
    package var denoiseMicros: Int?
    package var firstSaccadeOnly: Bool
    /// Steps per recording at `windowMicros`.
    package var frames: Summary
    /// Distinct active inputs per step (mean over all steps).
    package var activeInputsPerStep: Double
    /// `activeInputsPerStep / 2312`.
    package var inputDensity: Double
    /// Fraction of raw events with polarity 1.
    package var polarity1Fraction: Double

    /// Computes the statistics.
    /// - Complexity: O(total events).
    package init(dataset: EventDataset, framing: Framing.Options, threads: Int = 1) {
        recordings = dataset.count
        split = dataset.split.rawValue
        fingerprint = PreparedFile.fingerprint(of: dataset).hex16
        recordingsPerClass = (0..<10).map { c in dataset.labels.lazy.filter { $0 == c }.count }
        rawEvents = Summary((0..<dataset.count).lazy.map { dataset.eventCount(of: $0) })
        var denoised = [Int](repeating: 0, count: dataset.count)
        for r in 0..<dataset.count {
            denoised[r] = dataset.withEvents(of: r) { t, i in
                guard let filter = framing.denoiseMicros else { return t.count }
                var n = 0
                Denoise.forEachKept(times: t, inputs: i, filterTime: filter) { _ in n += 1 }
                return n
            }
        }
        denoisedEvents = Summary(denoised)
        durationMicros = Summary((0..<dataset.count).lazy.map { r in
            Int(dataset.times[dataset.eventStart[r + 1] - 1]) - Int(dataset.times[dataset.eventStart[r]])
        })
        windowMicros = framing.windowMicros
        denoiseMicros = framing.denoiseMicros
        firstSaccadeOnly = framing.firstSaccadeOnly
        let frameSet = dataset.frames(framing, threads: threads)
        frames = Summary((0..<frameSet.count).lazy.map { frameSet.stepCount(of: $0) })
        let steps = frameSet.storage.stepEntryStart.count - 1
        activeInputsPerStep = steps == 0 ? 0 : Double(frameSet.storage.inputs.count) / Double(steps)
        inputDensity = activeInputsPerStep / Double(NMNIST.inputCount)
        let on = dataset.inputs.lazy.filter { Int($0) >= 1156 }.count
        polarity1Fraction = dataset.inputs.isEmpty ? 0 : Double(on) / Double(dataset.inputs.count)
    }

    /// A human-readable report.
    package var text: String {
        func f(_ v: Double, _ digits: Int = 1) -> String {
            let scale = pow10(digits)
            let rounded = (v * scale).rounded() / scale
            return digits == 0 ? String(Int(rounded)) : String(rounded)
        }
        func row(_ name: String, _ s: Summary, _ digits: Int = 1) -> String {
            "  \(name.padding(20)) mean \(f(s.mean, digits))  min \(f(s.min, 0))  max \(f(s.max, 0))"
        }
        var lines: [String] = []
        lines.append("recordings: \(recordings) (split: \(split), fingerprint \(fingerprint))")
        lines.append("per class:  " + recordingsPerClass.enumerated().map { "\($0.offset):\($0.element)" }.joined(separator: " "))
        lines.append("events per recording:")
        lines.append(row("raw", rawEvents))
        lines.append(row(denoiseMicros.map { "denoised (\($0) us)" } ?? "denoised (off)", denoisedEvents))
        lines.append(row("duration (us)", durationMicros, 0))
        lines.append("frames at \(windowMicros) us\(firstSaccadeOnly ? " (first saccade only)" : ""):")
        lines.append(row("steps", frames))
        lines.append("  active inputs/step   \(f(activeInputsPerStep, 2)) of 2312 (density \(f(inputDensity * 100, 2))%)")
        lines.append("  polarity 1 fraction  \(f(polarity1Fraction, 3))")
        return lines.joined(separator: "\n")
    }

    private func pow10(_ n: Int) -> Double { (0..<n).reduce(1.0) { r, _ in r * 10 } }
}

extension String {
    fileprivate func padding(_ width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }
}
