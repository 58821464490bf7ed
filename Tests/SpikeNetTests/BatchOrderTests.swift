import SpikeNet
import Testing

/// The bench's batch sequence, which spikesweep and the snnTorch baseline both follow.
@Suite struct BatchOrderTests {
    @Test func everyRecordingOncePerPassThenTheSameOrderAgain() {
        var order = BatchOrder(count: 10, batchSize: 4, seed: 1)
        let first = (0..<5).flatMap { _ in order.next() }  // 20 = two passes over 10 recordings
        #expect(Set(first[0..<10]) == Set(0..<10))
        #expect(Array(first[10..<20]) == Array(first[0..<10]))
        #expect(first[0..<10] != ArraySlice(0..<10), "not shuffled")
    }

    @Test func aRangeOfBatchesIsWhatNextReturnsThere() {
        var order = BatchOrder(count: 50, batchSize: 8, seed: 3)
        let sequence = (0..<12).map { _ in order.next() }
        #expect(BatchOrder.batches(count: 50, batchSize: 8, seed: 3, 2..<12) == Array(sequence[2..<12]))
        #expect(BatchOrder.batches(count: 50, batchSize: 8, seed: 4, 0..<1) != [sequence[0]])
    }

    @Test func aBatchIsNeverLargerThanTheSet() {
        var order = BatchOrder(count: 3, batchSize: 128, seed: 1)
        #expect(order.next().sorted() == [0, 1, 2])
    }
}
