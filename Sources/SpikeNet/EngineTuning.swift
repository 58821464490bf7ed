/// How the engine lays out its work and memory: knobs that change speed, never a result.
///
/// Every gradient element is summed in the same order whatever the group size, and huge pages
/// are only a hint to the kernel, so two engines that differ only in their tuning produce the
/// same bits. Callers that do not care use the defaults; a test or a benchmark that wants
/// another setting passes it (nothing is read from the environment).
package struct EngineTuning: Sendable, Hashable {
    /// Recordings per group: the batch runs group by group so that the surrogate values kept
    /// between the hidden forward and backward passes (`groupSize · T · paddedHidden` floats)
    /// stay in cache. Values below 1 count as 1.
    package var groupSize: Int
    /// Whether large, randomly accessed buffers (W1, its gradient and Adam moments, the kept
    /// surrogate values) are advised to use transparent huge pages (see `HugePages`).
    package var hugePages: Bool

    package init(groupSize: Int = 16, hugePages: Bool = true) {
        self.groupSize = groupSize
        self.hugePages = hugePages
    }
}
