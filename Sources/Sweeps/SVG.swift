import Foundation

/// A tiny SVG writer for the report's charts: linear scales, axes with ticks, and escaped text.
struct SVG {
    let width: Double
    let height: Double
    private(set) var body = ""

    init(width: Double, height: Double) {
        self.width = width
        self.height = height
    }

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }

    static func f(_ v: Double) -> String { String(format: "%.1f", v) }

    mutating func raw(_ s: String) { body += s + "\n" }

    mutating func line(_ x1: Double, _ y1: Double, _ x2: Double, _ y2: Double, stroke: String = "#444", width: Double = 1, dash: String? = nil) {
        raw("<line x1=\"\(Self.f(x1))\" y1=\"\(Self.f(y1))\" x2=\"\(Self.f(x2))\" y2=\"\(Self.f(y2))\" stroke=\"\(stroke)\" stroke-width=\"\(width)\"\(dash.map { " stroke-dasharray=\"\($0)\"" } ?? "")/>")
    }

    mutating func rect(_ x: Double, _ y: Double, _ w: Double, _ h: Double, fill: String, title: String? = nil, stroke: String? = nil) {
        let t = title.map { "<title>\(Self.escape($0))</title>" } ?? ""
        raw("<rect x=\"\(Self.f(x))\" y=\"\(Self.f(y))\" width=\"\(Self.f(max(0, w)))\" height=\"\(Self.f(max(0, h)))\" fill=\"\(fill)\"\(stroke.map { " stroke=\"\($0)\"" } ?? "")>\(t)</rect>")
    }

    mutating func circle(_ x: Double, _ y: Double, r: Double, fill: String, title: String? = nil) {
        let t = title.map { "<title>\(Self.escape($0))</title>" } ?? ""
        raw("<circle cx=\"\(Self.f(x))\" cy=\"\(Self.f(y))\" r=\"\(Self.f(r))\" fill=\"\(fill)\">\(t)</circle>")
    }

    mutating func text(_ x: Double, _ y: Double, _ s: String, anchor: String = "start", size: Double = 11, fill: String = "#222", weight: String = "normal", rotate: Double? = nil) {
        let transform = rotate.map { " transform=\"rotate(\($0) \(Self.f(x)) \(Self.f(y)))\"" } ?? ""
        raw("<text x=\"\(Self.f(x))\" y=\"\(Self.f(y))\" text-anchor=\"\(anchor)\" font-size=\"\(size)\" fill=\"\(fill)\" font-weight=\"\(weight)\"\(transform)>\(Self.escape(s))</text>")
    }

    mutating func polyline(_ points: [(Double, Double)], stroke: String, width: Double = 2) {
        let p = points.map { "\(Self.f($0.0)),\(Self.f($0.1))" }.joined(separator: " ")
        raw("<polyline points=\"\(p)\" fill=\"none\" stroke=\"\(stroke)\" stroke-width=\"\(width)\"/>")
    }

    var rendered: String {
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 \(Self.f(width)) \(Self.f(height))\" width=\"\(Self.f(width))\" height=\"\(Self.f(height))\" font-family=\"Helvetica, Arial, sans-serif\">\n\(body)</svg>"
    }
}

/// A linear map from a data range to a pixel range.
struct LinearScale {
    var domain: (Double, Double)
    var range: (Double, Double)

    func callAsFunction(_ v: Double) -> Double {
        let span = domain.1 - domain.0
        let t = span == 0 ? 0.5 : (v - domain.0) / span
        return range.0 + t * (range.1 - range.0)
    }

    /// About `count` round tick values inside the domain.
    func ticks(_ count: Int = 5) -> [Double] {
        let span = domain.1 - domain.0
        guard span > 0 else { return [domain.0] }
        let rawStep = span / Double(max(1, count))
        let magnitude = pow(10, floor(log10(rawStep)))
        let step = [1.0, 2, 2.5, 5, 10].map { $0 * magnitude }.first { $0 >= rawStep } ?? 10 * magnitude
        var v = ceil(domain.0 / step) * step
        var result: [Double] = []
        while v <= domain.1 + step * 1e-9 { result.append(v); v += step }
        return result
    }

    /// A padded domain around values, clamped to [lo, hi].
    static func padded(_ values: [Double], lo: Double = -.infinity, hi: Double = .infinity, pad: Double = 0.08) -> (Double, Double) {
        guard let mn = values.min(), let mx = values.max() else { return (0, 1) }
        let span = max(mx - mn, 0.02)
        return (max(lo, mn - span * pad), min(hi, mx + span * pad))
    }
}
