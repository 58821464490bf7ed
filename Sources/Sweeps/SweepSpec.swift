import Foundation
import SpikeNet
import SpikeSupport
import Yams

/// A problem in a sweep spec, as one line naming the file, line and key path.
package struct SpecError: Error, CustomStringConvertible, Sendable, Equatable {
    package var file: String
    package var line: Int?
    package var keyPath: String
    package var message: String

    package var description: String {
        var s = file
        if let line { s += ": line \(line)" }
        if !keyPath.isEmpty { s += ": \(keyPath)" }
        return s + ": " + message
    }
}

/// A sweep: which data, which folds, how long, and the grid of hyper-parameters (`grid` is a
/// cartesian product; `fixed` pins values; anything unnamed takes the engine's default).
///
/// ```yaml
/// name: table1
/// data: {train: data/nmnist-train.spk}   # or {synthetic: {count: 600, seed: 1}}
/// cv: {folds: 5, stratified: true}
/// epochs: 3
/// seed: 1
/// grid:
///   beta: [0.7, 0.9, 0.95]
///   hidden: [100, 200, 400, 800]
/// fixed: {batch_size: 128, lr: 5.0e-3}
/// ```
package struct SweepSpec: Sendable, Equatable {
    /// Where the training recordings come from.
    package enum DataSource: Sendable, Equatable {
        /// A prepared `.spk` file or any raw source `spikesweep data prepare` reads.
        case path(String, labels: String?)
        /// Synthetic N-MNIST generated in memory.
        case synthetic(count: Int, seed: UInt64)
    }

    package var name: String
    package var data: DataSource
    /// Optional held-out test split for `spikesweep final`.
    package var test: DataSource?
    package var folds: Int
    package var stratified: Bool
    package var epochs: Int
    package var seed: UInt64
    /// Keep only the first saccade (first 100 ms) of every recording.
    package var firstSaccadeOnly: Bool
    /// Swept parameters in canonical order, each with its values in the order written.
    package var grid: [(parameter: Hyperparameter, values: [ParameterValue])]
    /// Pinned parameters.
    package var fixed: [Hyperparameter: ParameterValue]
    /// Parameters drawn from distributions (`search.strategy` random or sobol), canonical order.
    package var sampled: [(parameter: Hyperparameter, distribution: Distribution)] = []
    package var search = SearchSettings()
    /// The drawn points: `search.samples` rows, one value per `sampled` parameter.
    package var sampledPoints: [[ParameterValue]] = []

    package static func == (a: SweepSpec, b: SweepSpec) -> Bool {
        a.name == b.name && a.data == b.data && a.test == b.test && a.folds == b.folds && a.stratified == b.stratified
            && a.epochs == b.epochs && a.seed == b.seed && a.firstSaccadeOnly == b.firstSaccadeOnly
            && a.grid.elementsEqual(b.grid) { $0.parameter == $1.parameter && $0.values == $1.values }
            && a.fixed == b.fixed
            && a.sampled.elementsEqual(b.sampled) { $0.parameter == $1.parameter && $0.distribution == $1.distribution }
            && a.search == b.search && a.sampledPoints == b.sampledPoints
    }

    /// The most tasks a sweep may have unless `--allow-large` is given: a typo in a grid
    /// (a few extra values in several keys) multiplies into millions of tasks.
    package static let taskLimit = 100_000

    /// Configurations: the product of the grid's value counts, times the sampled points when
    /// there are any; nil beyond Int.
    package var configurationCount: Int? {
        (grid.map(\.values.count) + (sampled.isEmpty ? [] : [search.samples])).reduce(Optional(1)) { n, count in
            n.flatMap { n in
                let (product, overflow) = n.multipliedReportingOverflow(by: count)
                return overflow ? nil : product
            }
        }
    }

    /// Refuses a sweep of more than `taskLimit` tasks unless `allowLarge`, before anything is
    /// expanded (so a huge grid costs neither time nor memory).
    package func checkSize(allowLarge: Bool, file: String) throws {
        let configs = configurationCount
        let tasks = configs.flatMap { c -> Int? in let (t, o) = c.multipliedReportingOverflow(by: folds); return o ? nil : t }
        let counts = (grid.map { "\($0.values.count)" } + (sampled.isEmpty ? [] : ["\(search.samples) samples"])).joined(separator: " x ")
        guard let tasks else {
            throw SpecError(file: file, line: nil, keyPath: "grid", message: "\(counts) values is more configurations than can be counted")
        }
        guard tasks <= Self.taskLimit || allowLarge else {
            throw SpecError(file: file, line: nil, keyPath: "grid",
                            message: "\(counts) values = \(configs!) configurations x \(folds) folds = \(tasks) tasks, more than the limit "
                                + "of \(Self.taskLimit); shrink the grid, or give --allow-large if you mean it")
        }
    }

    /// The first configuration of the grid (every swept parameter at its first value), without
    /// expanding the grid.
    package var firstConfiguration: Hyperparameters {
        var base = Hyperparameters()
        for (p, v) in fixed { p.set(v, in: &base) }
        for (p, values) in grid { p.set(values[0], in: &base) }
        if let point = sampledPoints.first { for (entry, v) in zip(sampled, point) { entry.parameter.set(v, in: &base) } }
        return base
    }

    /// Every configuration, in canonical order: the grid's (first parameter slowest), each
    /// crossed with every sampled point (points fastest).
    package var configurations: [Hyperparameters] {
        var base = Hyperparameters()
        for (p, v) in fixed { p.set(v, in: &base) }
        var result = [base]
        for (parameter, values) in grid {
            result = result.flatMap { config in
                values.map { value -> Hyperparameters in
                    var c = config
                    parameter.set(value, in: &c)
                    return c
                }
            }
        }
        guard !sampled.isEmpty else { return result }
        return result.flatMap { config in
            sampledPoints.map { point -> Hyperparameters in
                var c = config
                for (entry, v) in zip(sampled, point) { entry.parameter.set(v, in: &c) }
                return c
            }
        }
    }

    /// The swept parameters (grid and sampled), in canonical order.
    package var sweptParameters: [Hyperparameter] { (grid.map(\.parameter) + sampled.map(\.parameter)).sorted() }

    /// Reads and validates a spec file.
    package static func load(path: String) throws -> SweepSpec {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw SpecError(file: path, line: nil, keyPath: "", message: "cannot read spec: \(error.localizedDescription)")
        }
        return try parse(text, file: path)
    }

    /// Parses and validates spec text; the first problem is thrown.
    package static func parse(_ text: String, file: String) throws -> SweepSpec {
        var parser = SpecParser(file: file)
        return try parser.parse(text)
    }
}

