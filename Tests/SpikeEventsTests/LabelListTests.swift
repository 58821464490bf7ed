import SpikeEvents
import SpikeSupport
import Testing

@Suite struct LabelListTests {
    @Test func parsesTheSubsetFormat() throws {
        let list = try LabelList(text: "#sample #class\n1\t5\n2 0\n\n10\t9\n", path: "train1K.txt")
        #expect(list.entries.map(\.sample) == ["1", "2", "10"])
        #expect(list.entries.map(\.label) == [5, 0, 9])
        #expect(list.entries.map(\.line) == [2, 3, 5])
    }

    @Test func acceptsWindowsLineEndings() throws {
        let list = try LabelList(text: "#sample #class\r\n1\t5\r\n2\t0\r\n", path: "train1K.txt")
        #expect(list.entries.map(\.label) == [5, 0])
        #expect(list.entries.map(\.line) == [2, 3])
    }

    @Test(arguments: [
        ("1\t5\n2\t10\n", "l.txt: line 2: class 10 of sample 2 is outside 0-9"),
        ("1\t5\n2\t-1\n", "l.txt: line 2: class -1 of sample 2 is outside 0-9"),
        ("1\t5\n2\n", "l.txt: line 2: expected '<sample> <class>', got '2'"),
        ("1\tfive\n", "l.txt: line 1: class 'five' of sample 1 is not a number"),
        ("1\t5\n1\t6\n", "l.txt: line 2: sample 1 is listed twice (first on line 1)"),
        ("#sample #class\n", "l.txt: label list has no entries"),
    ])
    func rejectsMalformedLists(_ text: String, _ expected: String) {
        let error = #expect(throws: FileError.self) { try LabelList(text: text, path: "l.txt") }
        #expect(error?.description == expected)
    }
}
