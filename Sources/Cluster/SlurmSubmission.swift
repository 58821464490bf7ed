import Foundation
import SlurmFiles
import SpikeEvents
import SpikeSupport
import Sweeps

/// How a sweep runs on Slurm: an array whose element i takes the tasks with index ≡ i
/// (mod N), or one MPI job.
package enum SlurmMode: String, Codable, Sendable, CaseIterable { case array, mpi }

/// What was submitted for a results folder, kept in `results/<name>/slurm/submission.json`
/// so that `slurm status` and `slurm resubmit` know the jobs and the exact arguments.
package struct SlurmSubmission: Codable, Sendable, Equatable {
    package struct Job: Codable, Sendable, Equatable {
        /// "array", "mpi" or "collect".
        package var kind: String
        package var id: String
        /// Array jobs: the first element this job's index 0 stands for.
        package var offset: Int?
        /// Array jobs: the elements it runs.
        package var elements: [Int]?
        package var submitted: String
        /// The rung a halving sweep's array or collect job is for (0-based), nil otherwise.
        package var rung: Int?
    }

    package var mode: SlurmMode
    /// Elements of the array (of rung 0's array in a halving sweep).
    package var arraySize: Int
    /// A halving sweep in array mode: the elements of each rung's array (one array job per
    /// rung, each after the previous rung's collect); nil otherwise.
    package var rungArraySizes: [Int]?
    /// Elements per array job: the cluster's MaxArraySize (larger arrays are split).
    package var chunk: Int
    package var throttle: Int?
    package var binary: String
    /// The sweep's frozen spec (`results/<name>/spec.yaml`).
    package var spec: String
    package var resultsRoot: String
    package var resultsDirectory: String
    package var workingDirectory: String
    package var jobName: String
    package var jobs: [Job]

    static func url(_ resultsDirectory: URL) -> URL {
        resultsDirectory.appendingPathComponent("slurm/submission.json")
    }

    package static func load(resultsDirectory: URL) throws -> SlurmSubmission {
        let url = url(resultsDirectory)
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw ToolError("\(url.path): no Slurm submission recorded here (submit with `spikesweep slurm submit`)")
        }
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        do { return try decoder.decode(SlurmSubmission.self, from: data) } catch {
            throw ToolError("\(url.path): unreadable submission record (\(error.localizedDescription))")
        }
    }

    func save() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        try AtomicFile.write(Array(try encoder.encode(self)) + [10], to: Self.url(URL(fileURLWithPath: resultsDirectory)).path)
    }

    var scriptsDirectory: URL { URL(fileURLWithPath: resultsDirectory).appendingPathComponent("slurm") }
    var logsDirectory: URL { scriptsDirectory.appendingPathComponent("logs") }

    /// The log of array element `element` run by job `job`.
    package func logPath(element: Int, job: Job) -> String {
        logsDirectory.appendingPathComponent("array-\(job.id)_\(element - (job.offset ?? 0)).out").path
    }

    /// The newest array job that ran `element`.
    /// A halving sweep's array jobs are per rung: `rung` picks that rung's (nil for a plain sweep).
    package func latestJob(element: Int, rung: Int? = nil) -> Job? {
        jobs.last { $0.kind == "array" && $0.rung == rung && ($0.elements ?? []).contains(element) }
    }

    /// `sbatch` arguments for array elements `elements` (all in one chunk), or for the MPI job;
    /// `retryFailed` makes the sweep run tasks with a failed result again.
    /// `size`: the array's element count (`arraySize`, or a halving rung's); `after`: job ids
    /// that must end successfully first (a halving rung's array waits for the previous collect).
    func sweepArguments(elements: [Int]?, retryFailed: Bool = false, size: Int? = nil, after: [String] = []) -> [String] {
        var args = ["--parsable", "--job-name=\(jobName)", "--chdir=\(workingDirectory)"]
        if !after.isEmpty { args.append("--dependency=afterok:" + after.joined(separator: ":")) }
        switch mode {
        case .array:
            let elements = elements ?? []
            let offset = (elements.first ?? 0) / chunk * chunk
            var list = Collector.indexList(elements.map { $0 - offset })
            if let throttle { list += "%\(throttle)" }
            args += ["--output=\(Self.pattern(logsDirectory.path))/array-%A_%a.out", "--array=\(list)",
                     scriptsDirectory.appendingPathComponent("array.sbatch").path,
                     binary, spec, resultsRoot, String(size ?? arraySize), String(offset)] + (retryFailed ? ["retry-failed"] : [])
        case .mpi:
            args += ["--output=\(Self.pattern(logsDirectory.path))/mpi-%j.out",
                     scriptsDirectory.appendingPathComponent("mpi.sbatch").path, binary, spec, resultsRoot]
                + (retryFailed ? ["retry-failed"] : [])
        }
        return args
    }

    func collectArguments(after jobIDs: [String]) -> [String] {
        ["--parsable", "--job-name=\(jobName)-collect", "--chdir=\(workingDirectory)",
         "--output=\(Self.pattern(logsDirectory.path))/collect-%j.out",
         "--dependency=afterany:" + jobIDs.joined(separator: ":"),
         scriptsDirectory.appendingPathComponent("collect.sbatch").path, binary, resultsDirectory]
    }

    /// A path as a literal part of an sbatch file-name pattern (`%` doubled).
    static func pattern(_ path: String) -> String { path.replacingOccurrences(of: "%", with: "%%") }

    /// Groups elements by the array job (chunk) they belong to.
    func chunks(of elements: [Int]) -> [[Int]] {
        Dictionary(grouping: Set(elements).sorted(), by: { $0 / chunk }).sorted { $0.key < $1.key }.map { $0.value.sorted() }
    }
}

