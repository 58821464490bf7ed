import Foundation
import Testing
import SpikeNet
import Sweeps

@Suite struct SweepSpecTests {
    static let table1 = """
        name: table1
        data: {train: data/nmnist-train.spk}
        cv: {folds: 5, stratified: true}
        epochs: 3
        seed: 1
        grid:
          beta: [0.7, 0.9, 0.95]
          hidden: [100, 200, 400, 800]
          window_us: [500, 1000, 2000]
          target_ratio: ["0.8/0.2", "0.95/0.05"]
        fixed: {batch_size: 128, lr: 5.0e-3, l2: 1.0e-5, denoise_us: 10000}
        """

    @Test func parsesTheDesignExample() throws {
        let spec = try SweepSpec.parse(Self.table1, file: "table1.yaml")
        #expect(spec.name == "table1")
        #expect(spec.data == .path("data/nmnist-train.spk", labels: nil))
        #expect(spec.folds == 5 && spec.stratified && spec.epochs == 3 && spec.seed == 1)
        #expect(spec.sweptParameters.map(\.key) == ["beta", "hidden", "window_us", "target_ratio"])
        let configs = spec.configurations
        #expect(configs.count == 72)
        #expect(Set(configs.map(\.canonicalDescription)).count == 72)
        #expect(configs.allSatisfy { $0.batchSize == 128 && $0.learningRate == 5e-3 && $0.denoiseMicros == 10_000 })
        // First parameter varies slowest.
        #expect(configs[0].beta == 0.7 && configs[0].hidden == 100 && configs[0].windowMicros == 500)
        #expect(configs[1].targetRatio == TargetRatio(correct: 0.95, incorrect: 0.05))
        #expect(configs[71].beta == 0.95 && configs[71].hidden == 800)
        #expect(configs[0].canonicalDescription
            == "beta=0.7,hidden=100,window_us=500,target_ratio=0.8/0.2,batch_size=128,lr=0.005,l2=1e-05,denoise_us=10000")
    }

    @Test func gridKeysAreCanonicalisedWhateverTheirOrderInTheFile() throws {
        let a = try SweepSpec.parse("name: a\ndata: {synthetic: {count: 100}}\nepochs: 1\ngrid: {hidden: [10, 20], beta: [0.5]}\n", file: "a")
        let b = try SweepSpec.parse("name: a\ndata: {synthetic: {count: 100}}\nepochs: 1\ngrid: {beta: [0.5], hidden: [10, 20]}\n", file: "a")
        #expect(a == b)
        #expect(a.configurations.map(\.hidden) == [10, 20])
        #expect(a.data == .synthetic(count: 100, seed: 1))
    }

    @Test func denoiseCanBeSwitchedOff() throws {
        let spec = try SweepSpec.parse("name: a\ndata: {train: x.spk}\nepochs: 1\ngrid: {denoise_us: [10000, off]}\n", file: "a")
        #expect(spec.configurations.map(\.denoiseMicros) == [10_000, nil])
    }

    static let base = "name: s\ndata: {train: x.spk}\nepochs: 3\n"

    /// (spec text, expected one-line error).
    static let malformed: [(String, String)] = [
        ("", "s.yaml: spec is empty"),
        ("name: [unclosed\n", "s.yaml: line 2: not valid YAML: did not find expected ',' or ']'"),
        ("data: {train: x.spk}\nepochs: 3\n", "s.yaml: line 1: name: missing (every sweep needs a name; results go to results/<name>/)"),
        ("name: s\nepochs: 3\n", "s.yaml: line 1: data: missing (e.g. data: {train: data/nmnist-train.spk})"),
        ("name: s\ndata: {train: x.spk}\n", "s.yaml: line 1: epochs: missing (e.g. epochs: 3)"),
        (base + "epoch: 4\n", "s.yaml: line 4: epoch: unknown key 'epoch' (did you mean 'epochs'?); allowed: name, data, cv, epochs, seed, grid, fixed, first_saccade, search"),
        ("name: s\ndata: {train: x.spk}\nepochs: three\n", "s.yaml: line 3: epochs: expected a whole number, got 'three'"),
        ("name: s\ndata: {train: x.spk}\nepochs: 0\n", "s.yaml: line 3: epochs: must be >= 1, got 0"),
        (base + "epochs: 4\n", "s.yaml: line 3: epochs: duplicate key (given more than once in the same mapping)"),
        (base + "grid:\n  beta: []\n", "s.yaml: line 5: grid.beta: empty list (give at least one value)"),
        (base + "grid:\n  beta: 0.9\n", "s.yaml: line 5: grid.beta: expected a list of values, e.g. beta: [0.7, 0.9], or a distribution, e.g. {choice: [...]}, {uniform: [lo, hi]}, {loguniform: [lo, hi]}, {int: [lo, hi]}"),
        (base + "grid:\n  beta: [0.9, 1.5]\n", "s.yaml: line 5: grid.beta[1]: beta must be in (0, 1], got 1.5"),
        (base + "grid:\n  beta: [0, 0.5]\n", "s.yaml: line 5: grid.beta[0]: beta must be in (0, 1], got 0"),
        (base + "grid:\n  hidden: [100, 100]\n", "s.yaml: line 5: grid.hidden[1]: 100 is listed twice (also at [0])"),
        (base + "grid:\n  hidden: [0]\n", "s.yaml: line 5: grid.hidden[0]: hidden must be >= 1, got 0"),
        (base + "grid:\n  hidden: [12.5]\n", "s.yaml: line 5: grid.hidden[0]: expected a whole number, got '12.5'"),
        (base + "grid:\n  window_us: [-5]\n", "s.yaml: line 5: grid.window_us[0]: window_us must be >= 1 us, got -5"),
        (base + "grid:\n  target_ratio: [\"0.8-0.2\"]\n", "s.yaml: line 5: grid.target_ratio[0]: expected a ratio like \"0.8/0.2\" (correct/incorrect rate), got '0.8-0.2'"),
        (base + "grid:\n  target_ratio: [\"1.2/0.2\"]\n", "s.yaml: line 5: grid.target_ratio[0]: target_ratio must have rates in [0, 1], got 1.2/0.2"),
        (base + "grid:\n  batch_size: [0]\n", "s.yaml: line 5: grid.batch_size[0]: batch_size must be >= 1, got 0"),
        (base + "grid:\n  betta: [0.9]\n", "s.yaml: line 5: grid.betta: unknown key 'betta' (did you mean 'beta'?); allowed: beta, hidden, window_us, target_ratio, batch_size, lr, l2, denoise_us"),
        (base + "grid:\n  beta: [0.9]\nfixed:\n  beta: 0.8\n", "s.yaml: line 7: fixed.beta: also swept in grid (line 5); keep one"),
        (base + "fixed:\n  lr: -1\n", "s.yaml: line 5: fixed.lr: lr must be > 0, got -1"),
        (base + "fixed:\n  lr: \"fast\"\n", "s.yaml: line 5: fixed.lr: expected a number, got 'fast'"),
        (base + "cv: {folds: 1}\n", "s.yaml: line 4: cv.folds: must be >= 2, got 1"),
        (base + "cv: {folds: 5, stratify: true}\n", "s.yaml: line 4: cv.stratify: unknown key 'stratify' (did you mean 'stratified'?); allowed: folds, stratified"),
        (base + "cv: 5\n", "s.yaml: line 4: cv: expected a mapping of keys to values"),
        ("name: a/b\ndata: {train: x.spk}\nepochs: 1\n", "s.yaml: line 1: name: 'a/b' cannot name a results folder (no '/', '\\', control characters, '.' or '..')"),
        ("name: 'a\\b'\ndata: {train: x.spk}\nepochs: 1\n", "s.yaml: line 1: name: 'a\\b' cannot name a results folder (no '/', '\\', control characters, '.' or '..')"),
        ("name: s\ndata: {train: x.spk, synthetic: {count: 50}}\nepochs: 1\n", "s.yaml: line 2: data: give either train or synthetic, not both"),
        ("name: s\ndata: {}\nepochs: 1\n", "s.yaml: line 2: data: needs train: FILE (or synthetic: {count: N})"),
        (base + "seed: -3\n", "s.yaml: line 4: seed: must be >= 0, got -3"),
    ]

    @Test(arguments: malformed)
    func rejectsMalformedSpecsWithOneLineNamingKeyAndLine(_ text: String, _ expected: String) {
        let error = #expect(throws: SpecError.self) { try SweepSpec.parse(text, file: "s.yaml") }
        #expect(error?.description == expected)
        #expect(error?.description.contains("\n") == false)
    }
}