/// Walks the YAML node tree with a key path, so every error says where it is.
struct SpecParser {
    let file: String

    func fail(_ node: Node?, _ path: String, _ message: String) -> SpecError {
        SpecError(file: file, line: node?.mark?.line, keyPath: path, message: message)
    }

    mutating func parse(_ text: String) throws -> SweepSpec {
        let root: Node?
        do { root = try Yams.compose(yaml: text) } catch let error as YamlError {
            throw yamlError(error)
        } catch {
            throw fail(nil, "", "not valid YAML: \(error)")
        }
        guard let root else { throw fail(nil, "", "spec is empty") }
        let top = try mapping(root, "", allowed: ["name", "data", "cv", "epochs", "seed", "grid", "fixed", "first_saccade", "search"])

        guard let nameNode = top["name"] else { throw fail(root, "name", "missing (every sweep needs a name; results go to results/<name>/)") }
        let name = try string(nameNode, "name")
        if name.isEmpty || name == "." || name == ".." || name.contains("/") || name.contains("\\") || name.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) {
            throw fail(nameNode, "name", "'\(name)' cannot name a results folder (no '/', '\\', control characters, '.' or '..')")
        }

        guard let dataNode = top["data"] else { throw fail(root, "data", "missing (e.g. data: {train: data/nmnist-train.spk})") }
        let dataMap = try mapping(dataNode, "data", allowed: ["train", "test", "labels", "synthetic"])
        let labels = try dataMap["labels"].map { try string($0, "data.labels") }
        let data: SweepSpec.DataSource
        switch (dataMap["train"], dataMap["synthetic"]) {
        case (let train?, nil):
            data = .path(try string(train, "data.train"), labels: labels)
        case (nil, let synthetic?):
            let s = try mapping(synthetic, "data.synthetic", allowed: ["count", "seed"])
            guard let countNode = s["count"] else { throw fail(synthetic, "data.synthetic.count", "missing") }
            let count = try integer(countNode, "data.synthetic.count")
            guard count >= 10 else { throw fail(countNode, "data.synthetic.count", "must be >= 10, got \(count)") }
            let seed = try s["seed"].map { try integer($0, "data.synthetic.seed") } ?? 1
            guard seed >= 0 else { throw fail(s["seed"], "data.synthetic.seed", "must be >= 0, got \(seed)") }
            data = .synthetic(count: count, seed: UInt64(seed))
        case (.some, .some):
            throw fail(dataNode, "data", "give either train or synthetic, not both")
        case (nil, nil):
            throw fail(dataNode, "data", "needs train: FILE (or synthetic: {count: N})")
        }
        let test = try dataMap["test"].map { SweepSpec.DataSource.path(try string($0, "data.test"), labels: nil) }

