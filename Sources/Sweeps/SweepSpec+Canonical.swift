import Foundation
import SpikeEvents
import SpikeNet
import SpikeSupport

extension SweepSpec {
    /// The resolved spec as YAML: every parameter spelled out (defaults included), grid keys
    /// in canonical order. Written to `results/<name>/spec.yaml`; parsing it gives back an
    /// equal spec.
    package var canonicalYAML: String {
        func quote(_ s: String) -> String {
            let data = try! JSONEncoder().encode(s)
            return String(decoding: data, as: UTF8.self)
        }
        func source(_ d: DataSource) -> String {
            switch d {
            case .path(let p, let labels): return labels.map { "train: \(quote(p)), labels: \(quote($0))" } ?? "train: \(quote(p))"
            case .synthetic(let count, let seed): return "synthetic: {count: \(count), seed: \(seed)}"
            }
        }
        func yamlValue(_ v: ParameterValue) -> String {
            if case .ratio = v { return quote(v.description) }
            return v.description
        }
        var out = "name: \(quote(name))\n"
        var data = source(self.data)
        if let test, case .path(let p, _) = test { data += ", test: \(quote(p))" }
        out += "data: {\(data)}\n"
        out += "cv: {folds: \(folds), stratified: \(stratified)}\n"
        out += "epochs: \(epochs)\nseed: \(seed)\nfirst_saccade: \(firstSaccadeOnly)\n"
        if !grid.isEmpty || !sampled.isEmpty {
            out += "grid:\n"
            for (p, values) in grid { out += "  \(p.key): [\(values.map(yamlValue).joined(separator: ", "))]\n" }
            for (p, distribution) in sampled { out += "  \(p.key): \(distribution.yaml)\n" }
        }
        var searchKeys: [String] = []
        if search.strategy != .grid {
            searchKeys += ["strategy: \(search.strategy.rawValue)", "samples: \(search.samples)", "seed: \(search.seed)"]
        }
        if let h = search.halving {
            if let fraction = h.minFraction {
                searchKeys += ["scheduler: \(h.name)", "resource: data", "min_fraction: \(Format.shortest(fraction))", "eta: \(h.eta)"]
            } else {
                searchKeys += ["scheduler: \(h.name)", "min_epochs: \(h.minEpochs)", "max_epochs: \(h.maxEpochs)", "eta: \(h.eta)"]
            }
        }
        if !searchKeys.isEmpty { out += "search: {\(searchKeys.joined(separator: ", "))}\n" }
        let base = firstConfiguration
        let swept = Set(sweptParameters)
        let pinned = Hyperparameter.all.filter { !swept.contains($0) }
        if !pinned.isEmpty {
            out += "fixed:\n"
            for p in pinned { out += "  \(p.key): \(yamlValue(fixed[p] ?? p.value(in: base)))\n" }
        }
        return out
    }

    /// A hash of everything that defines the sweep's results except where the data lives
    /// (the dataset fingerprint covers what the data is).
    package var resultHash: String {
        var copy = self
        copy.data = .path("", labels: nil)
        copy.test = nil
        if case .synthetic = data { copy.data = data }
        return SweepPlan.hexHash(copy.canonicalYAML, digits: 16)
    }
}
