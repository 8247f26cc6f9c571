/// A graph node with its distance to the query (smaller is nearer).
public struct Candidate: Sendable, Equatable {
    public var distance: Float
    public var node: UInt32

    @inline(__always)
    public init(distance: Float, node: UInt32) {
        self.distance = distance
        self.node = node
    }
}

/// A binary max-heap of candidates by distance: `top` is the farthest. Used as the bounded
/// result set of a search; with negated distances it serves as the nearest-first queue.
struct CandidateHeap {
    private(set) var items: [Candidate] = []

    init(capacity: Int) { items.reserveCapacity(capacity) }

    var count: Int { items.count }
    var isEmpty: Bool { items.isEmpty }
    var top: Candidate { items[0] }

    @inline(__always)
    mutating func push(_ c: Candidate) {
        items.append(c)
        var i = items.count - 1
        while i > 0 {
            let parent = (i - 1) >> 1
            guard items[parent].distance < items[i].distance else { break }
            items.swapAt(parent, i)
            i = parent
        }
    }

    @inline(__always)
    @discardableResult
    mutating func pop() -> Candidate {
        let result = items[0]
        let last = items.removeLast()
        if !items.isEmpty {
            items[0] = last
            var i = 0
            let n = items.count
            while true {
                let l = 2 * i + 1, r = l + 1
                var largest = i
                if l < n, items[l].distance > items[largest].distance { largest = l }
                if r < n, items[r].distance > items[largest].distance { largest = r }
                if largest == i { break }
                items.swapAt(i, largest)
                i = largest
            }
        }
        return result
    }

    mutating func removeAll() { items.removeAll(keepingCapacity: true) }

    /// The items, nearest first.
    func sortedNearestFirst() -> [Candidate] { items.sorted { $0.distance < $1.distance } }
}

/// Which nodes a search has seen: one stamp per node, so clearing is O(1) (a new generation).
public struct VisitedSet: Sendable {
    private var stamps: [UInt32]
    private var generation: UInt32 = 0
    private var bits: [UInt64] = []

    public init(count: Int) { stamps = [UInt32](repeating: 0, count: count) }

    public mutating func reset(count: Int) {
        if stamps.count < count { stamps = [UInt32](repeating: 0, count: count); generation = 0 }
        generation &+= 1
        if generation == 0 {  // wrapped: old stamps could alias
            for i in stamps.indices { stamps[i] = 0 }
            generation = 1
        }
    }

    /// A zeroed bitset of `count` bits for a native search to mark visited nodes in (a bit per
    /// node stays in cache where a stamp per node does not).
    public mutating func withBits<R>(count: Int, _ body: (UnsafeMutablePointer<UInt64>) -> R) -> R {
        let words = max((count + 63) / 64, 1)
        if bits.count < words { bits = [UInt64](repeating: 0, count: words) } else { bits.withUnsafeMutableBufferPointer { $0.update(repeating: 0) } }
        return bits.withUnsafeMutableBufferPointer { body($0.baseAddress!) }
    }

    /// Marks `node`; returns false if it was already marked in this generation.
    @inline(__always)
    public mutating func insert(_ node: UInt32) -> Bool {
        stamps.withUnsafeMutableBufferPointer { s in
            if s[Int(node)] == generation { return false }
            s[Int(node)] = generation
            return true
        }
    }
}
