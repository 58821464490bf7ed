import Foundation
import SpikeNet
import Testing
import TestSupport

/// The commands that take the study's hyper-parameters list every one of their flags in
/// `--help` (the table is made from `Hyperparameter.all`), each on a line of its own.
@Suite struct HelpTests {
    @Test(arguments: ["train", "bench"])
    func helpListsEveryHyperparameterFlag(command: String) throws {
        let result = try CLIRunner.run([command, "--help"])
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.stdout.split(separator: "\n", omittingEmptySubsequences: false)
        for p in Hyperparameter.all {
            #expect(lines.contains { $0.hasPrefix("  --\(p.flag) ") }, "--\(p.flag) is not listed by `\(command) --help`")
        }
    }
}
