import SpikeSupport

/// Every hyper-parameter of the study's network, each declared once: its spec key (also its
/// CSV column and its name in configuration ids), command-line flag, table header, short
/// label, help, example values, allowed range and where it lives in `Hyperparameters` (whose
/// field holds the default). Spec parsing, command-line flags, validation, leaderboards and
/// results files all read this table, in this order (the canonical order of ids and columns).
///
/// Adding a parameter: a field in `Hyperparameters` that the engine reads, and a line here.
extension Hyperparameter {
    package static let all: [Hyperparameter] = [
        Hyperparameter(key: "beta", flag: "beta", header: "β", label: "b", example: "0.7, 0.9",
                       help: "membrane decay β", rule: .real(\.beta, .init(above: 0, atMost: 1))),
        Hyperparameter(key: "hidden", flag: "hidden", header: "n_hidden", label: "H", example: "100, 800",
                       help: "hidden layer size H", rule: .integer(\.hidden, min: 1, max: 1_000_000, unit: "")),
        Hyperparameter(key: "window_us", flag: "window-us", header: "t_window (µs)", label: "w", example: "1000, 2000",
                       help: "frame window in µs", rule: .integer(\.windowMicros, min: 1, max: 1_000_000_000, unit: " us")),
        Hyperparameter(key: "target_ratio", flag: "ratio", header: "target ratio", label: "", example: "\"0.8/0.2\", \"0.95/0.05\"",
                       help: "loss target, correct/incorrect rate", rule: .ratio(\.targetRatio)),
        Hyperparameter(key: "batch_size", flag: "batch-size", header: "batch size", label: "bs", example: "64, 128",
                       help: "batch size", rule: .integer(\.batchSize, min: 1, max: 1_000_000, unit: "")),
        Hyperparameter(key: "lr", flag: "lr", header: "lr", label: "lr", example: "1.0e-3, 5.0e-3",
                       help: "Adam learning rate", rule: .real(\.learningRate, .init(above: 0))),
        Hyperparameter(key: "l2", flag: "l2", header: "L2", label: "l2=", example: "0, 1.0e-5",
                       help: "L2 coefficient on the weight matrices", rule: .real(\.l2, .init(atLeast: 0))),
        Hyperparameter(key: "denoise_us", flag: "denoise-us", header: "denoise (µs)", label: "dn", example: "10000, off",
                       help: "tonic Denoise filter time in µs", rule: .optionalInteger(\.denoiseMicros, min: 1, max: 1_000_000_000, unit: " us")),
    ]
}

