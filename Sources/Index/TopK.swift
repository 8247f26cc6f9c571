/// Keeps the `k` best (score, item) pairs seen, as a binary heap whose root is the worst kept.
/// "Best" follows the metric: larger scores for similarities, smaller for distances.
/// Inlinable, so callers in other modules get it specialized for their item type (generic
/// calls through witness tables cost more than the comparisons on a hot path).
public struct TopK<Item> {
    public let k: Int
    public let higherIsBetter: Bool
    @usableFromInline var heap: [(score: Float, item: Item)] = []

    @inlinable
    public init(k: Int, higherIsBetter: Bool) {
        self.k = k
        self.higherIsBetter = higherIsBetter
        heap.reserveCapacity(k)
    }

    @inlinable @inline(__always)
    func better(_ a: Float, _ b: Float) -> Bool { higherIsBetter ? a > b : a < b }

    /// The score a candidate must beat to enter, once full.
    @inlinable
    public var threshold: Float? { heap.count == k ? heap[0].score : nil }

    /// Whether `score` would enter now.
    @inlinable @inline(__always)
    public func accepts(_ score: Float) -> Bool { k > 0 && (heap.count < k || better(score, heap[0].score)) }

    @inlinable
    public mutating func insert(_ score: Float, _ item: @autoclosure () -> Item) {
        guard k > 0 else { return }
        if heap.count < k {
            heap.append((score, item()))
            siftUp(heap.count - 1)
        } else if better(score, heap[0].score) {
            heap[0] = (score, item())
            siftDown(0)
        }
    }

    /// The kept pairs, best first.
    @inlinable
    public func sorted() -> [(score: Float, item: Item)] {
        heap.sorted { better($0.score, $1.score) }
    }

    @inlinable
    mutating func siftUp(_ index: Int) {
        var i = index
        while i > 0 {
            let parent = (i - 1) / 2
            guard better(heap[parent].score, heap[i].score) else { return }  // worst stays at the root
            heap.swapAt(parent, i)
            i = parent
        }
    }

    @inlinable
    mutating func siftDown(_ index: Int) {
        var i = index
        while true {
            let l = 2 * i + 1, r = l + 1
            var worst = i
            if l < heap.count, better(heap[worst].score, heap[l].score) { worst = l }
            if r < heap.count, better(heap[worst].score, heap[r].score) { worst = r }
            if worst == i { return }
            heap.swapAt(i, worst)
            i = worst
        }
    }
}
