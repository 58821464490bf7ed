import Foundation
import SpikeNet
import Sweeps
import Testing

/// The paired statistics against scipy and statsmodels (`scripts/paired-test-fixtures`, whose
/// output is `Fixtures/paired-tests.json`).
@Suite struct PairedTestTests {
    struct Fixture: Decodable {
        struct Pair: Decodable { var a: [Double]; var b: [Double]; var t: Double; var p: Double }
        struct Board: Decodable {
            struct Versus: Decodable { var config: Int; var p_raw: Double; var p_holm: Double }
            var accuracies: [[Double]]; var best: Int; var vs_best: [Versus]
        }
        var pairs: [Pair]; var leaderboard: Board
    }

    static let fixture: Fixture = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/paired-tests.json")
        return try! JSONDecoder().decode(Fixture.self, from: Data(contentsOf: url))
    }()

    func close(_ x: Double, _ y: Double, _ relative: Double = 1e-9) -> Bool { abs(x - y) <= relative * max(abs(y), 1e-300) }

    @Test func pairedTMatchesScipyTtestRel() throws {
        #expect(Self.fixture.pairs.count == 18)
        for pair in Self.fixture.pairs {
            let result = try #require(PairedTest.compare(pair.a, pair.b))
            #expect(result.degreesOfFreedom == pair.a.count - 1)
            #expect(close(result.t!, pair.t), "t \(result.t!) vs scipy \(pair.t) for \(pair.a) / \(pair.b)")
            #expect(close(result.p, pair.p), "p \(result.p) vs scipy \(pair.p) for \(pair.a) / \(pair.b)")
        }
    }

    @Test func holmMatchesStatsmodelsAndTheLeaderboardUsesIt() throws {
        let board = Self.fixture.leaderboard
        let raw = board.vs_best.map(\.p_raw)
        let adjusted = PairedTest.holm(raw)
        for (mine, theirs) in zip(adjusted, board.vs_best.map(\.p_holm)) { #expect(close(mine, theirs), "\(mine) vs \(theirs)") }

        // The same table as a sweep of 8 configurations on 5 folds.
        let spec = try SweepSpec.parse(Self.noiseSpec, file: "noise.yaml")
        let plan = SweepPlan(spec: spec, datasetFingerprint: 1)
        let outcomes = plan.tasks.map { task in
            TaskOutcome(taskID: task.id, configID: task.configID, fold: task.fold, status: .ok,
                        validationAccuracy: board.accuracies[task.configIndex][task.fold], trainAccuracy: 0.5, trainLoss: 1,
                        epochs: [], seconds: Double(20 - task.configIndex), recordingsPerSecond: 1, worker: "t", error: nil)
        }
        let leaderboard = Leaderboard(plan: plan, outcomes: outcomes)
        #expect(leaderboard.rows[0].configID == plan.configIDs[board.best])
        #expect(leaderboard.rows[0].withinNoiseOfBest == true && leaderboard.rows[0].pVersusBest == nil)
        for versus in board.vs_best {
            let row = try #require(leaderboard.rows.first { $0.configID == plan.configIDs[versus.config] })
            #expect(close(try #require(row.pVersusBest), versus.p_holm), "config \(versus.config)")
            #expect(row.withinNoiseOfBest == (versus.p_holm >= 0.05))
        }
        // Configurations 1 and 2 are within noise (Holm p 0.21); of the three, 2 trains fastest.
        #expect(leaderboard.withinNoise == 3 && leaderboard.comparedWithBest == 7)
        #expect(leaderboard.cheapestWithinNoise == plan.configIDs[2])
        #expect(leaderboard.csv.split(separator: "\n")[0].hasSuffix(",p_vs_best,within_noise_of_best"))
        #expect(leaderboard.markdown.contains("| Folds | p vs best |"))
        #expect(leaderboard.markdown.contains("Cheapest of them: \(plan.configIDs[2]) (rank "))
        #expect(leaderboard.table.contains("≈ 0.214"))

        // Two folds: no comparison with the best (one degree of freedom separates almost nothing).
        let twoFolds = SweepPlan(spec: try SweepSpec.parse(Self.noiseSpec.replacingOccurrences(of: "folds: 5", with: "folds: 2"), file: "noise.yaml"),
                                 datasetFingerprint: 1)
        let board2 = Leaderboard(plan: twoFolds, outcomes: twoFolds.tasks.map { task in
            TaskOutcome(taskID: task.id, configID: task.configID, fold: task.fold, status: .ok,
                        validationAccuracy: board.accuracies[task.configIndex][task.fold], trainAccuracy: 0.5, trainLoss: 1,
                        epochs: [], seconds: 1, recordingsPerSecond: 1, worker: "t", error: nil)
        })
        #expect(board2.rows.allSatisfy { $0.pVersusBest == nil && $0.withinNoiseOfBest == nil } && board2.noiseNote == nil)
    }

    static let noiseSpec = """
        name: noise
        data: {synthetic: {count: 100}}
        cv: {folds: 5}
        epochs: 1
        grid: {hidden: [10, 11, 12, 13, 14, 15, 16, 17]}
        """

    @Test func edgeCases() throws {
        #expect(PairedTest.compare([0.9], [0.8]) == nil, "one fold: no test")
        #expect(PairedTest.compare([0.9, 0.8], [0.8]) == nil)
        #expect(PairedTest.compare([0.9, 0.8, 0.7], [0.9, 0.8, 0.7])?.p == 1, "identical folds")
        let constant = try #require(PairedTest.compare([0.5, 0.75, 0.25], [0.25, 0.5, 0.0]))
        #expect(constant.p == 0 && constant.t == .infinity, "the same gain on every fold")
        #expect(PairedTest.holm([0.01, 0.04, 0.03, 0.5]) == [0.04, 0.09, 0.09, 0.5])
        // Student's t tail against known values: t = 2.776 is the 97.5% quantile at 4 degrees of freedom.
        #expect(abs(PairedTest.twoSidedP(t: 2.7764451051977987, degreesOfFreedom: 4) - 0.05) < 1e-12)
        #expect(abs(PairedTest.twoSidedP(t: 1.959963984540054, degreesOfFreedom: 100_000) - 0.05) < 1e-5)
    }
}
