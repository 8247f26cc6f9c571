/// Which segments to merge. First indexing: flushes write no graph when compaction is on, and
/// once the segments without one hold enough points for a graph they are merged into the
/// largest segment that has one (carrying its graph), so each point is inserted into a graph
/// about once, as in a single index, and the collection keeps few graphs. Then size tiers:
/// segments fall in tiers by live points (tier k holds 4^k x base points and up); when a tier
/// holds `fanIn` segments they are merged into one of the next tier, so each point is
/// rewritten about log4(N / base) times over its life. A segment more than half dead is
/// rewritten alone, so deleted points do not linger.
public struct CompactionPolicy: Sendable, Equatable {
    public var fanIn = 4
    public var basePoints = 1024
    public var maxMergedPoints = 2_000_000
    /// A segment with a graph takes in points without one only while it holds at most this
    /// many times their number: rewriting it costs its size, inserting them costs theirs, so
    /// this bounds what each inserted point costs in copying (a larger host is left alone and
    /// the points get a graph of their own).
    public var maxHostRatio = 32
    public var deadRatioToRewrite = 0.5
    /// Off: segments are merged only by `Collection.compact()`.
    public var enabled = true

    public init() {}

    struct Candidate {
        let index: Int
        let live: Int
        let total: Int
        var hasGraph = false
    }

    /// Indexes (into `segments`) of the segments to merge next, or [] for none: segments
    /// without a graph once they hold `minGraphPoints`, else the smallest full tier (cheapest
    /// merge), else a mostly dead segment.
    func pick(_ segments: [Candidate], minGraphPoints: Int = .max) -> [Int] {
        guard enabled else { return [] }
        if let indexing = pickIndexing(segments, minGraphPoints: minGraphPoints) { return indexing }
        var tiers: [Int: [Candidate]] = [:]
        for s in segments { tiers[tier(of: s.live), default: []].append(s) }
        for t in tiers.keys.sorted() {
            let members = tiers[t]!.sorted { $0.live < $1.live }
            guard members.count >= fanIn else { continue }
            var chosen: [Candidate] = []
            var total = 0
            for m in members where total + m.live <= maxMergedPoints {
                chosen.append(m)
                total += m.live
                if chosen.count == fanIn * 2 { break }
            }
            if chosen.count >= fanIn { return chosen.map(\.index) }
        }
        // No tier is full: rewrite the most dead segment, if it is mostly dead.
        let deadest = segments.filter { $0.total > 0 }.max { deadRatio($0) < deadRatio($1) }
        if let d = deadest, deadRatio(d) > deadRatioToRewrite { return [d.index] }
        return []
    }

    /// The segments without a graph (up to `maxMergedPoints` of them, smallest first) and the
    /// largest segment with a graph that may take them in, when they hold enough points for a
    /// graph of their own.
    private func pickIndexing(_ segments: [Candidate], minGraphPoints: Int) -> [Int]? {
        var fresh: [Candidate] = []
        var points = 0
        for s in segments.filter({ !$0.hasGraph && $0.live > 0 }).sorted(by: { $0.live < $1.live }) where points + s.live <= maxMergedPoints {
            fresh.append(s)
            points += s.live
        }
        guard points >= minGraphPoints else { return nil }
        let host = segments.filter { $0.hasGraph && $0.live + points <= maxMergedPoints && $0.live <= maxHostRatio * points }
            .max { $0.live < $1.live }
        return fresh.map(\.index) + (host.map { [$0.index] } ?? [])
    }

    private func deadRatio(_ c: Candidate) -> Double { Double(c.total - c.live) / Double(c.total) }

    func tier(of points: Int) -> Int {
        var t = 0
        var bound = basePoints * 4
        while points >= bound { t += 1; bound *= 4 }
        return t
    }
}