/// The shipped specs of the study's two searches are its grids (paper, Tables 1 and 2).
@Suite struct StudySpecTests {
    static let sweeps = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../sweeps").standardized

    func grid(_ file: String) throws -> (SweepSpec, [String: [String]]) {
        let spec = try SweepSpec.load(path: Self.sweeps.appendingPathComponent(file).path)
        return (spec, Dictionary(uniqueKeysWithValues: spec.grid.map { ($0.parameter.key, $0.values.map(\.description)) }))
    }

    @Test func table1IsThePapersFirstSearch() throws {
        let (spec, grid) = try grid("table1.yaml")
        #expect(grid == ["beta": ["0.7", "0.9", "0.95"], "hidden": ["100", "200", "400", "800"],
                         "window_us": ["500", "1000", "2000"], "target_ratio": ["0.8/0.2", "0.95/0.05"]])
        #expect(spec.folds == 5 && spec.epochs == 3 && spec.configurationCount == 72)
        #expect(spec.firstConfiguration.batchSize == 128)
    }

    @Test func table2IsThePapersSecondSearch() throws {
        let (spec, grid) = try grid("table2.yaml")
        #expect(grid == ["beta": ["0.8", "0.9", "0.95"], "hidden": ["400", "800", "1200"], "batch_size": ["64", "128", "256"]])
        #expect(spec.folds == 2 && spec.epochs == 15 && spec.configurationCount == 27)
        let first = spec.firstConfiguration
        #expect(first.windowMicros == 2000 && first.targetRatio.description == "0.8/0.2")
    }
}
