/// What one batch produced (`SpikeEngine.forward`, `forwardBackward`): spike counts,
/// predictions and the MSE spike-count loss.
package struct BatchOutput: Sendable, Equatable {
    /// Padded length T of the batch (its longest recording).
    package var steps: Int
    /// Output spike counts, [B][outputs] row-major.
    package var counts: [Int32]
    /// `accuracy_rate` prediction of each recording.
    package var predictions: [Int]
    /// Recordings whose prediction equals the label.
    package var correct: Int
    /// `mse_count_loss` of the batch (without the L2 term).
    package var loss: Double
    /// Hidden spikes in the whole batch (padded steps included).
    package var hiddenSpikes: Int
}

/// Per-step membranes and spikes of a batch (`SpikeEngine.trace`), for parity tests and debugging.
package struct BatchTrace: Sendable {
    /// Padded length T of the batch.
    package var steps: Int
    /// Hidden membranes, [B][T][hidden] (without the padding of the last tile).
    package var hiddenMembrane: [Float]
    /// Hidden spikes (1 where the membrane is above the threshold), [B][T][hidden].
    package var hiddenSpikes: [UInt8]
    /// Output membranes, [B][T][outputs].
    package var outputMembrane: [Float]
    /// Output spikes, [B][T][outputs].
    package var outputSpikes: [UInt8]
}
