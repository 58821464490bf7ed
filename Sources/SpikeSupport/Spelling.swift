/// "Did you mean …?" hints for misspelt keys and flags.
package enum Spelling {
    /// The candidate closest to `word` by edit distance, if it is close enough to be a likely
    /// misspelling (at most 2 edits, 3 for words of 6 letters or more).
    package static func nearest(to word: String, among candidates: [String]) -> String? {
        guard let near = candidates.min(by: { distance($0, word) < distance($1, word) }) else { return nil }
        return distance(near, word) <= (word.count >= 6 ? 3 : 2) ? near : nil
    }

    /// Levenshtein distance.
    package static func distance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previous = Array(0...b.count)
        for i in 1...a.count {
            var current = [i] + [Int](repeating: 0, count: b.count)
            for j in 1...b.count {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            previous = current
        }
        return previous[b.count]
    }
}
