import SpikeSupport

/// Stratified k-fold assignment: deterministic from a seed, independent of any
/// hyper-parameter, so every configuration of a sweep sees the same folds.
///
/// Recordings of each class are shuffled (seeded) and dealt round-robin to the folds,
/// continuing where the previous class stopped, so each fold gets ⌊n_c/k⌋ or ⌈n_c/k⌉ of
/// every class c and fold sizes differ by at most one overall.
package struct StratifiedFolds: Sendable, Equatable {
    package let foldCount: Int
    /// Fold (0 ..< foldCount) of each recording.
    package let assignment: [Int]

    /// - Parameter stratified: false deals all recordings as one class (plain shuffled k-fold).
    package init<Labels: Collection<UInt8>>(labels: Labels, folds: Int, seed: UInt64, stratified: Bool = true) throws {
        let labels = stratified ? Array(labels) : [UInt8](repeating: 0, count: labels.count)
        guard folds >= 2 else { throw ToolError("folds must be >= 2, got \(folds)") }
        guard labels.count >= folds else {
            throw ToolError("cannot split \(labels.count) recordings into \(folds) folds")
        }
        var assignment = [Int](repeating: 0, count: labels.count)
        var rng = Xoshiro256(seed: deriveSeed(seed, [0x666F_6C64_73]))  // "folds"
        var next = 0
        for c in 0...UInt8.max {
            var members = labels.indices.filter { labels[$0] == c }
            if members.isEmpty { continue }
            rng.shuffle(&members)
            for m in members {
                assignment[m] = next % folds
                next += 1
            }
        }
        self.foldCount = folds
        self.assignment = assignment
    }

    /// Recordings used for training when `fold` is held out, in ascending order.
    package func trainingIndices(fold: Int) -> [Int] { assignment.indices.filter { assignment[$0] != fold } }

    /// A share of `fold`'s training recordings (`fraction` in (0, 1]): of each class the same
    /// fraction, drawn in a seeded shuffle (largest remainders make up the total), in ascending
    /// order. It depends on the fold and the seed alone, so every configuration trains on the
    /// same share.
    package func trainingIndices<Labels: Collection<UInt8>>(fold: Int, fraction: Double, labels: Labels, seed: UInt64) -> [Int]
    where Labels.Index == Int {
        let all = trainingIndices(fold: fold)
        guard fraction < 1 else { return all }
        let target = max(1, Int((Double(all.count) * fraction).rounded()))
        var rng = Xoshiro256(seed: deriveSeed(seed, [0x7375_6273_6574, UInt64(fold)]))  // "subset"
        var byClass: [[Int]] = []
        for c in 0...UInt8.max {
            var members = all.filter { labels[labels.startIndex + $0] == c }
            if members.isEmpty { continue }
            rng.shuffle(&members)
            byClass.append(members)
        }
        let exact = byClass.map { Double($0.count) * Double(target) / Double(all.count) }
        var counts = exact.map { Int($0.rounded(.down)) }
        let order = exact.indices.sorted { (exact[$0] - Double(counts[$0]), -$0) > (exact[$1] - Double(counts[$1]), -$1) }
        for c in order.prefix(max(0, target - counts.reduce(0, +))) { counts[c] += 1 }
        return zip(byClass, counts).flatMap { $0.prefix($1) }.sorted()
    }

    /// Recordings held out as `fold`'s validation set, in ascending order.
    package func validationIndices(fold: Int) -> [Int] { assignment.indices.filter { assignment[$0] == fold } }
}
