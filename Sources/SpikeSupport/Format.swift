import Foundation

/// How numbers and durations are written for people and in result files.
package enum Format {
    /// The shortest decimal that reads back as `value`, without a trailing ".0" (0.9, 800, 1e-05).
    package static func shortest(_ value: Double) -> String {
        var s = "\(value)"
        if s.hasSuffix(".0") { s.removeLast(2) }
        return s
    }

    /// "42s", "3m05s", "2h07m".
    package static func duration(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        if s < 60 { return "\(s)s" }
        if s < 3600 { return String(format: "%dm%02ds", s / 60, s % 60) }
        return String(format: "%dh%02dm", s / 3600, (s % 3600) / 60)
    }

    /// A rate: whole numbers from 100 up, one decimal below ("0.5", "37.2", "412").
    package static func rate(_ value: Double) -> String {
        value >= 100 ? String(Int(value.rounded())) : String((value * 10).rounded() / 10)
    }

    /// `value` with a fixed number of decimals (0...9), like `%.3f` but without Foundation's
    /// formatter (result files write one per task and epoch), and the value it reads back as.
    /// Rounds half away from zero at the decimal, on `value × 10^decimals`.
    package static func fixed(_ value: Double, decimals: Int) -> (text: String, value: Double) {
        let scale = [1.0, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9][decimals]
        let scaled = (value * scale).rounded()
        guard value.isFinite, abs(scaled) < 9e15 else {
            let text = String(format: "%.\(decimals)f", value)
            return (text, Double(text) ?? value)
        }
        let units = Int64(scaled)
        let magnitude = units.magnitude
        let divisor = UInt64(scale)
        var text = units < 0 ? "-" : ""
        text += String(magnitude / divisor)
        if decimals > 0 {
            let fraction = String(magnitude % divisor)
            text += "." + String(repeating: "0", count: decimals - fraction.count) + fraction
        }
        // Exact integer over an exact power of ten, correctly rounded: the same double as
        // parsing `text`.
        return (text, scaled / scale)
    }

    /// `count` and the noun, plural unless it is one ("1 task", "3 tasks").
    package static func count(_ count: Int, _ noun: String, plural: String? = nil) -> String {
        "\(count) \(count == 1 ? noun : plural ?? noun + "s")"
    }
}