        var folds = 5, stratified = true
        if let cvNode = top["cv"] {
            let cv = try mapping(cvNode, "cv", allowed: ["folds", "stratified"])
            if let f = cv["folds"] {
                folds = try integer(f, "cv.folds")
                guard folds >= 2 else { throw fail(f, "cv.folds", "must be >= 2, got \(folds)") }
            }
            if let s = cv["stratified"] { stratified = try bool(s, "cv.stratified") }
        }

        let epochsNode = top["epochs"]
        let givenEpochs = try epochsNode.map { try integer($0, "epochs") }
        if let given = givenEpochs, given < 1 { throw fail(epochsNode, "epochs", "must be >= 1, got \(given)") }

        var seed: UInt64 = 1
        if let seedNode = top["seed"] {
            let s = try integer(seedNode, "seed")
            guard s >= 0 else { throw fail(seedNode, "seed", "must be >= 0, got \(s)") }
            seed = UInt64(s)
        }
        let firstSaccade = try top["first_saccade"].map { try bool($0, "first_saccade") } ?? false

        var grid: [(Hyperparameter, [ParameterValue])] = []
        var sampled: [(parameter: Hyperparameter, distribution: Distribution)] = []
        var sampledNodes: [Hyperparameter: (Node, String)] = [:]
        var gridLines: [Hyperparameter: Int] = [:]
        if let gridNode = top["grid"] {
            let g = try mapping(gridNode, "grid", allowed: Hyperparameter.all.map(\.key))
            for (key, valueNode) in g.pairs {
                let parameter = Hyperparameter.named(key)!
                let path = "grid.\(key)"
                if case .mapping = valueNode {
                    let (distribution, kindPath) = try self.distribution(valueNode, parameter, path)
                    sampled.append((parameter, distribution))
                    sampledNodes[parameter] = (valueNode, kindPath)
                    gridLines[parameter] = valueNode.mark?.line
                    continue
                }
                guard case .sequence(let seq) = valueNode else {
                    throw fail(valueNode, path, "expected a list of values, e.g. \(key): [\(parameter.example)], "
                                + "or a distribution, e.g. {choice: [...]}, {uniform: [lo, hi]}, {loguniform: [lo, hi]}, {int: [lo, hi]}")
                }
                guard !seq.isEmpty else { throw fail(valueNode, path, "empty list (give at least one value)") }
                var values: [ParameterValue] = []
                for (i, item) in seq.enumerated() {
                    let v = try value(item, parameter, "\(path)[\(i)]")
                    if let first = values.firstIndex(of: v) {
                        throw fail(item, "\(path)[\(i)]", "\(v) is listed twice (also at [\(first)])")
                    }
                    values.append(v)
                }
                grid.append((parameter, values))
                gridLines[parameter] = valueNode.mark?.line
            }
        }
        grid.sort { $0.0 < $1.0 }
        sampled.sort { $0.parameter < $1.parameter }

