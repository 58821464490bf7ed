/// How the engine lays out its work and memory: knobs that change speed, not results.
///
/// Every gradient element is summed in the same order whatever the group size, kernel width or
/// dW1 path, and huge pages are only a hint to the kernel, so two engines that differ only in
/// those produce the same bits. The input path is the exception: the dense path's matrix
/// products (OpenBLAS) sum in their own order, so its results agree with the event-driven
/// path's to float32 rounding (within the snnTorch parity tolerances), not bit for bit. Callers
/// that do not care use the defaults; a test or a benchmark that wants another setting passes
/// it (nothing is read from the environment).
package struct EngineTuning: Sendable, Hashable {
    /// Which path the products with W1 take.
    package enum Inputs: String, Sendable, Hashable, CaseIterable {
        /// Dense where a batch's frames are at least `denseCrossover` dense and OpenBLAS loads.
        case automatic
        /// Gathers over the active inputs only (`SpikeEngine+Forward.swift`).
        case eventDriven = "event-driven"
        /// Matrix products on dense frames (`SpikeEngine+Dense.swift`) wherever OpenBLAS loads.
        case dense
    }

    /// How the event-driven path sums dW1 (the dense path has its own matrix product).
    package enum WeightGradient: String, Sendable, Hashable, CaseIterable {
        /// `direct` with the AVX-512 kernels for networks of at most
        /// `directWeightGradientMaxTiles` tiles, else `indexed`.
        case automatic
        /// Through an index of each group's entries by input, built once per group: each row of
        /// dW1 read and written once per group (`SpikeEngine.weightGradient`).
        case indexed
        /// Step by step over each recording's own entries, no index: a row of dW1 read and
        /// written per entry (`SpikeEngine.scatterWeightGradient`).
        case direct
    }

    /// Recordings per group: the batch runs group by group so that the surrogate values kept
    /// between the hidden forward and backward passes (`groupSize · T · paddedHidden` floats)
    /// and the dW1 rows of a group stay in cache. Values below 1 count as 1. The default, 4,
    /// was the fastest at H = 100 and H = 800 on N-MNIST (groups of 1–16 measured).
    package var groupSize: Int
    /// Whether large, randomly accessed buffers (W1, its gradient and Adam moments, the kept
    /// surrogate values) are advised to use transparent huge pages (see `HugePages`).
    package var hugePages: Bool
    /// The input path.
    package var inputs: Inputs
    /// Frame density (active share of a batch's step × input cells) from which `automatic`
    /// takes the dense path; nil: where `spikesweep bench --density-sweep` measured the two
    /// paths to cross with the kernels the engine runs (`measuredDenseCrossover(avx512:)`).
    package var denseCrossover: Double?

    /// Whether the engine may use its AVX-512 kernels (`spike_forward_tile_avx512` for the
    /// forward pass of whole tiles, `spike_accumulate32_avx512` for the indexed dW1 update of
    /// whole half tiles, `spike_backward_tile_avx512` for the backward time loop and the direct
    /// dW1 update) where the CPU has AVX-512 (`SpikeEngine.cpuHasAVX512`); elsewhere, or when
    /// false, it runs the 256-bit loops. The two do the same operations in the same
    /// order, so they give the same bits.
    package var avx512: Bool

    /// Whether an engine with this tuning runs its AVX-512 kernels: `avx512` on a CPU that has
    /// AVX-512.
    package var runsAVX512: Bool { avx512 && SpikeEngine.cpuHasAVX512 }

    /// The measured crossover (see `denseCrossover`; README, "Dense frames"): 78% with the AVX2
    /// loops (62–78% on a Zen 3 machine, 90% on a Zen 5 one), 97% with the AVX-512 kernels,
    /// which make the event-driven path faster (97% and none below 100% on the Zen 5 machine).
    package static func measuredDenseCrossover(avx512: Bool) -> Double { avx512 ? 0.97 : 0.78 }

    /// Whether `automatic` takes the dense path for a batch whose frames are `density` dense
    /// (where OpenBLAS loads), with the AVX-512 kernels when `avx512` (`runsAVX512`).
    package func automaticTakesDensePath(density: Double, avx512: Bool) -> Bool {
        density >= (denseCrossover ?? Self.measuredDenseCrossover(avx512: avx512))
    }

    /// How the event-driven path sums dW1.
    package var weightGradient: WeightGradient

    /// The largest network, in tiles, for which `automatic` sums dW1 `direct` (with the AVX-512
    /// kernels): the index costs the same per entry whatever the network's width, and saves work
    /// on every half tile, so it pays on wide networks only. Measured with `spikesweep bench
    /// --weight-gradient` (2 threads, Zen 5, the real recordings, 2000 µs): direct 3–31% faster at
    /// H = 100 and 1–12% at H = 128 (2 tiles); 4–9% slower at H = 192 (3 tiles), 4–20% at
    /// H = 256 and 9% at H = 400 (README, "dW1 without the input index").
    package static let directWeightGradientMaxTiles = 2

    /// Whether an engine with this tuning sums dW1 `direct` for `shape` on the event-driven path,
    /// with the AVX-512 kernels when `avx512` (`runsAVX512`). `automatic` keeps the index with
    /// the AVX2 loops: there a direct update is four 256-bit read-modify-writes per entry and half
    /// tile, which on a Zen 3 machine took 14.3–14.8 against 11.4–11.7 ms per batch at H = 100
    /// (1 thread; README, "Performance").
    package func sumsWeightGradientDirectly(_ shape: NetworkShape, avx512: Bool) -> Bool {
        switch weightGradient {
        case .direct: return true
        case .indexed: return false
        case .automatic: return avx512 && shape.tileCount <= Self.directWeightGradientMaxTiles
        }
    }

    package init(groupSize: Int = 4, hugePages: Bool = true, inputs: Inputs = .automatic,
                 denseCrossover: Double? = nil, avx512: Bool = true, weightGradient: WeightGradient = .automatic) {
        self.weightGradient = weightGradient
        self.groupSize = groupSize
        self.avx512 = avx512
        self.hugePages = hugePages
        self.inputs = inputs
        self.denseCrossover = denseCrossover
    }
}
