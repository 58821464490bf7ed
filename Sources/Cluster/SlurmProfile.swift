import Foundation
import SlurmFiles
import SpikeSupport

/// Resources and environment of generated Slurm jobs: a `slurm/<name>.env` file of
/// `KEY=VALUE` lines (`#` comments), read without a shell. Values must look like what they
/// are (a partition name, a time, a size), so nothing surprising can reach an `#SBATCH` line.
package struct SlurmProfile: Sendable, Equatable {
    package var source: String
    package var partition: String
    /// Wall time of an array element or of the MPI job.
    package var time: String
    /// Memory of one array element or of one MPI rank (`8G`, `4000M`).
    package var mem: String
    package var cpusPerTask: Int
    package var arraySize: Int
    package var ntasks: Int
    /// SIGUSR1 this many seconds before the time limit.
    package var signalSeconds: Int
    package var collectPartition: String
    package var collectTime: String
    package var modules: [String]

    package static let keys = ["PARTITION", "TIME", "MEM", "CPUS_PER_TASK", "ARRAY_SIZE", "NTASKS", "SIGNAL_SECONDS",
                              "COLLECT_PARTITION", "COLLECT_TIME", "MODULES"]

    /// The built-in Hábrók-style profile.
    package static var habrok: SlurmProfile { try! parse(SlurmFiles.profiles["habrok"]!, source: "built-in profile habrok") }

    /// A built-in profile by name (`habrok`, `local`) or a profile file by path.
    package static func load(_ nameOrPath: String) throws -> SlurmProfile {
        if !nameOrPath.contains("/") && !nameOrPath.hasSuffix(".env"), let text = SlurmFiles.profiles[nameOrPath] {
            return try parse(text, source: "built-in profile \(nameOrPath)")
        }
        guard let text = try? String(contentsOfFile: nameOrPath, encoding: .utf8) else {
            throw ToolError("\(nameOrPath): cannot read the profile (built-in profiles: \(SlurmFiles.profiles.keys.sorted().joined(separator: ", ")))")
        }
        return try parse(text, source: nameOrPath)
    }

    /// Parses a profile; every key must be known and every value valid.
    package static func parse(_ text: String, source: String) throws -> SlurmProfile {
        var values: [String: (String, Int)] = [:]
        for (i, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            guard let eq = line.firstIndex(of: "=") else {
                throw ToolError("\(source): line \(i + 1): expected KEY=VALUE, got '\(line)'")
            }
            let key = String(line[..<eq]).trimmingCharacters(in: .whitespaces)
            var value = String(line[line.index(after: eq)...]).trimmingCharacters(in: .whitespaces)
            if value.count >= 2, let f = value.first, f == "\"" || f == "'", value.last == f { value = String(value.dropFirst().dropLast()) }
            guard keys.contains(key) else {
                throw ToolError("\(source): line \(i + 1): unknown key \(key) (known: \(keys.joined(separator: ", ")))")
            }
            values[key] = (value, i + 1)
        }
        func get(_ key: String) throws -> (String, Int) {
            guard let v = values[key] else { throw ToolError("\(source): missing \(key)") }
            return v
        }
        func checked(_ key: String, _ valid: (String) -> Bool, _ expected: String) throws -> String {
            let (v, line) = try get(key)
            guard valid(v) else { throw ToolError("\(source): line \(line): \(key) must be \(expected), got '\(v)'") }
            return v
        }
        func positive(_ key: String) throws -> Int {
            Int(try checked(key, { Int($0).map { $0 >= 1 } ?? false }, "a whole number >= 1"))!
        }
        let modules = try checked("MODULES", { $0.split(separator: " ").allSatisfy { Self.isModuleName(String($0)) } },
                                  "space-separated module names").split(separator: " ").map(String.init)
        return SlurmProfile(source: source,
                            partition: try checked("PARTITION", isName, "a partition name"),
                            time: try checked("TIME", isTime, "a Slurm time like 1-00:00:00 or 30:00"),
                            mem: try checked("MEM", isMemory, "a size like 8G or 4000M"),
                            cpusPerTask: try positive("CPUS_PER_TASK"), arraySize: try positive("ARRAY_SIZE"),
                            ntasks: try positive("NTASKS"), signalSeconds: try positive("SIGNAL_SECONDS"),
                            collectPartition: try checked("COLLECT_PARTITION", isName, "a partition name"),
                            collectTime: try checked("COLLECT_TIME", isTime, "a Slurm time like 00:30:00"),
                            modules: modules)
    }

    package static func isName(_ s: String) -> Bool {
        !s.isEmpty && s.count <= 64 && s.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "_-.".contains($0)) }
    }

    /// Slurm times: `minutes`, `minutes:seconds`, `hours:minutes:seconds`, `days-hours[:minutes[:seconds]]`.
    package static func isTime(_ s: String) -> Bool {
        let parts = s.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count <= 2, !s.isEmpty else { return false }
        if parts.count == 2 && Int(parts[0]) == nil { return false }
        let clock = parts.last!.split(separator: ":", omittingEmptySubsequences: false)
        return clock.count <= 3 && clock.allSatisfy { !$0.isEmpty && $0.allSatisfy(\.isNumber) }
    }

    package static func isMemory(_ s: String) -> Bool {
        guard let last = s.last else { return false }
        let digits = "KMGT".contains(last) ? s.dropLast() : Substring(s)
        return !digits.isEmpty && digits.allSatisfy(\.isNumber) && digits.count <= 9
    }

    static func isModuleName(_ s: String) -> Bool {
        !s.isEmpty && s.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "_-./+".contains($0)) }
    }
}