        var search = SearchSettings()
        if let searchNode = top["search"] {
            let m = try mapping(searchNode, "search", allowed: ["strategy", "samples", "seed", "scheduler", "min_epochs", "max_epochs", "eta",
                                                                "resource", "min_fraction"])
            if let node = m["strategy"] {
                let text = try string(node, "search.strategy")
                guard let strategy = SearchSettings.Strategy(rawValue: text) else {
                    throw fail(node, "search.strategy", "unknown strategy '\(text)'; one of: \(SearchSettings.Strategy.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                search.strategy = strategy
            }
            if let node = m["samples"] {
                guard search.strategy != .grid else {
                    throw fail(node, "search.samples", "only for strategy random or sobol (a grid runs every combination)")
                }
                search.samples = try integer(node, "search.samples")
                guard search.samples >= 1 else { throw fail(node, "search.samples", "must be >= 1, got \(search.samples)") }
                // Points are drawn when the spec is read: bound them before any is drawn.
                guard search.samples <= SweepSpec.taskLimit else {
                    throw fail(node, "search.samples", "must be <= \(SweepSpec.taskLimit), got \(search.samples)")
                }
            }
            if let node = m["seed"] {
                let value = try integer(node, "search.seed")
                guard value >= 0 else { throw fail(node, "search.seed", "must be >= 0, got \(value)") }
                search.seed = UInt64(value)
            }
            search.halving = try halving(m, searchNode, givenEpochs: givenEpochs, epochsNode: epochsNode)
            if search.strategy != .grid {
                guard !sampled.isEmpty else {
                    throw fail(m["strategy"], "search.strategy", "\(search.strategy.rawValue) samples distributions, but every grid parameter is a list; "
                                + "give at least one as e.g. lr: {loguniform: [1e-4, 2e-2]}")
                }
                guard m["samples"] != nil else { throw fail(searchNode, "search.samples", "missing (how many points to draw, e.g. samples: 20)") }
            }
        }
        guard let epochs = search.halving?.maxEpochs ?? givenEpochs else {
            throw fail(root, "epochs", "missing (e.g. epochs: 3)")
        }
        if search.strategy == .grid, let first = sampled.first, let (node, kindPath) = sampledNodes[first.parameter] {
            throw fail(node, kindPath, "a distribution needs search: {strategy: random or sobol, samples: N}; a grid takes a list")
        }
        var points: [[ParameterValue]] = []
        if !sampled.isEmpty {
            do {
                guard let drawn = try search.points(sampled) else {
                    throw fail(top["search"], "search.samples", "fewer than \(search.samples) distinct points in \(search.samples * SearchSettings.drawsPerSample) draws "
                                + "(values are rounded to \(SearchSettings.significantDigits) significant digits); lower samples or widen the distributions")
                }
                points = drawn
            } catch let error as ParameterError {
                throw fail(top["search"], "search", error.message)
            }
        }

        var fixed: [Hyperparameter: ParameterValue] = [:]
        if let fixedNode = top["fixed"] {
            let f = try mapping(fixedNode, "fixed", allowed: Hyperparameter.all.map(\.key))
            for (key, valueNode) in f.pairs {
                let parameter = Hyperparameter.named(key)!
                if let line = gridLines[parameter] {
                    throw fail(valueNode, "fixed.\(key)", "also swept in grid (line \(line)); keep one")
                }
                fixed[parameter] = try value(valueNode, parameter, "fixed.\(key)")
            }
        }
        return SweepSpec(name: name, data: data, test: test, folds: folds, stratified: stratified, epochs: epochs,
                         seed: seed, firstSaccadeOnly: firstSaccade, grid: grid, fixed: fixed,
                         sampled: sampled, search: search, sampledPoints: points)
    }

    /// Reads `search.scheduler` and its budget keys: `halving` with `min_epochs` (default 1),
    /// `max_epochs` (default `epochs`; `epochs`, when given, must equal it) and `eta` (default 3).
    func halving(_ m: Mapping, _ searchNode: Node, givenEpochs: Int?, epochsNode: Node?) throws -> HalvingSchedule? {
        let budgetKeys = ["min_epochs", "max_epochs", "eta", "resource", "min_fraction"]
        guard let node = m["scheduler"] else {
            if let key = budgetKeys.first(where: { m[$0] != nil }) {
                throw fail(m[key], "search.\(key)", "only with scheduler: halving or hyperband")
            }
            return nil
        }
        let text = try string(node, "search.scheduler")
        guard text == "halving" || text == "hyperband" else {
            throw fail(node, "search.scheduler", "unknown scheduler '\(text)'; one of: halving (successive halving over epochs), hyperband (its brackets)")
        }
        let eta = try m["eta"].map { try integer($0, "search.eta") } ?? 3
        guard eta >= 2 else { throw fail(m["eta"], "search.eta", "must be >= 2 (keep the best 1/eta of each rung), got \(eta)") }
        guard eta <= 1000 else { throw fail(m["eta"], "search.eta", "must be <= 1000, got \(eta)") }
        let resource = try m["resource"].map { try string($0, "search.resource") } ?? "epochs"
        switch resource {
        case "epochs":
            if m["min_fraction"] != nil { throw fail(m["min_fraction"], "search.min_fraction", "only with resource: data") }
        case "data":
            for key in ["min_epochs", "max_epochs"] where m[key] != nil {
                throw fail(m[key], "search.\(key)", "not with resource: data (every rung trains `epochs` epochs; min_fraction sets the first rung's share)")
            }
            guard let epochs = givenEpochs else {
                throw fail(searchNode, "epochs", "missing: with resource: data every rung trains this many epochs (e.g. epochs: 15)")
            }
            let minFraction = try m["min_fraction"].map { try number($0, "search.min_fraction") } ?? 1 / Double(eta * eta)
            guard minFraction > 0, minFraction < 1 else {
                throw fail(m["min_fraction"], "search.min_fraction", "must be in (0, 1), got \(Format.shortest(minFraction))")
            }
            guard minFraction >= 0.001 else { throw fail(m["min_fraction"], "search.min_fraction", "must be >= 0.001, got \(Format.shortest(minFraction))") }
            return HalvingSchedule(minEpochs: epochs, maxEpochs: epochs, eta: eta, hyperband: text == "hyperband", minFraction: minFraction)
        default:
            throw fail(m["resource"], "search.resource", "unknown resource '\(resource)'; one of: epochs, data (the share of each fold's training data)")
        }
        let minEpochs = try m["min_epochs"].map { try integer($0, "search.min_epochs") } ?? 1
        guard minEpochs >= 1 else { throw fail(m["min_epochs"], "search.min_epochs", "must be >= 1, got \(minEpochs)") }
        guard let maxEpochs = try m["max_epochs"].map({ try integer($0, "search.max_epochs") }) ?? givenEpochs else {
            throw fail(searchNode, "search.max_epochs", "missing (the epochs of the last rung, e.g. max_epochs: 15)")
        }
        guard maxEpochs > minEpochs else {
            throw fail(m["max_epochs"] ?? epochsNode, "search.max_epochs", "must be > min_epochs (\(minEpochs)), got \(maxEpochs)")
        }
        if let given = givenEpochs, given != maxEpochs {
            throw fail(epochsNode, "epochs", "is \(given) but search.max_epochs is \(maxEpochs): a \(text) sweep trains its last rung "
                        + "for max_epochs (drop epochs or make them equal)")
        }
        guard maxEpochs <= 100_000 else { throw fail(m["max_epochs"] ?? epochsNode, "search.max_epochs", "must be <= 100000, got \(maxEpochs)") }
        return HalvingSchedule(minEpochs: minEpochs, maxEpochs: maxEpochs, eta: eta, hyperband: text == "hyperband")
    }

    /// Reads `{choice: [...]}`, `{uniform: [lo, hi]}`, `{loguniform: [lo, hi]}` or
    /// `{int: [lo, hi], step: S, log: true}` for `parameter`; returns it and its key path.
    func distribution(_ node: Node, _ parameter: Hyperparameter, _ path: String) throws -> (Distribution, String) {
        let kinds = ["choice", "uniform", "loguniform", "int"]
        let m = try mapping(node, path, allowed: kinds + ["step", "log"])
        let given = m.pairs.map(\.0).filter(kinds.contains)
        guard given.count == 1, let kind = given.first, let body = m[kind] else {
            throw fail(node, path, given.isEmpty ? "a distribution needs one of: \(kinds.joined(separator: ", "))"
                                                 : "give one distribution, not \(given.joined(separator: " and "))")
        }
        let kindPath = "\(path).\(kind)"
        for option in ["step", "log"] where m[option] != nil && kind != "int" {
            throw fail(m[option], "\(path).\(option)", "only for int distributions")
        }
        guard case .sequence(let items) = body else {
            throw fail(body, kindPath, kind == "choice" ? "expected a list of values" : "expected [lo, hi]")
        }
        func bound(_ i: Int) throws -> ParameterValue {
            let v = try value(items[i], parameter, "\(kindPath)[\(i)]")
            return v
        }
        switch kind {
        case "choice":
            guard !items.isEmpty else { throw fail(body, kindPath, "empty list (give at least one value)") }
            var values: [ParameterValue] = []
            for i in items.indices {
                let v = try bound(i)
                if let first = values.firstIndex(of: v) { throw fail(items[i], "\(kindPath)[\(i)]", "\(v) is listed twice (also at [\(first)])") }
                values.append(v)
            }
            return (.choice(values), kindPath)
        case "uniform", "loguniform":
            guard parameter.isReal else {
                throw fail(body, kindPath, "\(parameter.key) takes \(parameter.isWholeNumber ? "whole numbers: use {int: [lo, hi]}" : "listed values: use {choice: [...]}")")
            }
            guard items.count == 2 else { throw fail(body, kindPath, "expected [lo, hi], got \(items.count) value\(items.count == 1 ? "" : "s")") }
            guard case .number(let lo) = try bound(0), case .number(let hi) = try bound(1) else { throw fail(body, kindPath, "expected numbers") }
            guard lo < hi else { throw fail(body, kindPath, "lower bound must be < upper bound, got [\(Format.shortest(lo)), \(Format.shortest(hi))]") }
            if kind == "loguniform" {
                guard lo > 0 else { throw fail(body, kindPath, "lower bound must be > 0 for a log scale, got \(Format.shortest(lo))") }
                return (.logUniform(lo, hi), kindPath)
            }
            return (.uniform(lo, hi), kindPath)
        default:
            guard parameter.isWholeNumber else {
                throw fail(body, kindPath, "\(parameter.key) is not a whole number: use \(parameter.isReal ? "{uniform: [lo, hi]}" : "{choice: [...]}")")
            }
            guard items.count == 2 else { throw fail(body, kindPath, "expected [lo, hi], got \(items.count) value\(items.count == 1 ? "" : "s")") }
            guard case .integer(let lo) = try bound(0), case .integer(let hi) = try bound(1) else { throw fail(body, kindPath, "expected whole numbers, not off") }
            guard lo < hi else { throw fail(body, kindPath, "lower bound must be < upper bound, got [\(lo), \(hi)]") }
            let step = try m["step"].map { try integer($0, "\(path).step") } ?? 1
            guard step >= 1 else { throw fail(m["step"], "\(path).step", "must be >= 1, got \(step)") }
            let isLog = try m["log"].map { try bool($0, "\(path).log") } ?? false
            if isLog && step != 1 { throw fail(m["step"], "\(path).step", "a log scale takes no step") }
            if isLog && lo < 1 { throw fail(body, kindPath, "lower bound must be >= 1 for a log scale, got \(lo)") }
            return (.integer(lo, hi, step: step, log: isLog), kindPath)
        }
    }

    // MARK: - Typed readers

    struct Mapping {
        var pairs: [(String, Node)]
        subscript(key: String) -> Node? { pairs.first { $0.0 == key }?.1 }
    }

    func mapping(_ node: Node, _ path: String, allowed: [String]) throws -> Mapping {
        guard case .mapping(let m) = node else {
            throw fail(node, path.isEmpty ? "(top level)" : path, "expected a mapping of keys to values")
        }
        // Yams itself rejects duplicate keys (see `yamlError`).
        var pairs: [(String, Node)] = []
        for (k, v) in m {
            guard case .scalar(let s) = k else { throw fail(k, path, "keys must be plain names") }
            let key = s.string
            let keyPath = path.isEmpty ? key : "\(path).\(key)"
            guard allowed.contains(key) else {
                var message = "unknown key '\(key)'"
                if let near = Spelling.nearest(to: key, among: allowed) {
                    message += " (did you mean '\(near)'?)"
                }
                message += "; allowed: \(allowed.joined(separator: ", "))"
                throw fail(k, keyPath, message)
            }
            pairs.append((key, v))
        }
        return Mapping(pairs: pairs)
    }

    func scalarText(_ node: Node, _ path: String, expected: String) throws -> Node.Scalar {
        guard case .scalar(let s) = node else { throw fail(node, path, "expected \(expected), got a \(kind(node))") }
        return s
    }

    func string(_ node: Node, _ path: String) throws -> String {
        try scalarText(node, path, expected: "a string").string
    }

    func integer(_ node: Node, _ path: String) throws -> Int {
        let s = try scalarText(node, path, expected: "a whole number")
        if let v = Int(s.string) { return v }
        if let d = Double(s.string), d == d.rounded(), abs(d) < 1e15, s.style == .plain { return Int(d) }
        throw fail(node, path, "expected a whole number, got '\(s.string)'")
    }

    func number(_ node: Node, _ path: String) throws -> Double {
        let s = try scalarText(node, path, expected: "a number")
        guard s.style == .plain, let v = Double(s.string), v.isFinite else {
            throw fail(node, path, "expected a number, got '\(s.string)'")
        }
        return v
    }

    func bool(_ node: Node, _ path: String) throws -> Bool {
        let s = try scalarText(node, path, expected: "true or false")
        switch s.string.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default: throw fail(node, path, "expected true or false, got '\(s.string)'")
        }
    }

