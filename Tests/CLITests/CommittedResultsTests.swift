import Foundation
import Testing
import TestSupport

/// The committed Table 1 results on the 1000 real recordings stay reproducible: a slice of the
/// grid run again gives the committed fold rows, and `train --folds` gives a committed
/// leaderboard row.
@Suite(.serialized) struct CommittedResultsTests {
    static let committed = SharedData.packageRoot.appendingPathComponent("results/nmnist-small-table1")

    /// committed rows by task id (data rows only).
    static func committedRows(_ file: String) -> [String: [String]] {
        Dictionary(ResultFiles.rows(committed.appendingPathComponent(file)).map { ($0[0], $0) }, uniquingKeysWith: { a, _ in a })
    }

    @Test func aSliceOfTheTable1GridGivesTheCommittedFoldsAndEpochs() throws {
        guard let data = SharedData.nmnistSmall else { print(SharedData.skipMessage); return }
        let root = try SharedData.makeTemporaryDirectory(); defer { try? FileManager.default.removeItem(at: root) }
        // The committed spec with a grid of two configurations: same folds, epochs, seed and data,
        // hence the same task ids and, if nothing changed, the same numbers.
        let spec = root.appendingPathComponent("slice.yaml")
        try """
            name: nmnist-small-table1
            data: {train: "\(data.path)", labels: "\(data.appendingPathComponent("train1K.txt").path)"}
            cv: {folds: 5, stratified: true}
            epochs: 3
            seed: 1
            grid:
              beta: [0.9]
              hidden: [100]
              window_us: [2000]
              target_ratio: ["0.8/0.2", "0.95/0.05"]
            fixed: {batch_size: 128, lr: 5.0e-3, l2: 1.0e-5, denoise_us: 10000}
            """.write(to: spec, atomically: true, encoding: .utf8)
        let run = try CLIRunner.run(["sweep", spec.path, "--results", root.path, "--workers", "2", "--quiet"])
        #expect(run.status == 0, "\(run.stderr)")
        let dir = root.appendingPathComponent("nmnist-small-table1")
        let folds = ResultFiles.rows(dir.appendingPathComponent("folds.csv"))
        #expect(folds.count == 10)
        let committedFolds = Self.committedRows("folds.csv")
        for row in folds {
            let reference = try #require(committedFolds[row[0]], "task \(row[0]) is not in the committed folds.csv")
            // Everything but seconds, recordings_per_s and worker; the committed file predates the
            // attempt column (a first attempt).
            let keep = { (r: [String]) in r.prefix(reference.count).enumerated().filter { ![7, 8, 9].contains($0.offset) }.map(\.element) }
            #expect(keep(row) == keep(reference))
            #expect(row.count == reference.count + 1 && row.last == "1")
        }
        let committedEpochs = Set(ResultFiles.rows(Self.committed.appendingPathComponent("epochs.csv")).map { $0.dropLast().joined(separator: ",") })
        let epochs = ResultFiles.epochs(dir)
        #expect(epochs.count == 30)
        #expect(epochs.allSatisfy { committedEpochs.contains($0) })
    }

    @Test func trainFoldsReproducesACommittedLeaderboardRow() throws {
        guard let data = SharedData.nmnistSmall else { print(SharedData.skipMessage); return }
        // rank,config_id,mean_accuracy,std_accuracy,…,beta,hidden,window_us,target_ratio,…
        let rows = ResultFiles.rows(Self.committed.appendingPathComponent("leaderboard.csv"))
        let row = try #require(rows.first { $0[10] == "0.9" && $0[11] == "100" && $0[12] == "2000" && $0[13] == "0.95/0.05" })
        let run = try CLIRunner.run(["train", "--data", data.path, "--folds", "5", "--epochs", "3", "--seed", "1", "--threads", "2",
                                     "--beta", "0.9", "--hidden", "100", "--window-us", "2000", "--ratio", "0.95/0.05", "--json"])
        #expect(run.status == 0, "\(run.stderr)")
        struct Report: Decodable {
            struct CV: Decodable {
                struct Row: Decodable { var configID: String; var meanAccuracy: Double; var stdAccuracy: Double }
                struct Fold: Decodable { var taskID: String; var validationAccuracy: Double }
                var row: Row
                var folds: [Fold]
            }
            var crossValidation: CV
        }
        let cv = try JSONDecoder().decode(Report.self, from: Data(run.stdout.utf8)).crossValidation
        #expect(cv.row.configID == row[1])
        #expect(String(format: "%.6f", cv.row.meanAccuracy) == row[2])
        #expect(String(format: "%.6f", cv.row.stdAccuracy) == row[3])
        #expect(run.stderr.contains("5-fold cross-validated accuracy \(row[2]) ± \(row[3])"), "\(run.stderr)")
        // Fold by fold, the same tasks as the sweep's, with the same accuracies.
        let committedFolds = Self.committedRows("folds.csv")
        #expect(cv.folds.count == 5)
        for fold in cv.folds {
            #expect(committedFolds[fold.taskID]?[4] == "\(fold.validationAccuracy)", "task \(fold.taskID)")
        }
    }
}
