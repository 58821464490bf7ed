import Foundation
import SpikeNet
import SpikeSupport
@testable import Sweeps
import Testing

/// Random and Sobol search: parameters drawn from distributions, a pure function of the spec.
@Suite struct SearchSpaceTests {
    static let base = "name: s\ndata: {synthetic: {count: 100}}\nepochs: 1\n"

    static func spec(_ strategy: String, samples: Int = 12, seed: Int = 3) throws -> SweepSpec {
        try SweepSpec.parse(base + """
            grid:
              beta: [0.8, 0.9]
              lr: {loguniform: [1e-4, 2e-2]}
              l2: {uniform: [0, 1e-4]}
              hidden: {int: [16, 1024], log: true}
              batch_size: {int: [32, 256], step: 32}
              target_ratio: {choice: ["0.8/0.2", "0.95/0.05"]}
            search: {strategy: \(strategy), samples: \(samples), seed: \(seed)}
            """, file: "s.yaml")
    }

    @Test(arguments: ["random", "sobol"])
    func samplesArePureFunctionsOfTheSpecInRangeAndRounded(strategy: String) throws {
        let spec = try Self.spec(strategy)
        #expect(try Self.spec(strategy) == spec, "the same spec draws the same points")
        #expect(try Self.spec(strategy, seed: 4).sampledPoints != spec.sampledPoints, "another seed, other points")
        // Canonical YAML (results/<name>/spec.yaml) parses back to the same spec and points.
        let reparsed = try SweepSpec.parse(spec.canonicalYAML, file: "spec.yaml")
        #expect(reparsed.configurations == spec.configurations && reparsed.resultHash == spec.resultHash)
        #expect(reparsed.sampledPoints == spec.sampledPoints && reparsed.search == spec.search)
        // 2 grid values x 12 points, points fastest; ids unique.
        let configurations = spec.configurations
        #expect(configurations.count == 24 && spec.configurationCount == 24)
        #expect(configurations.prefix(12).allSatisfy { $0.beta == 0.8 } && configurations.suffix(12).allSatisfy { $0.beta == 0.9 })
        #expect(configurations.prefix(12).map(\.learningRate) == configurations.suffix(12).map(\.learningRate))
        let plan = SweepPlan(spec: spec, datasetFingerprint: 1)
        #expect(Set(plan.configIDs).count == 24)
        #expect(spec.sweptParameters.map(\.key) == ["beta", "hidden", "target_ratio", "batch_size", "lr", "l2"])
        for c in configurations {
            #expect(c.learningRate >= 1e-4 && c.learningRate <= 2e-2)
            #expect(c.l2 >= 0 && c.l2 <= 1e-4)
            #expect(c.hidden >= 16 && c.hidden <= 1024)
            #expect([32, 64, 96, 128, 160, 192, 224, 256].contains(c.batchSize))
            #expect(Distribution.rounded(c.learningRate) == Format.shortest(c.learningRate), "3 significant digits: \(c.learningRate)")
        }
        // Log-uniform: the Sobol points reach every decade of [1e-4, 2e-2].
        guard strategy == "sobol" else { return }
        let decades = Dictionary(grouping: spec.sampledPoints.compactMap { point -> Int? in
            guard case .number(let lr) = point[spec.sampled.firstIndex { $0.parameter.key == "lr" }!] else { return nil }
            return Int(log10(lr).rounded(.down))
        }, by: { $0 })
        #expect(decades.keys.sorted() == [-4, -3, -2], "\(decades)")
    }

    @Test func drawnParametersAreSummarisedInFiveGroupsByValue() throws {
        let spec = try SweepSpec.parse(Self.base + "cv: {folds: 2}\ngrid: {lr: {loguniform: [1e-4, 1e-2]}, hidden: {choice: [16, 32]}}\n"
                                       + "search: {strategy: sobol, samples: 20}\n", file: "s.yaml")
        let plan = SweepPlan(spec: spec, datasetFingerprint: 1)
        // Accuracy grows with lr: each group's mean must be above the previous one.
        let outcomes = plan.tasks.map { task in
            TaskOutcome(taskID: task.id, configID: task.configID, fold: task.fold, status: .ok,
                        validationAccuracy: 0.5 + log10(plan.configurations[task.configIndex].learningRate) / 10, trainAccuracy: 0.5,
                        trainLoss: 1, epochs: [], seconds: 1, recordingsPerSecond: 1, worker: "t", error: nil)
        }
        let board = Leaderboard(plan: plan, outcomes: outcomes)
        let lr = board.binnedEffect(of: Hyperparameter.named("lr")!)
        #expect(lr.values.count == 5 && lr.values.allSatisfy { $0.configurations == 4 })
        #expect(zip(lr.values, lr.values.dropFirst()).allSatisfy { $0.mean < $1.mean }, "\(lr.values.map(\.mean))")
        #expect(lr.values.allSatisfy { $0.value.contains("–") })
        let hidden = board.binnedEffect(of: Hyperparameter.named("hidden")!)
        #expect(hidden.values.map(\.value) == ["16", "32"], "few distinct values: one group each")
        let text = Leaderboard.table(lr)
        #expect(text.hasPrefix("lr") && text.split(separator: "\n").count == 7, "\(text)")
    }

