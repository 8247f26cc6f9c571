import HSDBCore

extension Collection {
    /// The prefetches' hits (their union) scored by `formula`, best first (ties by id), at
    /// most `limit`, none under `threshold`. A point deleted since its prefetch ran is left
    /// out. Any point the formula cannot score fails the whole query (`FormulaError`), as in
    /// Qdrant.
    func rescore(_ lists: [ScoreFusion.Ranked], by formula: Formula, limit: Int, threshold: Float?) throws -> [ScoredPoint] {
        let scores = lists.map { list in Dictionary(list.hits.map { ($0.id, $0.score) }, uniquingKeysWith: { a, _ in a }) }
        var seen = Set<PointID>()
        let ids = lists.flatMap { $0.hits.map(\.id) }.filter { seen.insert($0).inserted }
        guard !ids.isEmpty else { return [] }
        let records = try get(ids: ids, projection: Projection(withVector: false, withPayload: formula.readsPayload))
        let matching = try conditionMatches(formula.conditions, among: ids)
        var hits: [ScoredPoint] = []
        for r in records {
            let inputs = Formula.Inputs(scores: scores.map { $0[r.id] }, payload: r.payload ?? [:]) { c in
                matching.first { $0.condition == c }?.ids.contains(r.id) ?? false
            }
            let score = try formula.score(inputs)
            if let threshold, score < threshold { continue }
            hits.append(ScoredPoint(id: r.id, version: r.version, score: score, vector: nil, payload: nil))
        }
        hits.sort { $0.score != $1.score ? $0.score > $1.score : $0.id < $1.id }
        return Array(hits.prefix(limit))
    }

    /// For each condition, the points among `ids` satisfying it, found as a filter would find
    /// them (payload indexes, text tokens and vectors included).
    private func conditionMatches(_ conditions: [Condition], among ids: [PointID]) throws -> [(condition: Condition, ids: Set<PointID>)] {
        var found: [(condition: Condition, ids: Set<PointID>)] = []
        for c in conditions where !found.contains(where: { $0.condition == c }) {
            found.append((c, Set(try self.ids(matching: Filter(must: [.hasID(ids), c])))))
        }
        return found
    }
}
