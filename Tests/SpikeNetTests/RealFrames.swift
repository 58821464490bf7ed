import Foundation
import SpikeEvents
import SpikeNet
import TestSupport

/// The real N-MNIST subset framed at 2000 µs with Denoise(10000), read once per test process
/// through the data layer's own loader; nil when the data is absent.
enum RealFrames {
    static let window2000: FrameSet? = {
        guard let folder = SharedData.nmnistSmall else { return nil }
        return try? FrameLoading.load(path: folder.path, windowMicros: 2000, denoiseMicros: 10_000, threads: 2)
    }()
}
