import Foundation
import Testing
import SpikeEvents
import SpikeNet
import TestSupport

/// `fixtures/snn_step.json` (snnTorch 1.0.0 golden numbers), read from the shared folder.
struct SNNStepFixture {
    let json: [String: Any]
    let inputs: Int, hidden: Int, outputs: Int, batch: Int, steps: Int
    let labels: [Int]
    /// [T][B][inputs]
    let x: [Double]
    let parameters: NetworkParameters

    static func load() throws -> SNNStepFixture? {
        guard let url = SharedData.fixture("snn_step.json") else { return nil }
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
        return SNNStepFixture(json: json)
    }

    init(json: [String: Any]) {
        self.json = json
        inputs = json["n_in"] as! Int
        hidden = json["n_hidden"] as! Int
        outputs = json["n_out"] as! Int
        batch = json["batch"] as! Int
        steps = json["num_steps"] as! Int
        labels = json["labels"] as! [Int]
        x = Self.flatten(json["x"]!)
        parameters = Self.parameters(json["params"] as! [String: Any],
                                     shape: NetworkShape(inputs: inputs, hidden: hidden, outputs: outputs))
    }

    var cases: [[String: Any]] { json["cases"] as! [[String: Any]] }

    /// The hyper-parameters of one fixture case (β and target rates; the rest default).
    static func hyperparameters(of fixtureCase: [String: Any]) -> Hyperparameters {
        var h = Hyperparameters()
        h.beta = fixtureCase["beta"] as! Double
        h.targetRatio = TargetRatio(correct: fixtureCase["correct_rate"] as! Double, incorrect: fixtureCase["incorrect_rate"] as! Double)
        return h
    }
    var shape: NetworkShape { parameters.shape }

    /// The batch as a frame set: recording b's step t holds the non-zero x[t][b][·].
    var frames: FrameSet {
        var set = FrameSet.Builder(windowMicros: 1, denoiseMicros: nil)
        for b in 0..<batch {
            var stepsList: [[(input: UInt16, count: UInt8)]] = []
            for t in 0..<steps {
                var entries: [(input: UInt16, count: UInt8)] = []
                for i in 0..<inputs {
                    let v = x[(t * batch + b) * inputs + i]
                    if v != 0 { entries.append((UInt16(i), UInt8(v))) }
                }
                stepsList.append(entries)
            }
            set.append(label: UInt8(labels[b]), steps: stepsList)
        }
        return set.finish()
    }

    static func flatten(_ value: Any) -> [Double] {
        if let v = value as? Double { return [v] }
        if let v = value as? Int { return [Double(v)] }
        if let a = value as? NSNumber { return [a.doubleValue] }
        return (value as! [Any]).flatMap { flatten($0) }
    }

    static func parameters(_ d: [String: Any], shape: NetworkShape) -> NetworkParameters {
        func f(_ k: String) -> [Float] { flatten(d[k]!).map(Float.init) }
        return NetworkParameters(shape: shape, fc1Weight: f("fc1.weight"), fc1Bias: f("fc1.bias"),
                                 fc2Weight: f("fc2.weight"), fc2Bias: f("fc2.bias"))
    }
}

/// Expects every `actual` value within 1e-5 relative of `expected`, or 1e-6 absolute near zero.
func expectClose(_ actual: [Float], _ expected: [Double], _ what: String,
                 relative: Double = 1e-5, absolute: Double = 1e-6,
                 sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(actual.count == expected.count, "\(what): \(actual.count) values, expected \(expected.count)",
            sourceLocation: sourceLocation)
    var failures = 0
    for (k, (a, e)) in zip(actual, expected).enumerated() {
        let diff = abs(Double(a) - e)
        if !(diff <= max(relative * abs(e), absolute)) {
            failures += 1
            if failures <= 3 {
                Issue.record("\(what)[\(k)]: \(a) vs expected \(e) (diff \(diff))", sourceLocation: sourceLocation)
            }
        }
    }
    if failures > 3 { Issue.record("\(what): \(failures) values out of tolerance", sourceLocation: sourceLocation) }
}

func expectClose(_ actual: [Float], _ expected: [Float], _ what: String,
                 relative: Double = 1e-5, absolute: Double = 1e-6,
                 sourceLocation: SourceLocation = #_sourceLocation) {
    expectClose(actual, expected.map(Double.init), what, relative: relative, absolute: absolute,
                sourceLocation: sourceLocation)
}

/// Reorders engine [B][T][n] data into the fixture's [T][B][n].
func timeMajor<T>(_ v: [T], batch: Int, steps: Int, width: Int) -> [T] {
    var out: [T] = []
    out.reserveCapacity(v.count)
    for t in 0..<steps {
        for b in 0..<batch { out += v[((b * steps + t) * width)..<((b * steps + t + 1) * width)] }
    }
    return out
}
