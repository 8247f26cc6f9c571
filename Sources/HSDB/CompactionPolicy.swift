/// Which segments to merge: size-tiered. Segments fall in tiers by live points (tier k holds
/// 4^k x base points and up); when a tier holds `fanIn` segments they are merged into one of
/// the next tier, so each point is rewritten about log4(N / base) times over its life. A
/// segment more than half dead is rewritten alone, so deleted points do not linger.
public struct CompactionPolicy: Sendable, Equatable {
    public var fanIn = 4
    public var basePoints = 1024
    public var maxMergedPoints = 2_000_000
    public var deadRatioToRewrite = 0.5
    /// Off: segments are merged only by `Collection.compact()`.
    public var enabled = true

    public init() {}

    struct Candidate {
        let index: Int
        let live: Int
        let total: Int
    }

    /// Indexes (into `segments`) of the segments to merge next, or [] for none. Prefers the
    /// smallest tier (cheapest merge).
    func pick(_ segments: [Candidate]) -> [Int] {
        guard enabled else { return [] }
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

    private func deadRatio(_ c: Candidate) -> Double { Double(c.total - c.live) / Double(c.total) }

    func tier(of points: Int) -> Int {
        var t = 0
        var bound = basePoints * 4
        while points >= bound { t += 1; bound *= 4 }
        return t
    }
}
