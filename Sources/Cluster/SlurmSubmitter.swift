import Foundation
import SpikeEvents
import SpikeSupport
import Sweeps

/// What `slurm submit` and `slurm resubmit` did (or, dry, would do).
package struct SlurmSubmitReport: Sendable {
    package var submission: SlurmSubmission
    /// Every `sbatch` argument vector, in submission order (the collect job last).
    package var commands: [[String]]
    /// Job ids, parallel to `commands` (empty for a dry run).
    package var jobIDs: [String]
    /// Elements submitted (array mode).
    package var elements: [Int]
    package var notes: [String]
}

/// Options of `spikesweep slurm submit`.
package struct SlurmSubmitOptions: Sendable {
    package var specPath: String
    package var resultsRoot: URL
    package var mode: SlurmMode
    package var profile: SlurmProfile
    package var arraySize: Int?
    package var throttle: Int?
    package var ntasks: Int?
    package var dryRun = false
    package var fresh = false
    /// Submit a sweep of more than `SweepSpec.taskLimit` tasks.
    package var allowLarge = false
    /// The `spikesweep` binary the jobs run.
    package var binary: String

    package init(specPath: String, resultsRoot: URL, mode: SlurmMode, profile: SlurmProfile, binary: String) {
        self.specPath = specPath
        self.resultsRoot = resultsRoot
        self.mode = mode
        self.profile = profile
        self.binary = binary
    }
}

