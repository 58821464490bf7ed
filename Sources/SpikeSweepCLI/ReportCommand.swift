import ArgumentParser
import Foundation
import Sweeps

extension SpikeSweep {
    struct Report: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write RESULTS_DIR/report.html: rankings, fold spread, parameter effects, learning curves, final model, cost.",
            discussion: """
                One self-contained file (inline SVG, no scripts, no network): open it in any browser, \
                or render it headless, e.g.
                  chromium --headless --screenshot=report.png --window-size=1200,3000 results/smoke/report.html
                """)

        @Argument(help: "A sweep results folder (results/<name>).")
        var resultsDirectory: String

        func run() throws {
            let url = try SweepReport.write(resultsDirectory: URL(fileURLWithPath: resultsDirectory))
            print(url.path)
        }
    }
}