/// A hyper-parameter: see `Hyperparameter.all` for the table of them.
package struct Hyperparameter: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// Spec key, CSV column and name in configuration ids: `window_us`.
    package let key: String
    /// Command-line flag without dashes: `window-us`.
    package let flag: String
    /// Column header in tables laid out like the study's: `t_window (µs)`.
    package let header: String
    /// Prefix of the value in short configuration labels (`b0.9 H800 w2000 0.8/0.2`).
    package let label: String
    /// Values to show in a hint: `1000, 2000`.
    package let example: String
    package let help: String
    package let rule: Rule

    /// What values a parameter takes and where it lives in `Hyperparameters`.
    package enum Rule: @unchecked Sendable {
        case real(WritableKeyPath<Hyperparameters, Double>, RealRange)
        case integer(WritableKeyPath<Hyperparameters, Int>, min: Int, max: Int?, unit: String)
        /// An integer that can also be `off` (nil).
        case optionalInteger(WritableKeyPath<Hyperparameters, Int?>, min: Int, max: Int, unit: String)
        case ratio(WritableKeyPath<Hyperparameters, TargetRatio>)
    }

    /// The parameter with spec key `key`.
    package static func named(_ key: String) -> Hyperparameter? { all.first { $0.key == key } }

    /// The parameter with command-line flag `flag` (without dashes).
    package static func flagged(_ flag: String) -> Hyperparameter? { all.first { $0.flag == flag } }

    package var description: String { key }
    package static func == (a: Hyperparameter, b: Hyperparameter) -> Bool { a.key == b.key }
    package func hash(into hasher: inout Hasher) { hasher.combine(key) }
    package static func < (a: Hyperparameter, b: Hyperparameter) -> Bool { a.position < b.position }

    /// Takes any real number in its range (a search may draw it from a continuous distribution).
    package var isReal: Bool { if case .real = rule { return true }; return false }
    /// Takes whole numbers (`denoise_us` also off).
    package var isWholeNumber: Bool {
        switch rule {
        case .integer, .optionalInteger: return true
        default: return false
        }
    }
    private var position: Int { Self.all.firstIndex(of: self) ?? Int.max }

    // MARK: - Values

    /// This parameter's value in `h`.
    package func value(in h: Hyperparameters) -> ParameterValue {
        switch rule {
        case .real(let path, _): .number(h[keyPath: path])
        case .integer(let path, _, _, _): .integer(h[keyPath: path])
        case .optionalInteger(let path, _, _, _): h[keyPath: path].map { .integer($0) } ?? .off
        case .ratio(let path): .ratio(h[keyPath: path])
        }
    }

    /// Sets this parameter in `h` (`value` must be of its kind: see `parse`).
    package func set(_ value: ParameterValue, in h: inout Hyperparameters) {
        switch (rule, value) {
        case (.real(let path, _), .number(let v)): h[keyPath: path] = v
        case (.integer(let path, _, _, _), .integer(let v)): h[keyPath: path] = v
        case (.optionalInteger(let path, _, _, _), .integer(let v)): h[keyPath: path] = v
        case (.optionalInteger(let path, _, _, _), .off): h[keyPath: path] = nil
        case (.ratio(let path), .ratio(let r)): h[keyPath: path] = r
        default: preconditionFailure("value \(value) does not fit parameter \(key)")
        }
    }

    /// Reads a value as written in a spec or on the command line, and checks its range.
    /// - Parameters:
    ///   - isQuoted: the spec wrote it in quotes (a number must not be).
    ///   - name: how messages name the parameter (its key in specs, `--flag` on the command line).
    /// - Throws: `ParameterError` with a one-line message, e.g. `beta must be in (0, 1], got 1.5`.
    package func parse(_ text: String, isQuoted: Bool = false, name: String? = nil) throws -> ParameterValue {
        let value: ParameterValue
        do { value = try read(text, isQuoted: isQuoted) } catch let error as ParameterError where name != nil {
            throw ParameterError(message: "\(name!): \(error.message)")
        }
        if let problem = violation(of: value, name: name) { throw ParameterError(message: problem) }
        return value
    }

    private func read(_ text: String, isQuoted: Bool) throws -> ParameterValue {
        switch rule {
        case .real:
            guard !isQuoted, let v = Double(text), v.isFinite else { throw ParameterError(message: "expected a number, got '\(text)'") }
            return .number(v)
        case .integer:
            return .integer(try Self.wholeNumber(text, isQuoted: isQuoted))
        case .optionalInteger:
            if ["off", "none", "false", "null", "~"].contains(text.lowercased()) { return .off }
            return .integer(try Self.wholeNumber(text, isQuoted: isQuoted))
        case .ratio:
            guard let r = TargetRatio(text) else {
                throw ParameterError(message: "expected a ratio like \"0.8/0.2\" (correct/incorrect rate), got '\(text)'")
            }
            return .ratio(r)
        }
    }

    /// A whole number: `800`, or a plain `8.0e2`.
    static func wholeNumber(_ text: String, isQuoted: Bool) throws -> Int {
        if let v = Int(text) { return v }
        if !isQuoted, let d = Double(text), d == d.rounded(), abs(d) < 1e15 { return Int(d) }
        throw ParameterError(message: "expected a whole number, got '\(text)'")
    }

    /// The allowed values in words: `in (0, 1]`, `>= 1`, `>= 1 or off`, `rates in [0, 1]`.
    package var allowed: String {
        switch rule {
        case .real(_, let range): "\(range)"
        case .integer(_, let min, let max, _): max.map { "\(min) to \($0)" } ?? ">= \(min)"
        case .optionalInteger(_, let min, let max, _): "\(min) to \(max) or off"
        case .ratio: "each in [0, 1]"
        }
    }

    /// Why `value` is not allowed, or nil when it is.
    package func violation(of value: ParameterValue, name: String? = nil) -> String? {
        let name = name ?? key
        switch (rule, value) {
        case (.real(_, let range), .number(let v)):
            return range.contains(v) ? nil : "\(name) must be \(range), got \(Format.shortest(v))"
        case (.integer(_, let min, let max, let unit), .integer(let v)):
            if v < min { return "\(name) must be >= \(min)\(unit), got \(v)" }
            if let max, v > max { return "\(name) must be <= \(max)\(unit), got \(v)" }
            return nil
        case (.optionalInteger(_, let min, let max, let unit), .integer(let v)):
            if v < min { return "\(name) must be >= \(min)\(unit) or off, got \(v)" }
            return v > max ? "\(name) must be <= \(max)\(unit) or off, got \(v)" : nil
        case (.optionalInteger, .off):
            return nil
        case (.ratio, .ratio(let r)):
            return (0...1).contains(r.correct) && (0...1).contains(r.incorrect) ? nil : "\(name) must have rates in [0, 1], got \(r)"
        default:
            return "\(name) cannot be \(value)"
        }
    }
}

/// An interval of real numbers, written like `(0, 1]`, `> 0` or `>= 0`.
package struct RealRange: Sendable, CustomStringConvertible {
    package var lower: Double
    package var includesLower: Bool
    package var upper: Double?

    package init(above lower: Double, atMost upper: Double? = nil) {
        (self.lower, includesLower, self.upper) = (lower, false, upper)
    }

    package init(atLeast lower: Double) {
        (self.lower, includesLower, upper) = (lower, true, nil)
    }

    package func contains(_ v: Double) -> Bool {
        v.isFinite && (includesLower ? v >= lower : v > lower) && (upper.map { v <= $0 } ?? true)
    }

    package var description: String {
        let low = Format.shortest(lower)
        guard let upper else { return includesLower ? ">= \(low)" : "> \(low)" }
        return "in \(includesLower ? "[" : "(")\(low), \(Format.shortest(upper))]"
    }
}

/// One value of a hyper-parameter as people write it: in specs, on the command line, in CSV
/// columns and configuration ids.
package enum ParameterValue: Sendable, Hashable, Codable, CustomStringConvertible {
    case number(Double)
    case integer(Int)
    case ratio(TargetRatio)
    /// `denoise_us: off`.
    case off

    package var description: String {
        switch self {
        case .number(let v): Format.shortest(v)
        case .integer(let v): String(v)
        case .ratio(let r): r.description
        case .off: "off"
        }
    }
}

/// A value a hyper-parameter cannot take, as one line.
package struct ParameterError: UserFacingError, Sendable, Equatable {
    package var message: String
    package var description: String { message }
}
