import SpikeSupport

/// A label list in the `#sample #class` format of the N-MNIST subsets (e.g. `train1K.txt`):
/// an optional header line starting with `#`, then one `<sample> <class>` pair per line,
/// separated by tabs or spaces. Sample `17` names the file `17.bs2`.
package struct LabelList: Sendable, Equatable {
    /// (sample, label, line number) in file order.
    package var entries: [(sample: String, label: UInt8, line: Int)]

    package static func == (a: LabelList, b: LabelList) -> Bool {
        a.entries.elementsEqual(b.entries) { $0.sample == $1.sample && $0.label == $1.label && $0.line == $1.line }
    }

    /// Parses the list; errors name the file and line.
    package init(text: String, path: String) throws {
        entries = []
        var seen: [String: Int] = [:]
        for (index, rawLine) in text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }).enumerated() {
            let lineNumber = index + 1
            let line = rawLine.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false)[0]
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" })
            if fields.isEmpty { continue }
            guard fields.count == 2 else {
                throw FileError.atLine(path, lineNumber, "expected '<sample> <class>', got '\(rawLine.prefix(60))'")
            }
            let sample = String(fields[0])
            guard let label = Int(fields[1]) else {
                throw FileError.atLine(path, lineNumber, "class '\(fields[1])' of sample \(sample) is not a number")
            }
            guard (0...9).contains(label) else {
                throw FileError.atLine(path, lineNumber, "class \(label) of sample \(sample) is outside 0-9")
            }
            if let earlier = seen[sample] {
                throw FileError.atLine(path, lineNumber, "sample \(sample) is listed twice (first on line \(earlier))")
            }
            seen[sample] = lineNumber
            entries.append((sample, UInt8(label), lineNumber))
        }
        guard !entries.isEmpty else { throw FileError(path: path, "label list has no entries") }
    }
}