/// Writes a sweep's batch scripts under `results/<name>/slurm/` and submits them: the array
/// (split into jobs of at most `MaxArraySize` elements) or the MPI job, then a collect job with
/// `--dependency=afterany:` on all of them (`afterok` would wait forever after one failure).
package enum SlurmSubmitter {
    package static func submit(_ o: SlurmSubmitOptions) throws -> SlurmSubmitReport {
        let session = try SweepSession(specPath: o.specPath, resultsRoot: o.resultsRoot.standardizedFileURL.absoluteURL,
                                       allowLarge: o.allowLarge)
        let directory = session.directory
        do { _ = try session.openStore(fresh: o.fresh) }  // manifest and frozen spec; released at once
        let previous = try? SlurmSubmission.load(resultsDirectory: directory)
        if let previous, !o.dryRun {
            try refuseIfQueued(previous, elements: nil)
        }
        var notes: [String] = []
        let chunk: Int
        do { chunk = try Slurm.maxArraySize() } catch where o.dryRun {
            chunk = 1001
            notes.append("could not ask the cluster for MaxArraySize (\(error)); assuming 1001")
        }
        let plan = session.plan
        let tasks = plan.isHalving ? plan.rungs[0].configurations * plan.spec.folds : plan.tasks.count
        let arraySize = o.mode == .array ? min(o.arraySize ?? o.profile.arraySize, tasks) : 1
        if o.mode == .array, let asked = o.arraySize, asked > tasks {
            notes.append("--array-size \(asked) is more than the \(tasks) tasks; using \(tasks) elements")
        }
        var profile = o.profile
        if let ntasks = o.ntasks { profile.ntasks = ntasks }
        let scripts = directory.appendingPathComponent("slurm")
        let fm = FileManager.default
        do { try fm.createDirectory(at: scripts.appendingPathComponent("logs"), withIntermediateDirectories: true) } catch {
            throw ToolError("cannot create \(scripts.path)/logs: \(error.localizedDescription)")
        }
        let script = o.mode == .array ? ("array.sbatch", SlurmScripts.array(profile)) : ("mpi.sbatch", SlurmScripts.mpi(profile))
        for (name, text) in [script, ("collect.sbatch", SlurmScripts.collect(profile))] {
            let path = scripts.appendingPathComponent(name).path
            try AtomicFile.write(Array(text.utf8), to: path)
            chmod(path, 0o755)
        }
        let safeName = String(session.spec.name.map { $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) ? $0 : "_" })
        let rungArraySizes = o.mode == .array && plan.isHalving
            ? plan.rungs.map { min(arraySize, $0.configurations * plan.spec.folds) } : nil
        if let rungArraySizes {
            notes.append("successive halving: one array job per rung (\(rungArraySizes.map(String.init).joined(separator: ", ")) elements), "
                + "each starting after the previous rung's collect")
        }
        let submission = SlurmSubmission(
            mode: o.mode, arraySize: arraySize, rungArraySizes: rungArraySizes, chunk: chunk, throttle: o.throttle, binary: o.binary,
            spec: directory.appendingPathComponent("spec.yaml").path, resultsRoot: directory.deletingLastPathComponent().path,
            resultsDirectory: directory.path, workingDirectory: fm.currentDirectoryPath,
            jobName: "spikesweep-\(safeName)", jobs: previous?.jobs ?? [])
        if rungArraySizes != nil { return try sendRungs(submission, from: 0, dryRun: o.dryRun, notes: notes) }
        return try send(submission, elements: o.mode == .array ? Array(0..<arraySize) : [], dryRun: o.dryRun, notes: notes)
    }

    /// A halving sweep in array mode: for each rung from `first` on, its array job (after the
    /// previous rung's collect succeeded: that collect found the rung complete, so the next
    /// rung's tasks follow from the results) and its collect job (after the array, whatever
    /// its state).
    static func sendRungs(_ base: SlurmSubmission, from first: Int, retryFailed: Bool = false, dryRun: Bool,
                          notes: [String]) throws -> SlurmSubmitReport {
        var submission = base
        var commands: [[String]] = []
        var jobIDs: [String] = []
        let now = ISO8601DateFormatter().string(from: Date())
        let sizes = submission.rungArraySizes ?? []
        var previousCollect: String?
        for rung in first..<sizes.count {
            var arrayIDs: [String] = []
            for group in submission.chunks(of: Array(0..<sizes[rung])) {
                let after = rung == first ? [] : [previousCollect ?? "<collect of rung \(rung)>"]
                let args = submission.sweepArguments(elements: group, retryFailed: retryFailed && rung == first, size: sizes[rung], after: after)
                commands.append(args)
                guard !dryRun else { continue }
                let id = try Slurm.sbatch(args)
                arrayIDs.append(id)
                submission.jobs.append(.init(kind: "array", id: id, offset: (group.first ?? 0) / submission.chunk * submission.chunk,
                                             elements: group, submitted: now, rung: rung))
                try submission.save()
            }
            let collect = submission.collectArguments(after: dryRun ? ["<job ids>"] : arrayIDs)
            commands.append(collect)
            jobIDs += arrayIDs
            guard !dryRun else { continue }
            let id = try Slurm.sbatch(collect)
            jobIDs.append(id)
            previousCollect = id
            submission.jobs.append(.init(kind: "collect", id: id, offset: nil, elements: nil, submitted: now, rung: rung))
            try submission.save()
        }
        return SlurmSubmitReport(submission: submission, commands: commands, jobIDs: jobIDs,
                                 elements: Array(0..<(sizes.dropFirst(first).first ?? 0)), notes: notes)
    }

    /// Resubmits array elements (default: those with tasks to run), or the MPI job, with the
    /// arguments of the original submission, and a new collect job. Elements with nothing to
    /// run are left out; when nothing is left, nothing is submitted.
    /// - Parameter policy: which recorded tasks count as to run (`--retry-failed`: failed ones too).
    package static func resubmit(resultsDirectory: URL, elements requested: [Int]?, policy: RerunPolicy,
                                 dryRun: Bool) throws -> SlurmSubmitReport {
        let submission = try SlurmSubmission.load(resultsDirectory: resultsDirectory)
        if submission.mode == .mpi && requested != nil {
            throw ToolError("\(resultsDirectory.path) was submitted as one MPI job; --elements is for array mode")
        }
        if submission.rungArraySizes != nil {
            // A halving sweep goes on from the rung its results have reached, with every later rung.
            if requested != nil { throw ToolError("\(resultsDirectory.path) is a halving sweep: resubmit goes on from its current rung; --elements is for a plain array") }
            let plan = try SweepPlan.load(resultsDirectory: resultsDirectory)
            let latest = Leaderboard.latestOutcomes(try ResultsFiles.readAll(directory: resultsDirectory))
            let progress = plan.progress(latest: latest) { policy.skips(latest[$0.id]) }
            guard let rung = progress.current else {
                throw ToolError("\(resultsDirectory.path): \(policy.retryFailed ? "every task has an ok result" : "every rung is done"); nothing to resubmit")
            }
            if !dryRun { try refuseIfQueued(submission, elements: nil) }
            return try sendRungs(submission, from: rung, retryFailed: policy.retryFailed, dryRun: dryRun,
                                 notes: ["going on from rung \(rung + 1) of \(plan.rungs.count)"])
        }
        let toRun = try elementsToRun(resultsDirectory: resultsDirectory, arraySize: submission.mode == .array ? submission.arraySize : 1,
                                      policy: policy)
        let nothing = policy.retryFailed ? "every task has an ok result" : "every task has a result"
        guard !toRun.isEmpty else { throw ToolError("\(resultsDirectory.path): \(nothing); nothing to resubmit") }
        var elements: [Int] = []
        var notes: [String] = []
        if submission.mode == .array {
            if let requested {
                if let bad = requested.first(where: { $0 < 0 || $0 >= submission.arraySize }) {
                    throw ToolError("element \(bad) is not in the array (elements 0-\(submission.arraySize - 1))")
                }
                let asked = Array(Set(requested)).sorted()
                elements = asked.filter(toRun.contains)
                let idle = asked.filter { !toRun.contains($0) }
                guard !elements.isEmpty else {
                    throw ToolError("\(resultsDirectory.path): element\(idle.count == 1 ? "" : "s") \(Collector.indexList(idle)) "
                        + "ha\(idle.count == 1 ? "s" : "ve") nothing to run (\(nothing)); nothing to resubmit")
                }
                if !idle.isEmpty { notes.append("leaving out element\(idle.count == 1 ? "" : "s") \(Collector.indexList(idle)): nothing to run") }
            } else {
                elements = toRun
            }
        }
        if !dryRun { try refuseIfQueued(submission, elements: submission.mode == .array ? elements : nil) }
        return try send(submission, elements: elements, retryFailed: policy.retryFailed, dryRun: dryRun, notes: notes)
    }

    /// Elements (of `arraySize`) holding tasks that `policy` does not skip.
    package static func elementsToRun(resultsDirectory: URL, arraySize: Int, policy: RerunPolicy) throws -> [Int] {
        let plan = try SweepPlan.load(resultsDirectory: resultsDirectory)
        let latest = Leaderboard.latestOutcomes(try ResultsFiles.readAll(directory: resultsDirectory))
        return ArrayPartition(size: arraySize).elements(running: plan.tasks.filter { !policy.skips(latest[$0.id]) })
    }

    static func send(_ base: SlurmSubmission, elements: [Int], retryFailed: Bool = false, dryRun: Bool,
                     notes: [String]) throws -> SlurmSubmitReport {
        var submission = base
        var commands: [[String]] = []
        var jobIDs: [String] = []
        let now = ISO8601DateFormatter().string(from: Date())
        let groups = submission.mode == .array ? submission.chunks(of: elements) : [[]]
        for group in groups {
            let args = submission.sweepArguments(elements: submission.mode == .array ? group : nil, retryFailed: retryFailed)
            commands.append(args)
            guard !dryRun else { continue }
            let id = try Slurm.sbatch(args)
            jobIDs.append(id)
            submission.jobs.append(.init(kind: submission.mode.rawValue, id: id,
                                         offset: submission.mode == .array ? (group.first ?? 0) / submission.chunk * submission.chunk : nil,
                                         elements: submission.mode == .array ? group : nil, submitted: now))
            try submission.save()
        }
        let collect = submission.collectArguments(after: dryRun ? ["<job ids>"] : jobIDs)
        commands.append(collect)
        if !dryRun {
            let id = try Slurm.sbatch(collect)
            jobIDs.append(id)
            submission.jobs.append(.init(kind: "collect", id: id, offset: nil, elements: nil, submitted: now))
            try submission.save()
        }
        return SlurmSubmitReport(submission: submission, commands: commands, jobIDs: jobIDs, elements: elements, notes: notes)
    }

    /// Refuses to submit work that is still queued or running.
    static func refuseIfQueued(_ submission: SlurmSubmission, elements: [Int]?) throws {
        guard let queue = try? Slurm.queue() else { return }
        let active = Dictionary(queue.map { ($0.id, $0.state) }, uniquingKeysWith: { a, _ in a })
        var busy: [String] = []
        for job in submission.jobs where job.kind != "collect" {
            if let elements, let mine = job.elements {
                for e in mine where elements.contains(e) {
                    let id = "\(job.id)_\(e - (job.offset ?? 0))"
                    if let state = active[id] { busy.append("\(id) \(state)") }
                }
            } else if let state = active[job.id] ?? queue.first(where: { $0.id.hasPrefix(job.id + "_") })?.state {
                busy.append("\(job.id) \(state)")
            }
        }
        if !busy.isEmpty {
            throw ToolError("\(submission.resultsDirectory) still has jobs in the queue (\(busy.prefix(5).joined(separator: ", "))\(busy.count > 5 ? ", …" : "")); "
                + "wait for them (spikesweep slurm status) or scancel them first")
        }
    }
}
