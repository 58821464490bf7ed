import Foundation

/// Measures the event pipeline: loading a prepared file, and denoise + framing per recording
/// on one core, against tonic's 18–28 ms per recording measured on the reference machine.
public struct PipelineBenchmark: Codable, Sendable {
    public var recordings: Int
    public var events: Int
    public var windowMicros: Int
    public var denoiseMicros: Int?
    public var repeats: Int
    /// Wall time of reading and validating the prepared file, ms.
    public var loadMilliseconds: Double
    /// Best and median over repeats of denoise + framing on one thread, ms per recording.
    public var framingBestMillisecondsPerRecording: Double
    public var framingMedianMillisecondsPerRecording: Double
    /// tonic's Denoise + ToFrame on the reference machine, ms per recording (18–28).
    public var tonicMillisecondsPerRecording: ClosedRange<Double> = 18...28
    /// Speed-up of the median against tonic's fastest figure.
    public var speedupOverTonic: Double

    public static func run(preparedFile path: String, framing: Framing.Options, repeats: Int = 5) throws -> PipelineBenchmark {
        let loadStart = DispatchTime.now().uptimeNanoseconds
        let dataset = try PreparedFile.read(path: path)
        let loadMs = Double(DispatchTime.now().uptimeNanoseconds - loadStart) / 1e6
        var perRecording: [Double] = []
        var checksum = 0
        for _ in 0..<max(1, repeats) {
            let start = DispatchTime.now().uptimeNanoseconds
            let frames = dataset.frames(framing, threads: 1)
            let ns = Double(DispatchTime.now().uptimeNanoseconds - start)
            checksum &+= frames.inputs.count
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

    public var text: String {
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
