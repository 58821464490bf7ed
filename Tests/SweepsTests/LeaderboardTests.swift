import Foundation
import SpikeNet
import Sweeps
import Testing

@Suite struct LeaderboardTests {
    let plan = SweepPlan(spec: try! SweepPlanTests.spec(), datasetFingerprint: 7)

    func ok(_ task: SweepTask, _ accuracy: Double, seconds: Double = 2) -> TaskOutcome {
        TaskOutcome(taskID: task.id, configID: task.configID, fold: task.fold, status: .ok, validationAccuracy: accuracy,
                    trainAccuracy: 0.5, trainLoss: 1, epochs: [], seconds: seconds, recordingsPerSecond: 1, worker: "t", error: nil)
    }

    @Test func statisticsArePopulationStdOverFoldsLikeNumpy() throws {
        // Config 0's three folds: 0.5, 0.6, 0.9 → mean 0.666…, std (ddof 0) 0.169967…
        let outcomes = zip(plan.tasks.prefix(3), [0.5, 0.6, 0.9]).map { ok($0, $1) }
        let row = try #require(Leaderboard(plan: plan, outcomes: outcomes).rows.first)
        #expect(row.configID == plan.configIDs[0])
        #expect(abs(row.meanAccuracy! - 2.0 / 3) < 1e-15)
        #expect(abs(row.stdAccuracy! - 0.16996731711975951) < 1e-15)
        #expect(row.minAccuracy == 0.5 && row.maxAccuracy == 0.9)
        #expect(row.foldsDone == 3 && row.foldsTotal == 3 && row.foldsFailed == 0)
        #expect(row.meanTrainSeconds == 2)
    }

    @Test func anOkRowWinsOverAFailureAndALaterRowOverAnEarlierOne() throws {
        let task = plan.tasks[0]
        let failed = TaskOutcome.failure(task, error: "diverged", seconds: 1, worker: "t")
        #expect(Leaderboard.latestOutcomes([ok(task, 0.4), failed])[task.id]?.status == .ok)
        #expect(Leaderboard.latestOutcomes([failed, ok(task, 0.4)])[task.id]?.validationAccuracy == 0.4)
        #expect(Leaderboard.latestOutcomes([ok(task, 0.4), ok(task, 0.7)])[task.id]?.validationAccuracy == 0.7)
    }

    @Test func ranksByMeanKeepingGridOrderForTiesAndUnrunConfigurationsLast() throws {
        // Configs 1 and 2 tie at 0.5; config 3 beats them; config 0 has nothing yet.
        var outcomes: [TaskOutcome] = []
        for task in plan.tasks where task.configIndex > 0 {
            outcomes.append(ok(task, task.configIndex == 3 ? 0.8 : 0.5))
        }
        let board = Leaderboard(plan: plan, outcomes: outcomes)
        #expect(board.rows.map(\.configID) == [plan.configIDs[3], plan.configIDs[1], plan.configIDs[2], plan.configIDs[0]])
        #expect(board.rows.map(\.rank) == [1, 2, 3, 4])
        #expect(board.rows[3].meanAccuracy == nil && board.rows[3].stdAccuracy == nil)
        #expect(board.top(2).rows.count == 2)
        #expect(board.swept == ["beta", "hidden"])
        #expect(board.fixed["window_us"] == "2000" && board.fixed["denoise_us"] == "10000")
    }

    @Test func completeConfigurationsOutrankIncompleteOnesAndOneFoldHasNoStd() throws {
        // Config 0: all three folds at 0.6. Config 1: two folds at 0.9, one missing.
        // Config 2: one fold at 0.95, one failed. Config 3: nothing.
        var outcomes = plan.tasks.prefix(3).map { ok($0, 0.6) } + plan.tasks[3..<5].map { ok($0, 0.9) }
        outcomes += [ok(plan.tasks[6], 0.95), .failure(plan.tasks[7], error: "diverged", seconds: 1, worker: "t")]
        let board = Leaderboard(plan: plan, outcomes: outcomes)
        #expect(board.rows.map(\.configID) == [0, 2, 1, 3].map { plan.configIDs[$0] })
        #expect(board.rows.map(\.foldsText) == ["3/3", "1/3 (1 failed)", "2/3 incomplete", "0/3 incomplete"])
        #expect(board.rows[1].meanAccuracy == 0.95 && board.rows[1].stdAccuracy == nil)
        #expect(board.markdown.contains("| 2 | 95.00% | — | 0.9 | 16 | 1/3 (1 failed) |"))
        #expect(board.csv.split(separator: "\n")[2].hasPrefix("2,\(plan.configIDs[2]),0.950000,,0.950000,0.950000,1,3,1,"))
    }

    @Test func theThreeFormatsAgree() throws {
        let outcomes = plan.tasks.map { ok($0, 0.1 * Double($0.configIndex + 1)) }
        let board = Leaderboard(plan: plan, outcomes: outcomes)
        let csv = board.csv.split(separator: "\n")
        #expect(csv.count == 5)
        #expect(csv[1].hasPrefix("1,\(plan.configIDs[3]),0.400000,0.000000,0.400000,0.400000,3,3,0,2.00,0.9,32,2000,0.8/0.2,128,0.005,1e-05,10000"))
        #expect(board.markdown.contains("| Rank | Accuracy | ± std | β | n_hidden | Folds |"))
        #expect(board.markdown.contains("| 1 | 40.00% | 0.00 | 0.9 | 32 | 3/3 |"))
        let table = board.table.split(separator: "\n")
        #expect(table[0].hasPrefix("rank  accuracy  std     min     max     beta  hidden  folds  s/fold  vs best  config"))
        #expect(table[1].hasPrefix("1     0.4000    0.0000  0.4000  0.4000  0.9   32      3/3    2.0     best     \(plan.configIDs[3])"))
        // Every fold 0.1 worse than the next configuration: the paired test separates them all.
        #expect(table[2].hasPrefix("2     0.3000    0.0000  0.3000  0.3000  0.9   16      3/3    2.0     0.0e+00  \(plan.configIDs[2])"))
        #expect(csv[2].hasSuffix(",0.0,no") && csv[1].hasSuffix(",,best"))
        #expect(board.withinNoise == 1 && board.cheapestWithinNoise == plan.configIDs[3])
    }
}
