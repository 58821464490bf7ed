import Testing
import SpikeNet

@Suite struct SpikeCountLossTests {
    @Test func accuracyTiesPickTheFirstMaximumAndSilenceIsClassZero() throws {
        guard let fx = try SNNStepFixture.load() else { Issue.record("fixtures/snn_step.json not found"); return }
        let ties = (fx.json["extra"] as! [String: Any])["accuracy_rate_ties"] as! [String: Any]
        let counts = ties["counts"] as! [[Double]]
        let predicted = counts.map { SpikeCountLoss.predictedClass(counts: $0) }
        #expect(predicted == ties["predicted"] as! [Int])
        let targets = ties["targets"] as! [Int]
        let accuracy = Double(zip(predicted, targets).filter { $0 == $1 }.count) / Double(targets.count)
        #expect(accuracy == ties["accuracy_rate"] as! Double)
    }

    @Test func targetsTruncateTimesRateLikePythonInt() throws {
        guard let fx = try SNNStepFixture.load() else { Issue.record("fixtures/snn_step.json not found"); return }
        let table = (fx.json["extra"] as! [String: Any])["target_rounding"] as! [[String: Any]]
        #expect(!table.isEmpty)
        for row in table {
            let ratio = TargetRatio(correct: row["correct_rate"] as! Double, incorrect: row["incorrect_rate"] as! Double)
            let (on, off) = SpikeCountLoss(ratio: ratio).targets(steps: row["num_steps"] as! Int)
            #expect(on == row["on_target"] as! Int && off == row["off_target"] as! Int, "T=\(row["num_steps"]!)")
        }
        #expect(TargetRatio(correct: 0.95, incorrect: 0.05).targets(steps: 15) == (14, 0))
        #expect(TargetRatio(correct: 0.8, incorrect: 0.2).targets(steps: 155) == (124, 31))
    }

    @Test func singleStepLossMatchesFixture() throws {
        guard let fx = try SNNStepFixture.load() else { Issue.record("fixtures/snn_step.json not found"); return }
        let t1 = (fx.json["extra"] as! [String: Any])["mse_count_loss_T1"] as! [String: Any]
        let spk = SNNStepFixture.flatten(t1["spk_out"]!)  // [1][B][C]
        let labels = t1["targets"] as! [Int]
        let classes = spk.count / labels.count
        let loss = SpikeCountLoss(ratio: TargetRatio(correct: 0.8, incorrect: 0.2))
            .loss(counts: spk.map { Int32($0) }, labels: labels, classes: classes, steps: 1)
        #expect(abs(loss - (t1["loss"] as! Double)) < 1e-7)
    }
}
