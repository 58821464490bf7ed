import Foundation

/// Measures the event pipeline: loading a prepared file, and denoise + framing per recording
/// on one core, against tonic's 18–28 ms per recording measured on the reference machine.
package struct PipelineBenchmark: Codable, Sendable {
    package var recordings: Int
    package var events: Int
    package var windowMicros: Int
    package var denoiseMicros: Int?
    package var repeats: Int
    /// Wall time of reading and validating the prepared file, ms.
    package var loadMilliseconds: Double
    /// Best and median over repeats of denoise + framing on one thread, ms per recording.
    package var framingBestMillisecondsPerRecording: Double
    package var framingMedianMillisecondsPerRecording: Double
    /// tonic's Denoise + ToFrame on the reference machine, ms per recording (18–28).
    package var tonicMillisecondsPerRecording: ClosedRange<Double> = 18...28
    /// Speed-up of the median against tonic's fastest figure.
    package var speedupOverTonic: Double

    package static func run(preparedFile path: String, framing: Framing.Options, repeats: Int = 5) throws -> PipelineBenchmark {
        let loadStart = DispatchTime.now().uptimeNanoseconds
        let dataset = try PreparedFile.read(path: path)
        let loadMs = Double(DispatchTime.now().uptimeNanoseconds - loadStart) / 1e6
        var perRecording: [Double] = []
        var checksum = 0
        for _ in 0..<max(1, repeats) {
            let start = DispatchTime.now().uptimeNanoseconds
            let frames = dataset.frames(framing, threads: 1)
            let ns = Double(DispatchTime.now().uptimeNanoseconds - start)
            checksum &+= frames.storage.inputs.count
            perRecording.append(ns / 1e6 / Double(max(1, dataset.count)))
        }
        precondition(checksum > 0 || dataset.count == 0)
        perRecording.sort()
        let median = perRecording[perRecording.count / 2]
        return PipelineBenchmark(recordings: dataset.count, events: dataset.times.count, windowMicros: framing.windowMicros,
                                 denoiseMicros: framing.denoiseMicros, repeats: perRecording.count,
                                 loadMilliseconds: loadMs, framingBestMillisecondsPerRecording: perRecording[0],
                                 framingMedianMillisecondsPerRecording: median,
                                 speedupOverTonic: 18 / median)
    }

    package var text: String {
        func f(_ v: Double, _ d: Int) -> String { String(format: "%.\(d)f", v) }
        return """
            pipeline benchmark: \(recordings) recordings, \(events) events, window \(windowMicros) us, \
            denoise \(denoiseMicros.map { "\($0) us" } ?? "off"), 1 thread, \(repeats) repeats
              load prepared file       \(f(loadMilliseconds, 1)) ms (\(f(loadMilliseconds / Double(max(1, recordings)) * 1000, 1)) us per recording)
              denoise + frames         \(f(framingMedianMillisecondsPerRecording, 4)) ms per recording (median; best \(f(framingBestMillisecondsPerRecording, 4)))
              tonic (reference)        18-28 ms per recording
              speed-up                 \(f(speedupOverTonic, 0))x (against tonic's fastest 18 ms)
            """
    }
}
