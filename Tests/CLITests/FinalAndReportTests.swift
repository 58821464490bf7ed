import Foundation
import Testing
import SpikeEvents
import TestSupport

@Suite(.serialized) struct FinalAndReportTests {
    @Test func finalTrainsTheWinnerAndEvaluateAgreesThenTheReportShowsIt() throws {
        let root = try SharedData.makeTemporaryDirectory(); defer { try? FileManager.default.removeItem(at: root) }
        let spec = root.appendingPathComponent("fr.yaml")
        try """
            name: fr
            data: {synthetic: {count: 300, seed: 5}}
            cv: {folds: 2}
            epochs: 2
            grid: {beta: [0.8, 0.95], hidden: [16, 32]}
            fixed: {batch_size: 20, lr: 1.0e-2}
            """.write(to: spec, atomically: true, encoding: .utf8)
        #expect(try CLIRunner.run(["sweep", spec.path, "--results", root.path, "--quiet"]).status == 0)
        let dir = root.appendingPathComponent("fr")

        let final = try CLIRunner.run(["final", dir.path, "--holdout", "0.2", "--epochs", "3", "--threads", "2", "--json"])
        #expect(final.status == 0, "\(final.stderr)")
        let metrics = try JSONSerialization.jsonObject(with: Data(final.stdout.utf8)) as? [String: Any]
        let testAccuracy = try #require(metrics?["test_accuracy"] as? Double)
        #expect(metrics?["test_recordings"] as? Int == 60)
        #expect(metrics?["training_recordings"] as? Int == 240)
        #expect((metrics?["confusion"] as? [[Int]])?.flatMap { $0 }.reduce(0, +) == 60)
        for file in ["metrics.json", "epochs.csv", "model.safetensors", "test.spk"] {
            #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent("final/\(file)").path), "final/\(file)")
        }
        // The leaderboard's winner was trained.
        let board = try CLIRunner.run(["leaderboard", dir.path, "--format", "csv", "--top", "1"])
        let winner = board.stdout.split(separator: "\n")[1].split(separator: ",")[1]
        #expect(metrics?["config_id"] as? String == String(winner))

        let evaluate = try CLIRunner.run(["evaluate", "--model", dir.appendingPathComponent("final/model.safetensors").path,
                                          "--data", dir.appendingPathComponent("final/test.spk").path, "--json"])
        #expect(evaluate.status == 0, "\(evaluate.stderr)")
        let evaluation = try JSONSerialization.jsonObject(with: Data(evaluate.stdout.utf8)) as? [String: Any]
        #expect(evaluation?["accuracy"] as? Double == testAccuracy)

        let report = try CLIRunner.run(["report", dir.path])
        #expect(report.status == 0, "\(report.stderr)")
        let html = try String(contentsOf: dir.appendingPathComponent("report.html"), encoding: .utf8)
        #expect(html.components(separatedBy: "<svg").count - 1 >= 5, "ranking, parameter effects (2), learning curves (2), confusion")
        #expect(html.contains("Which parameters matter"))
        #expect(html.contains("Final model"))
        #expect(html.contains(String(format: "%.2f%%", testAccuracy * 100)))
        #expect(!html.contains("<script"), "no scripts")
        #expect(!html.contains("http://") || html.contains("http://www.w3.org/2000/svg"))
        #expect(!html.contains("https://"), "no network")
    }

    @Test func finalNeedsATestSetAndFinishedFolds() throws {
        let root = try SharedData.makeTemporaryDirectory(); defer { try? FileManager.default.removeItem(at: root) }
        let neither = try CLIRunner.run(["final", root.path])
        #expect(neither.status != 0)
        #expect(neither.stderr.contains("give either --test FILE or --holdout FRACTION"))
        let notResults = try CLIRunner.run(["final", root.path, "--holdout", "0.2"])
        #expect(notResults.status != 0)
        #expect(notResults.stderr.contains("not a sweep results folder"))
    }

    /// The committed reports render in a real browser (headless Chromium): the screenshot is
    /// far from blank and the page logs nothing to the console. A page that does log is caught,
    /// so the check can fail.
    @Test func reportsRenderInHeadlessChromiumWithoutConsoleMessages() throws {
        guard let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].first(where: FileManager.default.isExecutableFile) else {
            print("skipped: headless Chromium not found (Debian package chromium; scripts/install-deps installs it)")
            return
        }
        let root = try SharedData.makeTemporaryDirectory(); defer { try? FileManager.default.removeItem(at: root) }
        func render(_ page: URL, _ name: String) throws -> (bytes: Int, console: [String]) {
            let png = root.appendingPathComponent("\(name).png")
            let run = try CLIRunner.run(executable: URL(fileURLWithPath: chromium),
                                        ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--enable-logging=stderr", "--v=0",
                                         "--user-data-dir=\(root.appendingPathComponent("profile-\(name)").path)",
                                         "--screenshot=\(png.path)", "--window-size=1200,2600", page.absoluteString])
            #expect(run.status == 0, "\(name): \(run.stderr)")
            let size = (try? FileManager.default.attributesOfItem(atPath: png.path)[.size] as? Int) ?? 0
            return (size, run.stderr.split(separator: "\n").filter { $0.contains(":CONSOLE") }.map(String.init))
        }
        let blank = root.appendingPathComponent("blank.html")
        try "<!doctype html><html><body></body></html>".write(to: blank, atomically: true, encoding: .utf8)
        let empty = try render(blank, "blank")
        #expect(empty.bytes > 0 && empty.console.isEmpty)
        let noisy = root.appendingPathComponent("noisy.html")
        try "<!doctype html><html><body><script>console.error('broken')</script></body></html>".write(to: noisy, atomically: true, encoding: .utf8)
        #expect(try render(noisy, "noisy").console.count == 1, "a console message is seen")

        let results = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../results").standardized
        for sweep in ["nmnist-small-table1", "nmnist-small-table2", "nmnist-small-table1-15epochs", "nmnist-small-halving-grid", "nmnist-small-halving"] {
            let page = results.appendingPathComponent("\(sweep)/report.html")
            let shot = try render(page, sweep)
            #expect(shot.bytes > 5 * empty.bytes, "\(sweep): screenshot of \(shot.bytes) bytes, a blank page's is \(empty.bytes)")
            #expect(shot.console.isEmpty, "\(sweep): \(shot.console)")
        }
    }
}
