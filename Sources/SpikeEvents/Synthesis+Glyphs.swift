import SpikeSupport

/// Procedural digit shapes for the synthetic N-MNIST generator: each digit is a few strokes
/// (polylines, elliptic arcs and quadratic curves) in a unit glyph box, randomly varied per
/// sample and rasterised with anti-aliased thickness.
extension SyntheticNMNIST {
    /// A point in glyph units (x right, y down, the glyph box is [0, 1] × [0, 1]) or in pixels.
    typealias Point = SIMD2<Double>

    /// Draws random numbers around nominal values: `callAsFunction(v, s)` is v + U(−s, s)·amount.
    struct Jitter {
        var rng: Xoshiro256
        var amount: Double

        mutating func callAsFunction(_ value: Double, _ spread: Double = 0.05) -> Double {
            value + (2 * rng.nextUnitDouble() - 1) * spread * amount
        }

        /// True with probability `p`.
        mutating func chance(_ p: Double) -> Bool { rng.nextUnitDouble() < p }
    }

    /// The strokes of `digit` in glyph units, with each shape parameter (centres, radii, end
    /// points, optional serifs) drawn around its nominal value.
    static func strokes(digit: Int, jitter j: inout Jitter) -> [[Point]] {
        switch digit {
        case 0:
            return [arc(j(0.5), j(0.5), j(0.27, 0.05), j(0.44, 0.03), from: j(250, 30), to: j(610, 20))]
        case 1:
            let top = Point(j(0.52, 0.06), j(0.06))
            var strokes = [[top, Point(j(0.48, 0.06), j(0.94))]]
            if j.chance(0.5) { strokes.append([Point(j(0.36), j(0.22)), top]) }      // flag
            if j.chance(0.25) { strokes.append([Point(j(0.34), j(0.94)), Point(j(0.66), j(0.94))]) }  // base
            return strokes
        case 2:
            var stroke = arc(j(0.5), j(0.3), j(0.25), j(0.23), from: j(195, 15), to: j(400, 10))
            stroke.append(Point(j(0.2), j(0.94)))
            stroke.append(Point(j(0.82, 0.06), j(0.94)))
            return [stroke]
        case 3:
            var stroke = arc(j(0.48), j(0.28), j(0.23), j(0.22), from: j(200, 15), to: 450)
            let middle = stroke.last!, lowerRadius = j(0.22)
            stroke += arc(j(middle.x, 0.03), middle.y + lowerRadius, j(0.27), lowerRadius, from: 270, to: j(500, 15))
            return [stroke]
        case 4:
            let corner = Point(j(0.16), j(0.64))
            return [[Point(j(0.58), j(0.04)), corner, Point(j(0.86), corner.y)],
                    [Point(j(0.66), j(0.2, 0.08)), Point(j(0.66), j(0.96))]]
        case 5:
            var stroke = [Point(j(0.78), j(0.05)), Point(j(0.32), j(0.05)), Point(j(0.28), j(0.44))]
            stroke += arc(j(0.48), j(0.68), j(0.27), j(0.26), from: j(220, 10), to: j(510, 15))
            return [stroke]
        case 6:
            let joint = Point(j(0.22), j(0.68))
            var stroke = bezier(Point(j(0.7), j(0.04)), Point(j(0.24, 0.08), j(0.2, 0.08)), joint)
            let radius = j(0.25)
            stroke += arc(joint.x + radius, joint.y, radius, j(0.24), from: 180, to: 540)
            return [stroke]
        case 7:
            var strokes = [[Point(j(0.18), j(0.06)), Point(j(0.82), j(0.06)), Point(j(0.42, 0.08), j(0.95))]]
            if j.chance(0.25) { strokes.append([Point(j(0.42), j(0.5)), Point(j(0.76), j(0.5))]) }  // bar
            return strokes
        case 8:
            return [arc(j(0.5), j(0.27), j(0.2), j(0.21), from: 0, to: 360),
                    arc(j(0.5), j(0.71), j(0.25), j(0.24), from: 0, to: 360)]
        case 9:
            let right = Point(j(0.74), j(0.3))
            let radius = j(0.24)
            return [arc(right.x - radius, right.y, radius, j(0.23), from: 0, to: 360),
                    bezier(right, Point(j(0.74), j(0.7)), Point(j(0.62, 0.06), j(0.95)))]
        default:
            preconditionFailure("digit must be 0...9")
        }
    }

    /// Points along the ellipse (cx + rx cos θ, cy + ry sin θ) for θ from `from` to `to`
    /// degrees (y points down, so increasing θ turns clockwise on screen), at most 10° apart.
    static func arc(_ cx: Double, _ cy: Double, _ rx: Double, _ ry: Double, from: Double, to: Double) -> [Point] {
        let n = max(2, Int(abs(to - from) / 10) + 1)
        return (0...n).map { k in
            let theta = (from + (to - from) * Double(k) / Double(n)) * PortableMath.pi / 180
            return Point(cx + rx * PortableMath.cos(theta), cy + ry * PortableMath.sin(theta))
        }
    }

    /// Twelve segments along the quadratic Bézier curve from `a` to `c` with control point `b`.
    static func bezier(_ a: Point, _ b: Point, _ c: Point) -> [Point] {
        (0...12).map { k in
            let s = Double(k) / 12
            return (1 - s) * (1 - s) * a + 2 * (1 - s) * s * b + s * s * c
        }
    }

    /// An intensity image (values in [0, 1], row-major, `width` × `width`) of anti-aliased strokes.
    struct Canvas {
        var width: Int
        var pixels: [Double]

        init(width: Int) {
            self.width = width
            pixels = [Double](repeating: 0, count: width * width)
        }

        /// Draws the polyline `stroke` (pixel coordinates, a pixel's centre at its integer
        /// coordinates) with full width `thickness` and peak `intensity`: a pixel's value is the
        /// larger of its old value and the coverage `clamp(thickness/2 + 0.5 − distance, 0, 1)`.
        /// - Complexity: O(segments × thickness × segment length).
        mutating func draw(_ stroke: [Point], thickness: Double, intensity: Double) {
            let reach = thickness / 2 + 0.5
            for (a, b) in zip(stroke, stroke.dropFirst()) {
                let x0 = max(0, Int((min(a.x, b.x) - reach).rounded(.down)))
                let x1 = min(width - 1, Int((max(a.x, b.x) + reach).rounded(.up)))
                let y0 = max(0, Int((min(a.y, b.y) - reach).rounded(.down)))
                let y1 = min(width - 1, Int((max(a.y, b.y) + reach).rounded(.up)))
                guard x0 <= x1, y0 <= y1 else { continue }
                // Scalar arithmetic: SIMD2 operations are slow in unoptimised (test) builds.
                let (ax, ay) = (a.x, a.y)
                let (abx, aby) = (b.x - ax, b.y - ay)
                let length2 = abx * abx + aby * aby
                for y in y0...y1 {
                    for x in x0...x1 {
                        let apx = Double(x) - ax, apy = Double(y) - ay
                        let s = length2 > 0 ? min(1, max(0, (apx * abx + apy * aby) / length2)) : 0
                        let dx = apx - s * abx, dy = apy - s * aby
                        let distance = (dx * dx + dy * dy).squareRoot()
                        let coverage = min(1, max(0, reach - distance)) * intensity
                        let i = y * width + x
                        if coverage > pixels[i] { pixels[i] = coverage }
                    }
                }
            }
        }
    }
}
