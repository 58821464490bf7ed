import SpikeEvents
import SpikeSupport

/// Training speed of the event-driven and the dense path across input densities, on synthetic
/// frames (each step activates each input with the given probability), and where they cross:
/// what `spikesweep bench --density-sweep` prints and `EngineTuning.measuredDenseCrossover(avx512:)`
/// records.
package enum DensitySweep {
    /// One density, both paths.
    package struct Point: Sendable, Codable, Equatable {
        package var density: Double
        package var eventDriven: BenchmarkCase
        package var dense: BenchmarkCase

        /// Dense rate over event-driven rate (above 1: dense is faster).
        package var denseOverEventDriven: Double { dense.recordingsPerSecond / eventDriven.recordingsPerSecond }
    }

    /// The densities swept by default: 0.5% to 100%.
    package static let defaultDensities = [0.005, 0.01, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 0.7, 1.0]

    /// Measures both paths at each density on `count` synthetic recordings of about `steps`
    /// steps, with the network and batch of `hyperparameters`, both paths with the AVX-512
    /// kernels where the CPU has them unless `avx512` is false (`EngineTuning.avx512`).
    /// `progress` gets each point as it is measured.
    package static func run(densities: [Double] = defaultDensities, hyperparameters: Hyperparameters, threads: Int,
                            steps: Int = 150, count: Int = 256, minSeconds: Double = 1, avx512: Bool = true,
                            progress: (Point) -> Void = { _ in }) -> [Point] {
        densities.map { density in
            let frames = SyntheticFrames.make(count: count, meanSteps: steps, density: density, seed: 7)
            func measure(_ inputs: EngineTuning.Inputs) -> BenchmarkCase {
                Benchmark.measure(frames: frames, hyperparameters: hyperparameters, threads: threads, warmup: 1,
                                  minBatches: 2, minSeconds: minSeconds, tuning: EngineTuning(inputs: inputs, avx512: avx512))
            }
            let point = Point(density: density, eventDriven: measure(.eventDriven), dense: measure(.dense))
            progress(point)
            return point
        }
    }

    /// The density at which the dense path becomes the faster one: between the last density
    /// where it is slower and the first where it is faster, interpolated on the logarithm of
    /// the rate ratio; `nil` when one path wins everywhere.
    package static func crossover(_ points: [Point]) -> Double? {
        let sorted = points.sorted { $0.density < $1.density }
        guard let k = sorted.firstIndex(where: { $0.denseOverEventDriven >= 1 }), k > 0 else { return nil }
        let a = sorted[k - 1], b = sorted[k]
        let la = PortableMath.log(a.denseOverEventDriven), lb = PortableMath.log(b.denseOverEventDriven)
        let f = lb == la ? 0 : -la / (lb - la)
        return a.density + f * (b.density - a.density)
    }
}
