import Cluster
import Foundation
import SpikeSupport
import Sweeps
import TestSupport
import Testing

/// Scripts, profiles and quoting: no cluster needed.
struct SlurmScriptTests {
    static let nasty = ["plain", "with space", "it's", "\"double\"", "$(touch pwned)", "`touch pwned`", "a;b", "x && y", "$HOME",
                        "semi; rm -rf /", "tab\there", "new\nline", "back\\slash", "*", "~", "-n", "", "'", "''", "%d"]

    @Test func quotedWordsComeBackUnchangedThroughAShell() throws {
        let dir = try SharedData.makeTemporaryDirectory(); defer { try? FileManager.default.removeItem(at: dir) }
        for value in Self.nasty {
            let script = "printf '%s' " + Shell.quote(value)
            let result = try CLIRunner.run(executable: URL(fileURLWithPath: "/bin/sh"), ["-c", script], currentDirectory: dir)
            #expect(result.status == 0 && result.stdout == value, "\(value.debugDescription) came back as \(result.stdout.debugDescription)")
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).isEmpty, "a quoted value ran a command")
        #expect(Shell.command(["spikesweep", "collect", "results/a b"]) == "spikesweep collect 'results/a b'")
    }

    @Test func generatedScriptsAreValidBashAndCarryOnlyTheProfile() throws {
        let dir = try SharedData.makeTemporaryDirectory(); defer { try? FileManager.default.removeItem(at: dir) }
        for profile in [SlurmProfile.habrok, try SlurmProfile.load("local")] {
            for (name, text) in [("array", SlurmScripts.array(profile)), ("mpi", SlurmScripts.mpi(profile)), ("collect", SlurmScripts.collect(profile))] {
                let url = dir.appendingPathComponent("\(name).sbatch")
                try text.write(to: url, atomically: true, encoding: .utf8)
                let check = try CLIRunner.run(executable: URL(fileURLWithPath: "/bin/bash"), ["-n", url.path])
                #expect(check.status == 0, "\(name): \(check.stderr)")
                #expect(!text.contains("@SBATCH_LINES@") && !text.contains("@MODULE_LINES@"))
                #expect(text.contains("#SBATCH --partition=\(name == "collect" ? profile.collectPartition : profile.partition)"))
                // #SBATCH lines must precede the first command.
                let lines = text.split(separator: "\n")
                let lastDirective = lines.lastIndex { $0.hasPrefix("#SBATCH") }!
                let firstCommand = lines.firstIndex { !$0.hasPrefix("#") && !$0.trimmingCharacters(in: .whitespaces).isEmpty }!
                #expect(lastDirective < firstCommand, "\(name): an #SBATCH line after a command is ignored by sbatch")
            }
        }
        #expect(SlurmScripts.array(.habrok).contains("module load OpenMPI/4.1.5-GCC-12.3.0\n"))
        #expect(SlurmScripts.array(.habrok).contains("#SBATCH --signal=B:USR1@600"))
        #expect(SlurmScripts.array(.habrok).contains("#SBATCH --requeue"))
    }

    @Test func profilesAreCheckedLineByLine() throws {
        let good = try #require(try? SlurmProfile.load("local"))
        #expect(good.partition == "local" && good.modules.isEmpty && good.cpusPerTask == 1)
        #expect(SlurmProfile.habrok.partition == "regular" && SlurmProfile.habrok.modules == ["OpenMPI/4.1.5-GCC-12.3.0"])
        let base = Set(SlurmProfile.keys)
        let text = base.map { key -> String in
            switch key {
            case "PARTITION", "COLLECT_PARTITION": return "\(key)=p"
            case "TIME", "COLLECT_TIME": return "\(key)=1:00:00"
            case "MEM": return "MEM=2G"
            case "MODULES": return "MODULES=A/1 B/2"
            default: return "\(key)=2"
            }
        }.joined(separator: "\n")
        #expect((try? SlurmProfile.parse(text, source: "p.env")) != nil)
        let cases: [(String, String)] = [
            ("PARTITION=reg ular", "PARTITION must be a partition name"),
            ("PARTITION=$(touch x)", "PARTITION must be a partition name"),
            ("TIME=tomorrow", "TIME must be a Slurm time"),
            ("MEM=lots", "MEM must be a size"),
            ("CPUS_PER_TASK=0", "CPUS_PER_TASK must be a whole number >= 1"),
            ("MODULES=OpenMPI;reboot", "MODULES must be space-separated module names"),
            ("COLOUR=blue", "unknown key COLOUR"),
            ("just words", "expected KEY=VALUE"),
        ]
        for (line, message) in cases {
            let bad = text + "\n" + line
            do {
                _ = try SlurmProfile.parse(bad, source: "p.env")
                Issue.record("accepted \(line)")
            } catch {
                let text = "\(error)"
                #expect(text.hasPrefix("p.env: line 11: ") && text.contains(message) && !text.contains("\n"), "\(line): \(text)")
            }
        }
        #expect(throws: ToolError.self) { try SlurmProfile.load("no-such-profile.env") }
    }

    @Test func arrayIndexListsAndConfigParsing() {
        #expect(Collector.indexList([0, 1, 2, 5, 7, 8]) == "0-2,5,7-8")
        #expect(Collector.indexList([3]) == "3")
        let config = Slurm.parseConfig("Configuration data as of x\nMaxArraySize            = 1001\nMaxJobCount = 10000\n")
        #expect(config["MaxArraySize"] == "1001" && config["MaxJobCount"] == "10000")
        let queue = Slurm.parseQueue("12_0|RUNNING|0:05|None\n13|PENDING|0:00|Dependency\n")
        #expect(queue.count == 2 && queue[1].reason == "Dependency" && queue[0].id == "12_0")
    }
}
