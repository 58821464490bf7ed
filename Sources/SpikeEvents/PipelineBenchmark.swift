import Foundation

/// Measures the event pipeline: loading a prepared file, and denoise + framing per recording
/// on one core; with a `TonicBaseline`, tonic's Denoise + ToFrame on the same recordings in the
/// same run, and the ratio. No stored figure of tonic's is used.
package struct PipelineBenchmark: Codable, Sendable {
    package var recordings: Int
    package var events: Int
    package var windowMicros: Int
    package var denoiseMicros: Int?
    package var repeats: Int
    /// Frames (steps) one framing of the recordings makes: tonic makes as many per repeat.
    package var frames: Int
    /// Wall time of reading and validating the prepared file, ms.
    package var loadMilliseconds: Double
    /// Best and median over repeats of denoise + framing on one thread, ms per recording.
    package var framingBestMillisecondsPerRecording: Double
    package var framingMedianMillisecondsPerRecording: Double
    /// tonic on the same recordings (when compared).
    package var tonic: TonicMeasurement?
    /// tonic's median over spikesweep's median (when compared).
    package var speedupOverTonic: Double?

    /// Loads `path`, keeps its first `recordings` recordings (all when nil), frames them
    /// `repeats` times on one thread, and when `tonic` is given times tonic on the same ones.
    package static func run(preparedFile path: String, framing: Framing.Options, repeats: Int = 5,
                            recordings limit: Int? = nil, tonic: TonicBaseline? = nil) throws -> PipelineBenchmark {
        let loadStart = DispatchTime.now().uptimeNanoseconds
        var dataset = try PreparedFile.read(path: path)
        let loadMs = Double(DispatchTime.now().uptimeNanoseconds - loadStart) / 1e6
        if let limit, limit < dataset.count { dataset = dataset.subset(Array(0..<max(1, limit))) }
        var perRecording: [Double] = []
        var frameCount = 0
        for _ in 0..<max(1, repeats) {
            let start = DispatchTime.now().uptimeNanoseconds
            let frames = dataset.frames(framing, threads: 1)
            let ns = Double(DispatchTime.now().uptimeNanoseconds - start)
            frameCount = frames.storage.stepEntryStart.count - 1
            perRecording.append(ns / 1e6 / Double(max(1, dataset.count)))
        }
        perRecording.sort()
        let median = perRecording[perRecording.count / 2]
        let tonicMeasurement = try tonic?.measure(dataset, framing: framing, repeats: max(1, repeats))
        return PipelineBenchmark(recordings: dataset.count, events: dataset.times.count, windowMicros: framing.windowMicros,
                                 denoiseMicros: framing.denoiseMicros, repeats: perRecording.count, frames: frameCount,
                                 loadMilliseconds: loadMs, framingBestMillisecondsPerRecording: perRecording[0],
                                 framingMedianMillisecondsPerRecording: median, tonic: tonicMeasurement,
                                 speedupOverTonic: tonicMeasurement.map { $0.medianMillisecondsPerRecording / median })
    }

    package var text: String {
        func f(_ v: Double, _ d: Int) -> String { String(format: "%.\(d)f", v) }
        var lines = [
            "pipeline benchmark: \(recordings) recordings, \(events) events, window \(windowMicros) us, "
                + "denoise \(denoiseMicros.map { "\($0) us" } ?? "off"), 1 thread, \(repeats) repeats",
            "  load prepared file       \(f(loadMilliseconds, 1)) ms",
            "  denoise + frames         \(f(framingMedianMillisecondsPerRecording, 4)) ms per recording "
                + "(median; best \(f(framingBestMillisecondsPerRecording, 4)))",
        ]
        if let tonic, let speedupOverTonic {
            lines.append("  tonic Denoise + ToFrame  \(f(tonic.medianMillisecondsPerRecording, 3)) ms per recording "
                         + "(median; best \(f(tonic.bestMillisecondsPerRecording, 3))), same recordings, same run")
            lines.append("  speed-up                 \(f(speedupOverTonic, 0))x (median over median)")
            lines.append("tonic: \(tonic.python) (Python \(tonic.pythonVersion), tonic \(tonic.tonicVersion), "
                         + "numpy \(tonic.numpyVersion)), right after spikesweep, one core")
        } else {
            lines.append("tonic: not compared (--compare-tonic PYTHON times tonic on the same recordings)")
        }
        return lines.joined(separator: "\n")
    }
}
