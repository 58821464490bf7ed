/// Spec texts shared by the suites that run the same sweep through different executors.
package enum TestSpecs {
    /// The space every halving test searches: 9 configurations on 300 synthetic recordings, 3 folds.
    package static let halvingSpace = """
        data: {synthetic: {count: 300, seed: 5}}
        cv: {folds: 3}
        seed: 2
        grid: {beta: [0.8, 0.9, 0.95], hidden: [32, 64, 96]}
        fixed: {batch_size: 32, window_us: 4000}
        """

    /// Successive halving over that space: rungs of 1, 3 and 5 epochs (9, 3 and 1 configurations, 39 tasks).
    package static let halving = "name: halving\n" + halvingSpace + "\nsearch: {scheduler: halving, min_epochs: 1, max_epochs: 5, eta: 3}\n"
}
