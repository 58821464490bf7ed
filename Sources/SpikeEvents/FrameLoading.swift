import Foundation
import SpikeSupport

/// Frames for the engine from any dataset source the data layer reads (a prepared `.spk`
/// file, a `.bs2` folder with its label list, an extracted tree, an official zip).
package enum FrameLoading {
    /// Reads `path` and frames every recording with tonic's Denoise + ToFrame.
    /// - Throws: the data layer's one-line `FileError` when the source is unusable.
    package static func load(path: String, labels: String? = nil, windowMicros: Int, denoiseMicros: Int?,
                            threads: Int = ProcessInfo.processInfo.activeProcessorCount) throws -> FrameSet {
        let dataset = try DatasetSource.detect(path, labels: labels).read(threads: threads)
        return dataset.frames(windowMicros: windowMicros, denoiseMicros: denoiseMicros, threads: threads)
    }

    /// Reads `path` once and frames it at several windows.
    package static func load(path: String, labels: String? = nil, windows: [Int], denoiseMicros: Int?,
                            threads: Int = ProcessInfo.processInfo.activeProcessorCount) throws -> [Int: FrameSet] {
        let dataset = try DatasetSource.detect(path, labels: labels).read(threads: threads)
        var result: [Int: FrameSet] = [:]
        for w in windows where result[w] == nil {
            result[w] = dataset.frames(windowMicros: w, denoiseMicros: denoiseMicros, threads: threads)
        }
        return result
    }
}