    @Test func sobolMatchesScipyBeforeItsShift() throws {
        struct Fixture: Decodable { var points: [[UInt32]] }
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/sobol.json")
        let fixture = try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: url))
        let sequence = SobolSequence(dimensions: 10, shift: { 0 })
        #expect(fixture.points.count == 64)
        for (i, expected) in fixture.points.enumerated() { #expect(sequence.unshifted(i) == expected, "point \(i)") }
        // Balanced: each dimension's first 64 points put 8 in each eighth of [0, 1).
        let shifted = SobolSequence(dimensions: 10, shift: { 0xDEAD_BEEF_1234_5678 })
        for d in 0..<10 {
            let eighths = Dictionary(grouping: (0..<64).map { Int(shifted.point($0)[d] * 8) }, by: { $0 }).mapValues(\.count)
            #expect(eighths.count == 8 && eighths.values.allSatisfy { $0 == 8 }, "dimension \(d): \(eighths)")
        }
    }

    @Test func aSmallDiscreteSpaceIsRefusedWhenTooFewDistinctPointsExist() throws {
        let text = Self.base + "grid: {hidden: {int: [10, 12]}}\nsearch: {strategy: random, samples: 3}\n"
        #expect(try SweepSpec.parse(text, file: "s.yaml").configurations.map(\.hidden).sorted() == [10, 11, 12])
        let error = #expect(throws: SpecError.self) {
            try SweepSpec.parse(text.replacingOccurrences(of: "samples: 3", with: "samples: 4"), file: "s.yaml")
        }
        #expect(error?.description == "s.yaml: line 5: search.samples: fewer than 4 distinct points in 80 draws "
                + "(values are rounded to 3 significant digits); lower samples or widen the distributions")
    }

    static let search = "search: {strategy: random, samples: 5}\n"

    /// (spec text after the common head, expected one-line error).
    static let malformed: [(String, String)] = [
        ("grid: {lr: {loguniform: [1e-4, 2e-2]}}\n", "s.yaml: line 4: grid.lr.loguniform: a distribution needs search: {strategy: random or sobol, samples: N}; a grid takes a list"),
        ("grid: {lr: {loguniform: [0, 2e-2]}}\n" + search, "s.yaml: line 4: grid.lr.loguniform[0]: lr must be > 0, got 0"),
        ("grid: {l2: {loguniform: [0, 1e-3]}}\n" + search, "s.yaml: line 4: grid.lr.loguniform: lower bound must be > 0 for a log scale, got 0".replacingOccurrences(of: "grid.lr", with: "grid.l2")),
        ("grid: {lr: {uniform: [2e-2, 1e-4]}}\n" + search, "s.yaml: line 4: grid.lr.uniform: lower bound must be < upper bound, got [0.02, 0.0001]"),
        ("grid: {lr: {uniform: [1e-4]}}\n" + search, "s.yaml: line 4: grid.lr.uniform: expected [lo, hi], got 1 value"),
        ("grid: {lr: {uniform: [1e-4, 1e-3, 1e-2]}}\n" + search, "s.yaml: line 4: grid.lr.uniform: expected [lo, hi], got 3 values"),
        ("grid: {lr: {uniform: 0.1}}\n" + search, "s.yaml: line 4: grid.lr.uniform: expected [lo, hi]"),
        ("grid: {lr: {uniform: [a, 1]}}\n" + search, "s.yaml: line 4: grid.lr.uniform[0]: expected a number, got 'a'"),
        ("grid: {beta: {uniform: [0.5, 1.5]}}\n" + search, "s.yaml: line 4: grid.beta.uniform[1]: beta must be in (0, 1], got 1.5"),
        ("grid: {hidden: {uniform: [10, 100]}}\n" + search, "s.yaml: line 4: grid.hidden.uniform: hidden takes whole numbers: use {int: [lo, hi]}"),
        ("grid: {target_ratio: {uniform: [0, 1]}}\n" + search, "s.yaml: line 4: grid.target_ratio.uniform: target_ratio takes listed values: use {choice: [...]}"),
        ("grid: {lr: {int: [1, 5]}}\n" + search, "s.yaml: line 4: grid.lr.int: lr is not a whole number: use {uniform: [lo, hi]}"),
        ("grid: {hidden: {int: [100, 10]}}\n" + search, "s.yaml: line 4: grid.hidden.int: lower bound must be < upper bound, got [100, 10]"),
        ("grid: {hidden: {int: [0, 10]}}\n" + search, "s.yaml: line 4: grid.hidden.int[0]: hidden must be >= 1, got 0"),
        ("grid: {hidden: {int: [10, 100], step: 0}}\n" + search, "s.yaml: line 4: grid.hidden.step: must be >= 1, got 0"),
        ("grid: {hidden: {int: [10, 100], step: 5, log: true}}\n" + search, "s.yaml: line 4: grid.hidden.step: a log scale takes no step"),
        ("grid: {denoise_us: {int: [off, 100]}}\n" + search, "s.yaml: line 4: grid.denoise_us.int: expected whole numbers, not off"),
        ("grid: {lr: {uniform: [1e-4, 1e-2], step: 2}}\n" + search, "s.yaml: line 4: grid.lr.step: only for int distributions"),
        ("grid: {lr: {normal: [0, 1]}}\n" + search, "s.yaml: line 4: grid.lr.normal: unknown key 'normal'; allowed: choice, uniform, loguniform, int, step, log"),
        ("grid: {lr: {uniform: [1e-4, 1e-2], loguniform: [1e-4, 1e-2]}}\n" + search, "s.yaml: line 4: grid.lr: give one distribution, not uniform and loguniform"),
        ("grid: {lr: {step: 2}}\n" + search, "s.yaml: line 4: grid.lr: a distribution needs one of: choice, uniform, loguniform, int"),
        ("grid: {beta: {choice: []}}\n" + search, "s.yaml: line 4: grid.beta.choice: empty list (give at least one value)"),
        ("grid: {beta: {choice: [0.9, 0.9]}}\n" + search, "s.yaml: line 4: grid.beta.choice[1]: 0.9 is listed twice (also at [0])"),
        ("grid: {lr: {uniform: [1e-4, 1e-2]}}\nsearch: {strategy: bayes, samples: 5}\n", "s.yaml: line 5: search.strategy: unknown strategy 'bayes'; one of: grid, random, sobol"),
        ("grid: {lr: {uniform: [1e-4, 1e-2]}}\nsearch: {strategy: random}\n", "s.yaml: line 5: search.samples: missing (how many points to draw, e.g. samples: 20)"),
        ("grid: {lr: {uniform: [1e-4, 1e-2]}}\nsearch: {strategy: random, samples: 0}\n", "s.yaml: line 5: search.samples: must be >= 1, got 0"),
        ("grid: {lr: {uniform: [1e-4, 1e-2]}}\nsearch: {strategy: random, samples: 5, seed: -1}\n", "s.yaml: line 5: search.seed: must be >= 0, got -1"),
        ("grid: {lr: {uniform: [1e-4, 1e-2]}}\nsearch: {strategy: sobol, samples: 1000000000}\n", "s.yaml: line 5: search.samples: must be <= 100000, got 1000000000"),
        ("grid: {lr: {uniform: [1e-4, 1e-2]}}\nsearch: {strategy: random, samples: 5, budget: 3}\n", "s.yaml: line 5: search.budget: unknown key 'budget'; allowed: strategy, samples, seed, scheduler, min_epochs, max_epochs, eta, resource, min_fraction"),
        ("grid: {lr: [0.001, 0.01]}\nsearch: {strategy: sobol, samples: 5}\n", "s.yaml: line 5: search.strategy: sobol samples distributions, but every grid parameter is a list; give at least one as e.g. lr: {loguniform: [1e-4, 2e-2]}"),
        ("grid: {lr: [0.001, 0.01]}\nsearch: {samples: 5}\n", "s.yaml: line 5: search.samples: only for strategy random or sobol (a grid runs every combination)"),
        ("grid: {lr: 0.01}\n", "s.yaml: line 4: grid.lr: expected a list of values, e.g. lr: [1.0e-3, 5.0e-3], or a distribution, e.g. {choice: [...]}, {uniform: [lo, hi]}, {loguniform: [lo, hi]}, {int: [lo, hi]}"),
    ]

    @Test(arguments: malformed)
    func malformedSearchSpecsAreOneLineErrorsNamingTheKeyPath(_ text: String, _ expected: String) {
        let error = #expect(throws: SpecError.self) { try SweepSpec.parse(Self.base + text, file: "s.yaml") }
        #expect(error?.description == expected)
        #expect(error?.description.contains("\n") == false)
    }
}
