import Foundation
import SpikeSupport

/// Synthetic N-MNIST: procedurally drawn digits moved in three saccades in front of a simulated
/// event sensor, so that tests, the demo and smoke sweeps need no real data.
///
/// Each recording is made in three stages:
/// 1. **Glyph.** The digit's strokes (see `strokes(digit:jitter:)`) are varied per sample (shape
///    parameters, scale, aspect, rotation, slant, offset, stroke thickness and brightness) and
///    rasterised with anti-aliased edges, centred in the 34 × 34 field of view like a 28 × 28
///    MNIST image, as a bright digit on a dark background.
/// 2. **Motion.** The image moves along a closed triangle, like the sensor in the real set:
///    right-down, left, then up-right back to the start, one saccade of about
///    `saccadeMicros` each: it moves with a smooth (smoothstep) speed profile for the first
///    `movingFraction` of the saccade and then rests. The image is sampled bilinearly at
///    sub-pixel positions every `stepMicros`.
/// 3. **Sensor.** Each pixel keeps a reference log intensity `ln(background + I)`. Whenever the
///    current value exceeds the reference by its ON threshold the pixel emits an ON event
///    (p = 1) and the reference rises by that threshold; when it falls below by its OFF
///    threshold, an OFF event (p = 0) and the reference falls. Thresholds differ per pixel
///    (mismatch), crossing times are interpolated within a step and then jittered, and sparse
///    background noise (a Poisson process of isolated events at random pixels and polarities,
///    which tonic's denoise filter mostly removes) is added. Events are sorted by time, stably.
///
/// With the default options the statistics resemble the real set. Over 1000 recordings
/// (seed 1; the real 1000-recording subset in brackets): 4055 events on average, 1862–6475
/// [4133, 1351–7152]; 3708 after tonic's Denoise(10 ms) [≈3816]; 306 ms from first to last
/// event [306 ms]; first event at most 11 ms in [26 ms]; 50.6% ON events [50.0%]; 26.2 distinct
/// active inputs per 2000 µs window, 1.13% of 2312 [26.6, 1.15%]; 779 inputs active at some
/// point [800]. A nearest-class-mean classifier on time-summed event counts scores about 80%:
/// learnable, but not trivially.
///
/// Recording `i` is a function of `(seed, i)` only, through `deriveSeed(seed, [UInt64(i)])`,
/// so any subset can be made in any order, in parallel, on any machine: the generator uses
/// only IEEE basic arithmetic (see `PortableMath`), never the platform's C library.
package struct SyntheticNMNIST: Sendable {
    /// The knobs of the simulation. The defaults match the real set's statistics.
    package struct Options: Sendable, Equatable {
        /// Duration of each of the three saccades, in µs (real N-MNIST: about 100 ms).
        package var saccadeMicros: Int = 100_000
        /// Relative random variation of each saccade's duration (± this fraction).
        package var saccadeJitter: Double = 0.03
        /// Fraction of each saccade during which the image moves; it rests for the remainder,
        /// which gives the quiet gaps between the three bursts of events seen in the real set.
        package var movingFraction: Double = 0.8
        /// Largest displacement of the digit from its central position, in pixels (at most 4).
        package var saccadeAmplitude: Double = 2
        /// Motion starts at a random time in 0 ..< `maxStartMicros` µs (noise may come earlier).
        package var maxStartMicros: Int = 12_000
        /// Time recorded after the last saccade ends (noise only), in µs.
        package var tailMicros: Int = 3_000
        /// Change of log intensity that makes a pixel emit an event.
        package var contrastThreshold: Double = 0.23
        /// Relative standard deviation of the per-pixel ON and OFF thresholds.
        package var thresholdMismatch: Double = 0.1
        /// Intensity of the background relative to a full-brightness stroke (1); it sets the
        /// log contrast of an edge, ln((background + 1) / background).
        package var backgroundIntensity: Double = 0.25
        /// Time step of the simulation in µs; crossings are interpolated linearly within a step,
        /// so 1 ms (under 0.1 pixel of motion) gives the same statistics as finer steps.
        package var stepMicros: Int = 1000
        /// Standard deviation of the timestamp jitter added to each sensor event, in µs.
        package var timestampJitterMicros: Double = 300
        /// Background noise in events per second over the whole sensor (both polarities).
        package var noiseRate: Double = 600
        /// Scales all random shape variation: 0 draws every digit's canonical glyph, 1 is the
        /// default variety, larger values make the task harder.
        package var shapeVariation: Double = 1

        package init() {}
    }

    /// The seed every recording derives from.
    package let seed: UInt64
    /// The simulation settings.
    package let options: Options
    /// ln(background + I) at I = k / 1024, k = 0 ... 1024, for linear interpolation.
    let logTable: [Double]

    /// Bins of `logTable`.
    static let logTableBins = 1024
    /// A constant that separates the label permutation stream from the recordings' seeds.
    static let labelStream: UInt64 = 0x4C41_4245_4C53  // "LABELS"

    /// Creates a generator; nothing is computed until a recording is asked for.
    package init(seed: UInt64, options: Options = .init()) {
        precondition(options.saccadeMicros > 0 && options.stepMicros > 0, "durations must be positive")
        precondition(options.saccadeJitter >= 0 && options.saccadeJitter < 1, "saccadeJitter must be in [0, 1)")
        precondition(options.movingFraction > 0 && options.movingFraction <= 1, "movingFraction must be in (0, 1]")
        precondition(options.saccadeAmplitude >= 0 && options.saccadeAmplitude <= 4, "saccadeAmplitude must be in [0, 4]")
        precondition(options.maxStartMicros >= 0 && options.tailMicros >= 0, "start and tail must not be negative")
        precondition(options.contrastThreshold > 0, "contrastThreshold must be positive")
        precondition(options.thresholdMismatch >= 0 && options.thresholdMismatch < 0.3, "thresholdMismatch must be in [0, 0.3)")
        precondition(options.backgroundIntensity > 0, "backgroundIntensity must be positive")
        precondition(options.timestampJitterMicros >= 0 && options.noiseRate >= 0, "jitter and noise must not be negative")
        precondition(options.shapeVariation >= 0, "shapeVariation must not be negative")
        self.seed = seed
        self.options = options
        logTable = (0...Self.logTableBins).map {
            PortableMath.log(options.backgroundIntensity + Double($0) / Double(Self.logTableBins))
        }
    }

    /// The label of recording `index`: each block of ten consecutive indices `10k ..< 10k + 10`
    /// holds every digit once, in an order drawn from `(seed, k)`, so a range `10a ..< 10b`
    /// holds exactly `b − a` recordings of each digit, and labels follow no visible pattern.
    package func label(of index: Int) -> UInt8 {
        precondition(index >= 0, "index must not be negative")
        var rng = Xoshiro256(seed: deriveSeed(seed, [Self.labelStream, UInt64(index / 10)]))
        var digits = Array(UInt8(0)..<10)
        rng.shuffle(&digits)
        return digits[index % 10]
    }

    /// The name of recording `index`, e.g. `synthetic-000017`.
    package static func name(of index: Int) -> String {
        "synthetic-" + zeroPadded(index, width: 6)
    }

    /// `value` in decimal, padded with leading zeros to at least `width` digits.
    static func zeroPadded(_ value: Int, width: Int) -> String {
        let digits = String(value)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }

    /// Recording `index` (≥ 0), a deterministic function of the seed, the options and `index`.

    /// - Complexity: O(steps × pixels the digit sweeps over + events · log events); about
    ///   1 ms in a release build.
    package func recording(index: Int) -> Recording {
        let label = label(of: index)
        var rng = Xoshiro256(seed: deriveSeed(seed, [UInt64(index)]))
        let margin = Int(options.saccadeAmplitude.rounded(.up)) + 2
        let canvas = renderGlyph(digit: Int(label), margin: margin, rng: &rng)
        let (times, inputs) = simulateSensor(canvas: canvas, margin: margin, rng: &rng)
        return Recording(name: Self.name(of: index), label: label, times: times, inputs: inputs)
    }

    /// Recordings `0 ..< count`; see `recordings(in:)`.
    /// - Complexity: O(count) recordings, spread over the available cores.
    package func recordings(count: Int) -> [Recording] {
        recordings(in: 0..<count)
    }

    /// The recordings with indices in `range`, in order, made concurrently on all cores; the
    /// result is identical to calling `recording(index:)` for each index in turn.
    ///
    /// Work is spread with explicit jobs on Dispatch's global queue rather than
    /// `DispatchQueue.concurrentPerform`, which runs serially when called from a Swift
    /// concurrency task (as in tests) on Linux. The calling thread takes a share and waits.
    /// - Complexity: O(range.count) recordings, spread over the available cores.
    package func recordings(in range: Range<Int>) -> [Recording] {
        precondition(range.lowerBound >= 0, "indices must not be negative")
        let count = range.count
        let workers = max(1, min(count, ProcessInfo.processInfo.activeProcessorCount))
        let results = UnsafeMutablePointer<Recording?>.allocate(capacity: max(1, count))
        results.initialize(repeating: nil, count: count)
        defer {
            results.deinitialize(count: count)
            results.deallocate()
        }
        // Worker w makes indices w, w + workers, …: neighbours differ little in cost.
        let work = { (w: Int) in
            for k in stride(from: w, to: count, by: workers) {
                results[k] = recording(index: range.lowerBound + k)
            }
        }
        let group = DispatchGroup()
        for w in 1..<workers {
            DispatchQueue.global().async(group: group) { work(w) }
        }
        work(0)
        group.wait()
        return (0..<count).map { results[$0]! }
    }

    /// Writes recordings `0 ..< count` as `<split>/<digit>/<index, 5 digits>.bin` under
    /// `directory` in the native N-MNIST format: the layout of the official, extracted
    /// `Train.zip`/`Test.zip`, so the real loading code reads it. All ten digit folders are
    /// created, even when `count` leaves some of them empty.
    /// - Returns: the written files' URLs, in index order.
    /// - Complexity: O(count) recordings.
    @discardableResult
    package func writeNativeTree(count: Int, to directory: URL, split: String = "Train") throws -> [URL] {
        precondition(count >= 0, "count must not be negative")
        let root = directory.appendingPathComponent(split, isDirectory: true)
        for digit in 0..<NMNIST.classCount {
            try FileManager.default.createDirectory(
                at: root.appendingPathComponent(String(digit), isDirectory: true), withIntermediateDirectories: true)
        }
        var urls: [URL] = []
        urls.reserveCapacity(count)
        let chunk = 256
        for start in stride(from: 0, to: count, by: chunk) {
            for (k, recording) in recordings(in: start..<min(count, start + chunk)).enumerated() {
                let url = root.appendingPathComponent(String(recording.label), isDirectory: true)
                    .appendingPathComponent(Self.zeroPadded(start + k, width: 5) + ".bin")
                try Data(NMNISTCodec.encode(recording)).write(to: url, options: .atomic)
                urls.append(url)
            }
        }
        return urls
    }

    // MARK: - Glyph

    /// Draws `digit` with this sample's random variation on a square canvas that extends the
    /// 34 × 34 field of view by `margin` pixels on every side (canvas = sensor + margin).
    func renderGlyph(digit: Int, margin: Int, rng: inout Xoshiro256) -> Canvas {
        let v = options.shapeVariation
        var jitter = Jitter(rng: Xoshiro256(seed: rng.next()), amount: v)
        let strokes = Self.strokes(digit: digit, jitter: &jitter)
        func uniform(_ spread: Double) -> Double { (2 * rng.nextUnitDouble() - 1) * spread * v }
        // An MNIST digit fits a 20 × 20 box centred in 28 × 28; the real recordings' event
        // footprints suggest slightly larger shapes on the sensor: here 19–24 pixels tall.
        let height = 21.5 * (1 + uniform(0.12))
        let width = height * 1.15 * (1 + uniform(0.15))
        let angle = uniform(15) * PortableMath.pi / 180
        let slant = uniform(0.25)
        let centre = Point(16.5 + Double(margin) + uniform(2), 16.5 + Double(margin) + uniform(2))
        let thickness = max(1, 2.3 + uniform(0.7))
        let intensity = 1 - abs(uniform(0.15))
        let (c, s) = (PortableMath.cos(angle), PortableMath.sin(angle))
        var canvas = Canvas(width: NMNIST.width + 2 * margin)
        for stroke in strokes {
            let points = stroke.map { p -> Point in
                var q = Point((p.x - 0.5) * width, (p.y - 0.5) * height)
                q.x -= slant * q.y
                return centre + Point(c * q.x - s * q.y, s * q.x + c * q.y)
            }
            canvas.draw(points, thickness: thickness, intensity: intensity)
        }
        return canvas
    }

    // MARK: - Sensor

    /// Moves `canvas` along the three saccades and returns the sensor's events sorted by time.
    func simulateSensor(canvas: Canvas, margin: Int, rng: inout Xoshiro256) -> (times: [UInt32], inputs: [UInt16]) {
        let o = options
        // Timing: start, three saccade durations, end of recording.
        let start = rng.nextUnitDouble() * Double(o.maxStartMicros)
        let durations = (0..<3).map { _ in Double(o.saccadeMicros) * (1 + (2 * rng.nextUnitDouble() - 1) * o.saccadeJitter) }
        let motionEnd = durations.reduce(0, +)
        let end = start + motionEnd + Double(o.tailMicros)
        // The triangle: right-down, left, up-right (the image's displacement in pixels).
        let a = o.saccadeAmplitude
        let vertices = [Point(0, -a), Point(a, a / 2), Point(-a, a / 2), Point(0, -a)]
        func displacement(at tau: Double) -> Point {
            var t = tau
            for k in 0..<3 {
                if t < durations[k] || k == 2 {
                    let phase = min(1, max(0, t / (durations[k] * o.movingFraction)))
                    let eased = phase * phase * (3 - 2 * phase)
                    return vertices[k] + eased * (vertices[k + 1] - vertices[k])
                }
                t -= durations[k]
            }
            return vertices[0]
        }

        // Pixels whose view ever touches the digit; the others see a constant background.
        let w = canvas.width
        let reach = Int(a.rounded(.up)) + 1
        var integral = [Int](repeating: 0, count: (w + 1) * (w + 1))  // counts of lit canvas pixels
        for y in 0..<w {
            for x in 0..<w {
                integral[(y + 1) * (w + 1) + x + 1] = (canvas.pixels[y * w + x] > 0 ? 1 : 0)
                    + integral[y * (w + 1) + x + 1] + integral[(y + 1) * (w + 1) + x] - integral[y * (w + 1) + x]
            }
        }
        func litPixels(_ x0: Int, _ y0: Int, _ x1: Int, _ y1: Int) -> Int {  // inclusive, clipped
            let (x0, y0, x1, y1) = (max(0, x0), max(0, y0), min(w - 1, x1), min(w - 1, y1))
            return integral[(y1 + 1) * (w + 1) + x1 + 1] - integral[y0 * (w + 1) + x1 + 1]
                - integral[(y1 + 1) * (w + 1) + x0] + integral[y0 * (w + 1) + x0]
        }
        // Per-pixel state, as parallel arrays: canvas index at zero displacement less the margin
        // (y·width + x), OFF input index (y·34 + x; ON is 1156 more), ON and OFF thresholds, log
        // intensity at the previous step, and the reference (log intensity of the last event).
        var bases: [Int] = []
        var inputs: [UInt16] = []
        for y in 0..<NMNIST.height {
            for x in 0..<NMNIST.width {
                let cx = x + margin, cy = y + margin
                if litPixels(cx - reach, cy - reach, cx + reach, cy + reach) > 0 {
                    bases.append(y * w + x)
                    inputs.append(UInt16(y * NMNIST.width + x))
                }
            }
        }
        let n = bases.count
        // Threshold mismatch ~ Irwin–Hall(4), i.e. nearly normal, bounded.
        func normal() -> Double {
            (rng.nextUnitDouble() + rng.nextUnitDouble() + rng.nextUnitDouble() + rng.nextUnitDouble() - 2) * 1.732_050_807_568_877
        }
        var onThresholds = [Double](repeating: 0, count: n)
        var offThresholds = [Double](repeating: 0, count: n)
        for i in 0..<n {
            onThresholds[i] = o.contrastThreshold * max(0.25, 1 + o.thresholdMismatch * normal())
            offThresholds[i] = o.contrastThreshold * max(0.25, 1 + o.thresholdMismatch * normal())
        }
        var levels = [Double](repeating: 0, count: n)
        var references = [Double](repeating: 0, count: n)

        // Log intensity of every active pixel at displacement d (bilinear sampling) into `out`.
        let bins = Double(Self.logTableBins), lastBin = Self.logTableBins - 1
        func sense(_ d: Point, _ out: UnsafeMutablePointer<Double>) {
            let sx = Double(margin) - d.x, sy = Double(margin) - d.y
            let ix = Int(sx.rounded(.down)), iy = Int(sy.rounded(.down))
            let fx = sx - Double(ix), fy = sy - Double(iy)
            let w00 = (1 - fx) * (1 - fy), w01 = fx * (1 - fy), w10 = (1 - fx) * fy, w11 = fx * fy
            let shift = iy * w + ix
            bases.withUnsafeBufferPointer { bases in
                canvas.pixels.withUnsafeBufferPointer { c in
                    logTable.withUnsafeBufferPointer { table in
                        for i in 0..<n {
                            let k = bases[i] + shift
                            let intensity = w00 * c[k] + w01 * c[k + 1] + w10 * c[k + w] + w11 * c[k + w + 1]
                            let position = intensity * bins
                            var bin = Int(position)
                            if bin > lastBin { bin = lastBin }  // intensity 1
                            let f = position - Double(bin)
                            out[i] = table[bin] + f * (table[bin + 1] - table[bin])
                        }
                    }
                }
            }
        }

        // Start with references at a random phase within the dead band, so that no pixel fires
        // at once.
        levels.withUnsafeMutableBufferPointer { sense(vertices[0], $0.baseAddress!) }
        for i in 0..<n {
            references[i] = levels[i] + (rng.nextUnitDouble() - 0.5) * min(onThresholds[i], offThresholds[i])
        }

        var eventTimes: [Double] = []
        var eventInputs: [UInt16] = []
        eventTimes.reserveCapacity(8192)
        eventInputs.reserveCapacity(8192)
        let dt = Double(o.stepMicros)
        let steps = max(1, Int((motionEnd / dt).rounded(.up)))
        let onOffset = UInt16(NMNIST.width * NMNIST.height)
        let current = UnsafeMutablePointer<Double>.allocate(capacity: max(1, n))
        defer { current.deallocate() }
        var tPrevious = 0.0
        var dPrevious = vertices[0]
        for step in 1...steps {
            let tau = min(motionEnd, Double(step) * dt)
            let d = displacement(at: tau)
            defer { tPrevious = tau; dPrevious = d }
            if d == dPrevious { continue }  // at rest: nothing changes
            sense(d, current)
            let span = tau - tPrevious, stepStart = start + tPrevious
            levels.withUnsafeMutableBufferPointer { levels in
                references.withUnsafeMutableBufferPointer { references in
                    for i in 0..<n {
                        let now = current[i], before = levels[i]
                        levels[i] = now
                        var reference = references[i]
                        let on = onThresholds[i], off = offThresholds[i]
                        if now - reference >= on {
                            let slope = span / (now - before)
                            repeat {
                                reference += on
                                eventTimes.append(stepStart + (reference - before) * slope)
                                eventInputs.append(onOffset + inputs[i])
                            } while now - reference >= on
                            references[i] = reference
                        } else if reference - now >= off {
                            let slope = span / (now - before)
                            repeat {
                                reference -= off
                                eventTimes.append(stepStart + (reference - before) * slope)
                                eventInputs.append(inputs[i])
                            } while reference - now >= off
                            references[i] = reference
                        }
                    }
                }
            }
        }

        // Timestamp jitter, then background noise, then a stable sort by time.
        var times: [Int] = []
        var allInputs: [UInt16] = []
        let capacity = eventTimes.count + Int(o.noiseRate * end * 1e-6 * 1.5) + 16
        times.reserveCapacity(capacity)
        allInputs.reserveCapacity(capacity)
        func append(_ t: Double, _ input: UInt16) {
            times.append(Int(min(Double(UInt32.max), max(0, t.rounded()))))
            allInputs.append(input)
        }
        for k in 0..<eventTimes.count {
            append(eventTimes[k] + o.timestampJitterMicros * normal(), eventInputs[k])
        }
        if o.noiseRate > 0 {
            let meanGap = 1e6 / o.noiseRate
            var t = 0.0
            while true {
                t -= meanGap * PortableMath.log(1 - rng.nextUnitDouble())
                guard t < end else { break }
                let pixel = rng.nextInt(below: NMNIST.width * NMNIST.height)
                append(t, UInt16(Int(rng.next() >> 63) * NMNIST.width * NMNIST.height + pixel))
            }
        }
        if times.isEmpty {  // only with extreme options: a recording must hold an event
            append(start, UInt16(NMNIST.inputIndex(x: 17, y: 17, p: 1)))
        }
        let order = Self.stableOrder(byTime: times)
        return (order.map { UInt32(times[$0]) }, order.map { allInputs[$0] })
    }

    /// The permutation that sorts `times` (each in 0 ... UInt32.max) stably: an LSD radix sort
    /// on 11-bit digits, two passes for times below 4.2 s.
    /// - Complexity: O(n · passes).
    package static func stableOrder(byTime times: [Int]) -> [Int] {
        var order = Array(0..<times.count)
        var scratch = order
        var largest = 0
        for t in times where t > largest { largest = t }
        var shift = 0
        repeat {
            var starts = [Int](repeating: 0, count: 2049)
            for i in order { starts[((times[i] >> shift) & 0x7FF) + 1] += 1 }
            for digit in 1...2048 { starts[digit] += starts[digit - 1] }
            for i in order {
                let digit = (times[i] >> shift) & 0x7FF
                scratch[starts[digit]] = i
                starts[digit] += 1
            }
            swap(&order, &scratch)
            shift += 11
        } while largest >> shift > 0
        return order
    }
}
