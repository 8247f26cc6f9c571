import Foundation

/// The responses of one route with one status (and, when kept apart, one collection): what
/// Qdrant's `OperationDurationStatistics` reports in `/telemetry` and `/metrics` draws its
/// `rest_responses_*` families from. Merging two gives the statistics of both, so the
/// per-collection entries add up to the route's.
struct ResponseStatistics: Sendable, Equatable {
    /// Upper bounds of the duration histogram's buckets, in seconds (the last bucket, +Inf,
    /// is `count`).
    static let bucketBoundsSeconds: [Double] = [
        0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
    ]

    var count = 0
    var totalNanoseconds: UInt64 = 0
    var minNanoseconds = UInt64.max
    var maxNanoseconds: UInt64 = 0
    /// When the last response was sent, in seconds since 1970.
    var lastResponded: Double = 0
    /// Responses at or under each bound of `bucketBoundsSeconds` (not cumulative).
    var buckets = [Int](repeating: 0, count: bucketBoundsSeconds.count)

    /// One response of `nanoseconds`, sent at `respondedAt` (seconds since 1970).
    mutating func add(nanoseconds: UInt64, respondedAt: Double) {
        count += 1
        totalNanoseconds &+= nanoseconds
        minNanoseconds = min(minNanoseconds, nanoseconds)
        maxNanoseconds = max(maxNanoseconds, nanoseconds)
        lastResponded = max(lastResponded, respondedAt)
        let seconds = Double(nanoseconds) / 1e9
        if let b = Self.bucketBoundsSeconds.firstIndex(where: { seconds <= $0 }) { buckets[b] += 1 }
    }

    mutating func merge(_ other: ResponseStatistics) {
        count += other.count
        totalNanoseconds &+= other.totalNanoseconds
        minNanoseconds = min(minNanoseconds, other.minNanoseconds)
        maxNanoseconds = max(maxNanoseconds, other.maxNanoseconds)
        lastResponded = max(lastResponded, other.lastResponded)
        for b in buckets.indices { buckets[b] += other.buckets[b] }
    }

    /// The mean over every response since the start (Qdrant weighs its latest 128).
    var averageMicros: Double { count == 0 ? 0 : Double(totalNanoseconds) / Double(count) / 1000 }
    var minMicros: Double { count == 0 ? 0 : Double(minNanoseconds) / 1000 }
    var maxMicros: Double { Double(maxNanoseconds) / 1000 }
    var totalMicros: UInt64 { totalNanoseconds / 1000 }

    /// Cumulative counts per bucket bound, as Prometheus's `_bucket{le=...}` lines want them.
    var cumulativeBuckets: [Int] {
        var running = 0
        return buckets.map { running += $0; return running }
    }
}