/// The generated batch scripts: the templates of `slurm/` with the profile's `#SBATCH` and
/// `module load` lines. Nothing from the spec appears in them.
package enum SlurmScripts {
    package static func array(_ p: SlurmProfile) -> String {
        render(SlurmFiles.arrayScript, [
            "--partition=\(p.partition)", "--time=\(p.time)", "--ntasks=1", "--cpus-per-task=\(p.cpusPerTask)",
            "--mem=\(p.mem)", "--signal=B:USR1@\(p.signalSeconds)", "--requeue", "--open-mode=append",
        ], modules: p.modules)
    }

    package static func mpi(_ p: SlurmProfile) -> String {
        render(SlurmFiles.mpiScript, [
            "--partition=\(p.partition)", "--time=\(p.time)", "--ntasks=\(p.ntasks)", "--cpus-per-task=1",
            "--mem-per-cpu=\(p.mem)", "--signal=B:USR1@\(p.signalSeconds)", "--requeue", "--open-mode=append",
        ], modules: p.modules)
    }

    package static func collect(_ p: SlurmProfile) -> String {
        render(SlurmFiles.collectScript, [
            "--partition=\(p.collectPartition)", "--time=\(p.collectTime)", "--ntasks=1", "--cpus-per-task=1", "--mem=1G",
        ], modules: p.modules)
    }

    static func render(_ template: String, _ options: [String], modules: [String]) -> String {
        let sbatch = options.map { "#SBATCH \($0)" }.joined(separator: "\n")
        let moduleLines = modules.isEmpty
            ? "# (this profile loads no modules)"
            : "if command -v module >/dev/null 2>&1; then\n  module load " + modules.map(Shell.quote).joined(separator: " ") + "\nfi"
        return template.replacingOccurrences(of: "#@SBATCH_LINES@", with: sbatch)
            .replacingOccurrences(of: "#@MODULE_LINES@", with: moduleLines)
    }
}

/// The Slurm commands SpikeSweep uses: `sbatch`, `scontrol`, `squeue` (no accounting database).
package enum Slurm {
    /// Submits with `sbatch --parsable …` and returns the job id.
    package static func sbatch(_ arguments: [String]) throws -> String {
        let run = try ProgramRun.run("sbatch", arguments)
        guard run.status == 0 else { throw ToolError("sbatch failed: \(run.message)") }
        let line = run.stdout.split(whereSeparator: \.isNewline).last.map(String.init) ?? ""
        let id = String(line.split(separator: ";").first ?? "")
        guard !id.isEmpty, id.allSatisfy(\.isNumber) else { throw ToolError("sbatch printed no job id: '\(run.message)'") }
        return id
    }

    /// `MaxArraySize` from `scontrol show config` (array indices must be below it).
    package static func maxArraySize() throws -> Int {
        let run = try ProgramRun.run("scontrol", ["show", "config"])
        guard run.status == 0 else { throw ToolError("scontrol show config failed: \(run.message)") }
        guard let value = parseConfig(run.stdout)["MaxArraySize"], let size = Int(value), size >= 1 else {
            throw ToolError("scontrol show config gave no MaxArraySize")
        }
        return size
    }

    /// `Key = Value` lines of `scontrol show config`.
    package static func parseConfig(_ text: String) -> [String: String] {
        var config: [String: String] = [:]
        for line in text.split(whereSeparator: \.isNewline) {
            guard let eq = line.firstIndex(of: "=") else { continue }
            config[line[..<eq].trimmingCharacters(in: .whitespaces)] = line[line.index(after: eq)...].trimmingCharacters(in: .whitespaces)
        }
        return config
    }

    /// One line of `squeue`.
    package struct QueueEntry: Sendable, Equatable {
        /// `123` or, for array elements, `123_4`.
        package var id: String
        package var state: String
        package var elapsed: String
        package var reason: String
    }

    /// This user's pending and running jobs, array elements one per line.
    package static func queue() throws -> [QueueEntry] {
        let run = try ProgramRun.run("squeue", ["-h", "-r", "-u", String(getuid()), "-o", "%i|%T|%M|%r"])
        guard run.status == 0 else { throw ToolError("squeue failed: \(run.message)") }
        return parseQueue(run.stdout)
    }

    package static func parseQueue(_ text: String) -> [QueueEntry] {
        text.split(whereSeparator: \.isNewline).compactMap { line in
            let f = line.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
            return f.count == 4 ? QueueEntry(id: f[0], state: f[1], elapsed: f[2], reason: f[3]) : nil
        }
    }

    /// `scontrol show job -o ID` as key/value pairs, or nil once Slurm has forgotten the job.
    package static func job(_ id: String) throws -> [String: String]? {
        let run = try ProgramRun.run("scontrol", ["show", "job", "-o", id])
        guard run.status == 0 else { return nil }
        var fields: [String: String] = [:]
        for word in run.stdout.split(whereSeparator: { $0 == " " || $0.isNewline }) {
            guard let eq = word.firstIndex(of: "=") else { continue }
            let key = String(word[..<eq])
            if fields[key] == nil { fields[key] = String(word[word.index(after: eq)...]) }
        }
        return fields
    }
}
