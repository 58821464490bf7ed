import SpikeEvents

extension SpikeEngine {
    /// Raw views of a frame set's sparse entries, valid inside `FrameSet.withEvents`.
    struct Events {
        let inputs: UnsafePointer<UInt16>
        let counts: UnsafePointer<UInt8>
        let stepStart: UnsafePointer<Int32>
    }

    /// Raw views of the four tensors of a `NetworkParameters` (in its layout), valid inside
    /// `NetworkParameters.withRawParameters`.
    struct RawParameters {
        let w1: UnsafePointer<Float>
        let b1: UnsafePointer<Float>
        let w2: UnsafePointer<Float>
        let b2: UnsafePointer<Float>
    }

    /// Writable raw views of the four tensors of a `NetworkParameters` used as gradients,
    /// valid inside `NetworkParameters.withRawGradients`.
    struct RawGradients {
        let w1: UnsafeMutablePointer<Float>
        let b1: UnsafeMutablePointer<Float>
        let w2: UnsafeMutablePointer<Float>
        let b2: UnsafeMutablePointer<Float>
    }
}

extension FrameSet {
    /// Runs `body` with raw views of the entries (valid only inside it).
    func withEvents<R>(_ body: (SpikeEngine.Events) -> R) -> R {
        storage.inputs.withUnsafeBufferPointer { inputs in
            storage.counts.withUnsafeBufferPointer { counts in
                storage.stepEntryStart.withUnsafeBufferPointer { stepStart in
                    body(SpikeEngine.Events(inputs: inputs.baseAddress!, counts: counts.baseAddress!,
                                            stepStart: stepStart.baseAddress!))
                }
            }
        }
    }
}

extension NetworkParameters {
    /// Runs `body` with raw views of the four tensors (valid only inside it).
    func withRawParameters<R>(_ body: (SpikeEngine.RawParameters) -> R) -> R {
        w1.withUnsafeBufferPointer { w1 in
            b1.withUnsafeBufferPointer { b1 in
                w2.withUnsafeBufferPointer { w2 in
                    b2.withUnsafeBufferPointer { b2 in
                        body(SpikeEngine.RawParameters(w1: w1.baseAddress!, b1: b1.baseAddress!,
                                                       w2: w2.baseAddress!, b2: b2.baseAddress!))
                    }
                }
            }
        }
    }

    /// Runs `body` with writable raw views of the four tensors (valid only inside it).
    mutating func withRawGradients<R>(_ body: (SpikeEngine.RawGradients) -> R) -> R {
        w1.withUnsafeMutableBufferPointer { w1 in
            b1.withUnsafeMutableBufferPointer { b1 in
                w2.withUnsafeMutableBufferPointer { w2 in
                    b2.withUnsafeMutableBufferPointer { b2 in
                        body(SpikeEngine.RawGradients(w1: w1.baseAddress!, b1: b1.baseAddress!,
                                                      w2: w2.baseAddress!, b2: b2.baseAddress!))
                    }
                }
            }
        }
    }
}
