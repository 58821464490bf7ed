import SpikeEvents
import SpikeSupport
import Testing

@Suite struct FoldsTests {
    static let labels: [UInt8] = (0..<103).map { UInt8(($0 * 7 + $0 / 10) % 10) }

    @Test func everyFoldGetsItsShareOfEveryClass() throws {
        let folds = try StratifiedFolds(labels: Self.labels, folds: 5, seed: 1)
        for c in 0..<10 {
            let members = Self.labels.indices.filter { Self.labels[$0] == UInt8(c) }
            let perFold = (0..<5).map { f in members.filter { folds.assignment[$0] == f }.count }
            #expect(perFold.max()! - perFold.min()! <= 1, "class \(c): \(perFold)")
        }
        let sizes = (0..<5).map { folds.validationIndices(fold: $0).count }
        #expect(sizes.max()! - sizes.min()! <= 1)
        #expect(sizes.reduce(0, +) == Self.labels.count)
        for f in 0..<5 {
            #expect(Set(folds.trainingIndices(fold: f)).isDisjoint(with: folds.validationIndices(fold: f)))
            #expect(folds.trainingIndices(fold: f).count + folds.validationIndices(fold: f).count == Self.labels.count)
        }
    }

    @Test func deterministicFromTheSeedAlone() throws {
        let a = try StratifiedFolds(labels: Self.labels, folds: 5, seed: 1)
        let b = try StratifiedFolds(labels: Self.labels, folds: 5, seed: 1)
        let c = try StratifiedFolds(labels: Self.labels, folds: 5, seed: 2)
        #expect(a == b)
        #expect(a.assignment != c.assignment)
    }

    @Test func rejectsImpossibleFoldCounts() {
        #expect(throws: ToolError.self) { try StratifiedFolds(labels: Self.labels, folds: 1, seed: 1) }
        #expect(throws: ToolError.self) { try StratifiedFolds(labels: [1, 2], folds: 3, seed: 1) }
    }
}
