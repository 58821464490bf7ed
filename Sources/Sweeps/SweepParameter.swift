import SpikeNet

/// A hyper-parameter a sweep can vary (`grid`) or pin (`fixed`), named as in the spec.
public enum SweepParameter: String, CaseIterable, Sendable, Codable, Comparable {
    // Declaration order is the canonical order: configuration ids, CSV columns and
    // leaderboards list parameters in this order.
    case beta
    case hidden
    case windowMicros = "window_us"
    case targetRatio = "target_ratio"
    case batchSize = "batch_size"
    case learningRate = "lr"
    case l2
    case denoiseMicros = "denoise_us"

    public static func < (a: SweepParameter, b: SweepParameter) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }

    /// The column header used in the study's tables.
    public var tableHeader: String {
        switch self {
        case .beta: "β"
        case .hidden: "n_hidden"
        case .windowMicros: "t_window (µs)"
        case .targetRatio: "target ratio"
        case .batchSize: "batch size"
        case .learningRate: "lr"
        case .l2: "L2"
        case .denoiseMicros: "denoise (µs)"
        }
    }
}

/// One value of a sweep parameter.
public enum SweepValue: Sendable, Hashable, Codable, CustomStringConvertible {
    case number(Double)
    case integer(Int)
    case ratio(TargetRatio)
    /// `denoise_us: off`.
    case off

    public var description: String {
        switch self {
        case .number(let v): return SweepValue.format(v)
        case .integer(let v): return String(v)
        case .ratio(let r): return r.description
        case .off: return "off"
        }
    }

    /// Shortest round-tripping decimal, without a trailing ".0".
    static func format(_ v: Double) -> String {
        var s = "\(v)"
        if s.hasSuffix(".0") { s.removeLast(2) }
        return s
    }
}

extension Hyperparameters {
    /// Sets one sweep parameter (the value's kind was checked when the spec was parsed).
    public mutating func set(_ parameter: SweepParameter, _ value: SweepValue) {
        switch (parameter, value) {
        case (.beta, .number(let v)): beta = v
        case (.hidden, .integer(let v)): hidden = v
        case (.windowMicros, .integer(let v)): windowMicros = v
        case (.targetRatio, .ratio(let r)): targetRatio = r
        case (.batchSize, .integer(let v)): batchSize = v
        case (.learningRate, .number(let v)): learningRate = v
        case (.l2, .number(let v)): l2 = v
        case (.denoiseMicros, .integer(let v)): denoiseMicros = v
        case (.denoiseMicros, .off): denoiseMicros = nil
        default: preconditionFailure("value \(value) does not fit parameter \(parameter.rawValue)")
        }
    }

    /// The value of one sweep parameter.
    public func value(of parameter: SweepParameter) -> SweepValue {
        switch parameter {
        case .beta: .number(beta)
        case .hidden: .integer(hidden)
        case .windowMicros: .integer(windowMicros)
        case .targetRatio: .ratio(targetRatio)
        case .batchSize: .integer(batchSize)
        case .learningRate: .number(learningRate)
        case .l2: .number(l2)
        case .denoiseMicros: denoiseMicros.map { .integer($0) } ?? .off
        }
    }

    /// `beta=0.9,hidden=800,…` over every sweep parameter in canonical order: the identity
    /// of a configuration.
    public var canonicalDescription: String {
        SweepParameter.allCases.map { "\($0.rawValue)=\(value(of: $0))" }.joined(separator: ",")
    }
}