    /// Reads and range-checks one parameter value (the rules are `Hyperparameter.all`'s).
    func value(_ node: Node, _ parameter: Hyperparameter, _ path: String) throws -> ParameterValue {
        guard case .scalar(let s) = node else {
            throw fail(node, path, "expected a single value for \(parameter.key), e.g. \(parameter.example), got a \(kind(node))")
        }
        do {
            return try parameter.parse(s.string, isQuoted: s.style != .plain)
        } catch let error as ParameterError {
            throw fail(node, path, error.message)
        }
    }

    func kind(_ node: Node) -> String {
        switch node {
        case .scalar: "single value"
        case .mapping: "mapping"
        case .sequence: "list"
        case .alias: "alias"
        }
    }

    func yamlError(_ error: YamlError) -> SpecError {
        switch error {
        case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _):
            return SpecError(file: file, line: mark.line, keyPath: "", message: "not valid YAML: \(problem)")
        case .composer(_, let problem, let mark, _):
            return SpecError(file: file, line: mark.line, keyPath: "", message: "not valid YAML: \(problem)")
        case .duplicatedKeysInMapping(let duplicates, let context):
            return SpecError(file: file, line: context.mark.line, keyPath: duplicates.joined(separator: ", "),
                             message: "duplicate key (given more than once in the same mapping)")
        default:
            let text = "\(error)".split(separator: "\n").first.map(String.init) ?? "\(error)"
            return SpecError(file: file, line: nil, keyPath: "", message: "not valid YAML: \(text)")
        }
    }
}
