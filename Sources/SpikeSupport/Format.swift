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

    /// `count` and the noun, plural unless it is one ("1 task", "3 tasks").
    package static func count(_ count: Int, _ noun: String, plural: String? = nil) -> String {
        "\(count) \(count == 1 ? noun : plural ?? noun + "s")"
    }
}
