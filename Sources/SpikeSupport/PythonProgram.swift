import Foundation

/// A Python program that ships inside the binary and runs with a Python the user names: the
/// side-by-side baselines of the benchmarks (snnTorch's training loop, tonic's framing). The
/// program is written to a temporary folder of its own (removed with the instance), which also
/// holds the data a run hands it; it answers with one JSON line on standard output, or with
/// `{"missing": MODULE}` when an import fails.
package final class PythonProgram {
    /// The Python, as found on PATH if given by name.
    package let pythonPath: String
    /// The temporary folder holding the program (and the data of a run).
    package let directory: URL
    private let fileName: String
    private let installHint: String
    private let environment: [String: String]

    /// Finds `python` (a path, or a name on PATH) and writes `program` as `fileName` into a new
    /// temporary folder named from `folderPrefix`. `installHint` is what a missing module's
    /// error suggests; `environment` is laid over this process's for every run.
    /// - Throws: `PythonProgramError` when the Python is not found or the folder cannot be written.
    package init(python: String, program: String, fileName: String, folderPrefix: String, installHint: String,
                 environment: [String: String] = [:]) throws {
        guard let path = Subprocess.which(python) else {
            throw PythonProgramError(message: python.contains("/") ? "\(python) is not an executable file"
                                                                   : "\(python) not found on PATH")
        }
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("\(folderPrefix)-\(getpid())-\(UUID().uuidString.prefix(8))")
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            try Data(program.utf8).write(to: directory.appendingPathComponent(fileName))
        } catch {
            try? FileManager.default.removeItem(at: directory)
            throw PythonProgramError(message: "cannot write the program to \(directory.path): \(error.localizedDescription)")
        }
        pythonPath = path
        self.directory = directory
        self.fileName = fileName
        self.installHint = installHint
        self.environment = ["PYTHONDONTWRITEBYTECODE": "1"].merging(environment) { _, given in given }
    }

    deinit { removeFiles() }

    /// Removes the temporary folder (also done when the instance is released).
    package func removeFiles() {
        try? FileManager.default.removeItem(at: directory)
    }

    /// Runs the program with `arguments` and decodes the JSON line it printed last (snake_case
    /// keys). `what` names the run in errors.
    /// - Throws: `PythonProgramError` naming the Python and the problem (a missing module with
    ///   the install hint, a non-zero exit with the last line of its standard error, no answer).
    package func run<T: Decodable>(_ arguments: [String], what: String) throws -> T {
        let result: Subprocess.Result
        do {
            result = try Subprocess.run(URL(fileURLWithPath: pythonPath),
                                        [directory.appendingPathComponent(fileName).path] + arguments,
                                        environment: environment)
        } catch {
            throw PythonProgramError(message: "cannot run \(pythonPath): \(error.localizedDescription)")
        }
        let line = Data((result.stdout.split(whereSeparator: \.isNewline).last.map(String.init) ?? "").utf8)
        if let missing = try? JSONDecoder().decode(Missing.self, from: line) {
            throw PythonProgramError(message: "\(pythonPath) has no module \(missing.missing) (\(installHint))")
        }
        guard result.status == 0 else {
            let lastError = result.stderr.split(whereSeparator: \.isNewline).last.map(String.init)
            throw PythonProgramError(message: "\(pythonPath) failed when \(what) (exit status \(result.status))"
                                     + (lastError.map { ": \($0)" } ?? ""))
        }
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        guard let answer = try? decoder.decode(T.self, from: line) else {
            throw PythonProgramError(message: "\(pythonPath) gave no answer when \(what) (is it Python 3?); its last line: "
                                     + String(decoding: line.prefix(200), as: UTF8.self))
        }
        return answer
    }

    /// Writes `values` little-endian to `url`, as the programs read their arrays.
    package static func writeLittleEndian<T: FixedWidthInteger>(_ values: [T], to url: URL) throws {
        try values.map(\.littleEndian).withUnsafeBytes { Data($0) }.write(to: url)
    }

    /// What a program prints when an import fails.
    private struct Missing: Decodable {
        var missing: String
    }
}

/// A baseline program could not run: one line naming the Python and the problem.
package struct PythonProgramError: UserFacingError, Sendable, Equatable {
    package var message: String
    package var description: String { message }

    package init(message: String) { self.message = message }

    /// `body`, with a baseline program's error put as a problem of the command-line `option`
    /// that named the Python: one line, "OPTION: problem".
    package static func naming<T>(option: String, _ body: () throws -> T) throws -> T {
        do { return try body() } catch let error as PythonProgramError {
            throw ToolError("\(option): \(error.message)")
        }
    }
}
