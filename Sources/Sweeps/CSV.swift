/// Minimal RFC 4180 CSV: fields with commas, quotes or newlines are quoted, quotes doubled.
package enum CSV {
    package static func escape(_ field: String) -> String {
        guard field.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return field }
        return "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    package static func line(_ fields: [String]) -> String {
        fields.map(escape).joined(separator: ",") + "\n"
    }

    /// Parses complete records. A final record without its terminating newline (a write cut
    /// short by a crash) is returned separately as `partialTail`, never as a record.
    package static func parse(_ text: String) -> (records: [[String]], partialTail: String?) {
        var records: [[String]] = []
        var field = "", fields: [String] = []
        var inQuotes = false, fieldStarted = false
        var recordStart = text.startIndex
        var i = text.startIndex
        while i < text.endIndex {
            let c = text[i]
            if inQuotes {
                if c == "\"" {
                    let next = text.index(after: i)
                    if next < text.endIndex && text[next] == "\"" { field.append("\""); i = next } else { inQuotes = false }
                } else {
                    field.append(c)
                }
            } else if c == "\"" && !fieldStarted {
                inQuotes = true
                fieldStarted = true
            } else if c == "," {
                fields.append(field); field = ""; fieldStarted = false
            } else if c == "\n" || c == "\r\n" {
                fields.append(field); field = ""; fieldStarted = false
                records.append(fields); fields = []
                recordStart = text.index(after: i)
            } else {
                field.append(c); fieldStarted = true
            }
            i = text.index(after: i)
        }
        let tail = recordStart < text.endIndex ? String(text[recordStart...]) : nil
        return (records, tail)
    }
}
