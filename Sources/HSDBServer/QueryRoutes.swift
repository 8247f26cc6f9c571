import HSDB
import HSDBCore
import Hummingbird
import Index

extension API {
    func registerQueries(on router: Router<Context>) {
        on(router, .post, "/collections/:collection/points/query") { request, context, start in
            let c = try collection(context)
            let q = try QueryRequest.query(try await body(request), naming: VectorNaming(c.config), maxResults: settings.maxResultPoints, available: c.count)
            let hits = try run(q, on: c)
            return Envelope.ok(since: start) { w in
                w.beginObject()
                w.key("points")
                writeHits(hits, q, to: &w)
                w.endObject()
            }
        }

        on(router, .post, "/collections/:collection/points/query/batch") { request, context, start in
            let c = try collection(context)
            let queries = try batch(try await body(request)) { f throws in try QueryRequest.query(f, naming: VectorNaming(c.config), maxResults: settings.maxResultPoints, available: c.count) }
            let results = try queries.map { try run($0, on: c) }
            return Envelope.ok(since: start) { w in
                w.beginArray()
                for (q, hits) in zip(queries, results) {
                    w.beginObject(); w.key("points"); writeHits(hits, q, to: &w); w.endObject()
                }
                w.endArray()
            }
        }

        on(router, .post, "/collections/:collection/points/search") { request, context, start in
            let c = try collection(context)
            let q = try QueryRequest.search(try await body(request), naming: VectorNaming(c.config), maxResults: settings.maxResultPoints, available: c.count)
            let hits = try run(q, on: c)
            return Envelope.ok(since: start) { w in writeHits(hits, q, to: &w) }
        }

        on(router, .post, "/collections/:collection/points/recommend") { request, context, start in
            let c = try collection(context)
            let q = try QueryRequest.recommend(try await body(request), naming: VectorNaming(c.config), maxResults: settings.maxResultPoints, available: c.count)
            let hits = try run(q, on: c)
            return Envelope.ok(since: start) { w in writeHits(hits, q, to: &w) }
        }

        on(router, .post, "/collections/:collection/points/recommend/batch") { request, context, start in
            let c = try collection(context)
            let queries = try batch(try await body(request)) { f throws in
                try QueryRequest.recommend(f, naming: VectorNaming(c.config), maxResults: settings.maxResultPoints, available: c.count)
            }
            let results = try queries.map { try run($0, on: c) }
            return Envelope.ok(since: start) { w in
                w.beginArray()
                for (q, hits) in zip(queries, results) { writeHits(hits, q, to: &w) }
                w.endArray()
            }
        }

        on(router, .post, "/collections/:collection/points/search/batch") { request, context, start in
            let c = try collection(context)
            let queries = try batch(try await body(request)) { f throws in try QueryRequest.search(f, naming: VectorNaming(c.config), maxResults: settings.maxResultPoints, available: c.count) }
            let results = try queries.map { try run($0, on: c) }
            return Envelope.ok(since: start) { w in
                w.beginArray()
                for (q, hits) in zip(queries, results) { writeHits(hits, q, to: &w) }
                w.endArray()
            }
        }
    }

    private func batch(_ body: JSONFields, _ decode: (JSONFields) throws -> QueryRequest) throws -> [QueryRequest] {
        guard let searches = try body.array("searches") else { throw APIError.format("missing field `searches`") }
        guard searches.count <= 1000 else { throw APIError.wrongInput("a batch holds \(searches.count) searches; the limit is 1000") }
        var result: [QueryRequest] = []
        for (i, s) in searches.enumerated() { result.append(try decode(try JSONFields(s, path: "searches[\(i)]"))) }
        return result
    }

    private func writeHits(_ hits: [ScoredPoint], _ q: QueryRequest, to w: inout JSONTextWriter) {
        w.beginArray()
        for hit in hits { RecordWriting.scored(hit, payload: q.payload, naming: q.naming, vectors: q.withVector, to: &w) }
        w.endArray()
    }

    /// Runs one query: nearest neighbours of a vector (dense or sparse) or of a stored point,
    /// optionally re-ranked by maximal marginal relevance; (without a query) points in id
    /// order; or, with prefetches, their results fused or re-scored by the query.
    func run(_ q: QueryRequest, on c: Collection) throws -> [ScoredPoint] {
        let wanted = q.limit + q.offset
        guard wanted > 0 else { return [] }
        let projection = Projection(withVector: q.withVector.any || q.mmr != nil, withPayload: q.payload.wantsPayload)
        if !q.prefetch.isEmpty {
            let ranked = try candidates(q, on: c, filter: nil)
            let ids = ranked.hits.dropFirst(q.offset)
            var records: [PointID: Record] = [:]
            for r in try c.get(ids: ids.map(\.id), projection: projection) { records[r.id] = r }
            return ids.compactMap { h in
                records[h.id].map { ScoredPoint(id: h.id, version: $0.version, score: h.score, vector: $0.vector, sparse: $0.sparse, payload: $0.payload) }
            }
        }
        var hits = try singleStage(q, on: c, limit: q.mmr?.candidates ?? wanted, filter: q.filter, projection: projection)
        if let mmr = q.mmr {
            hits = MaximalMarginalRelevance.select(hits, metric: c.config.metric, diversity: mmr.diversity, count: wanted)
        }
        return Array(hits.prefix(wanted).dropFirst(q.offset))
    }

    /// A query's hits (ids and scores only), best first, `limit + offset` of them: a single
    /// search, or its prefetches' hits fused or re-scored. `filter` is the enclosing queries'
    /// filter, which Qdrant applies to every prefetch below it.
    private func candidates(_ q: QueryRequest, on c: Collection, filter outer: Filter?) throws -> ScoreFusion.Ranked {
        let filter = [outer, q.filter].compactMap { $0 }.reduce(nil as Filter?) { acc, f in acc.map { Filter(must: [.filter($0), .filter(f)]) } ?? f }
        let wanted = q.limit + q.offset
        let higherIsBetter: Bool
        if case .dense = q.using { higherIsBetter = c.config.metric.higherIsBetter } else { higherIsBetter = true }
        guard !q.prefetch.isEmpty else {
            return ScoreFusion.Ranked(hits: try singleStage(q, on: c, limit: wanted, filter: filter, projection: .idsOnly), higherIsBetter: higherIsBetter)
        }
        let lists = try q.prefetch.map { try candidates($0, on: c, filter: filter) }
        if case .fusion(let fusion) = q.target {
            var fused = ScoreFusion.fuse(lists, fusion)
            if let t = q.scoreThreshold { fused.removeAll { $0.score < t } }
            return ScoreFusion.Ranked(
                hits: fused.prefix(wanted).map { ScoredPoint(id: $0.id, version: 0, score: $0.score, vector: nil, payload: nil) }, higherIsBetter: true)
        }
        // A vector over prefetches: the union of their hits, scored exactly by it.
        let ids = Array(Set(lists.flatMap { $0.hits.map(\.id) }))
        guard !ids.isEmpty else { return ScoreFusion.Ranked(hits: [], higherIsBetter: higherIsBetter) }
        var exact = q
        exact.parameters.exact = true
        let among = Filter(must: [.hasID(ids)] + (filter.map { [.filter($0)] } ?? []))
        let hits = try singleStage(exact, on: c, limit: min(wanted, ids.count), filter: among, projection: .idsOnly)
        return ScoreFusion.Ranked(hits: hits, higherIsBetter: higherIsBetter)
    }

    /// One search without prefetches: by the dense vector, a sparse vector, a stored point's
    /// vector (that point left out), or (no query) the first points in id order.
    private func singleStage(
        _ q: QueryRequest, on c: Collection, limit: Int, filter: Filter?, projection: Projection
    ) throws -> [ScoredPoint] {
        var target = q.target
        var exclude: Set<PointID> = []
        if case .recommend(let positive, let negative) = target {
            let (vector, examples) = try recommendationVector(positive, negative, on: c)
            target = .vector(vector)
            exclude = examples
        }
        if case .point(let id) = target {
            guard let r = try c.get(ids: [id], projection: Projection(withVector: true, withPayload: false)).first else {
                throw APIError.notFound("No point with id \(id) found")
            }
            switch q.using {
            case .dense: target = .vector(r.vector!)
            case .sparse(let name):
                guard let v = r.sparse?[name] else { throw APIError.wrongInput("point \(id) has no sparse vector `\(name)` to search with") }
                target = .sparse(v)
            }
            exclude = [id]
        }
        let fetch = limit + exclude.count
        var hits: [ScoredPoint]
        switch (target, q.using) {
        case (.none, _), (.fusion, _):
            let page = try c.scroll(limit: limit, projection: projection, filter: filter)
            return page.points.dropFirst(q.offset).map {
                ScoredPoint(id: $0.id, version: $0.version, score: 0, vector: $0.vector, sparse: $0.sparse, payload: $0.payload)
            }
        case (.vector(let vector), _):
            guard vector.count == c.config.dimension else {
                throw APIError.wrongInput("Vector dimension error: expected dim: \(c.config.dimension), got \(vector.count)")
            }
            hits = try c.search(
                vector, limit: fetch, projection: projection, scoreThreshold: q.scoreThreshold, filter: filter, parameters: q.parameters)
        case (.sparse(let v), .sparse(let name)):
            hits = try c.searchSparse(name, v, limit: fetch, projection: projection, scoreThreshold: q.scoreThreshold, filter: filter)
        case (.sparse, .dense), (.point, _), (.recommend, _):
            throw APIError.wrongInput("a sparse query for the dense vector `\(q.naming.name)`")
        }
        if !exclude.isEmpty { hits.removeAll { exclude.contains($0.id) } }
        return Array(hits.prefix(limit))
    }

    /// Qdrant's average_vector: avg(positive) + (avg(positive) - avg(negative)), or
    /// avg(positive) without negatives; and the example points, which are left out of the
    /// results. An unknown example id is Qdrant's 404.
    private func recommendationVector(
        _ positive: [QueryRequest.Example], _ negative: [QueryRequest.Example], on c: Collection
    ) throws -> ([Float], Set<PointID>) {
        var ids = Set<PointID>()
        func vectors(_ examples: [QueryRequest.Example]) throws -> [[Float]] {
            try examples.map { e in
                switch e {
                case .vector(let v):
                    guard v.count == c.config.dimension else {
                        throw APIError.wrongInput("Vector dimension error: expected dim: \(c.config.dimension), got \(v.count)")
                    }
                    return v
                case .point(let id):
                    guard let r = try c.get(ids: [id], projection: Projection(withVector: true, withPayload: false)).first else {
                        throw APIError.notFound("No point with id \(id) found")
                    }
                    ids.insert(id)
                    return r.vector!
                }
            }
        }
        func average(_ vs: [[Float]]) -> [Float] {
            var sum = [Float](repeating: 0, count: c.config.dimension)
            for v in vs { for i in sum.indices { sum[i] += v[i] } }
            return sum.map { $0 / Float(vs.count) }
        }
        let pos = average(try vectors(positive))
        let negs = try vectors(negative)
        guard !negs.isEmpty else { return (pos, ids) }
        let neg = average(negs)
        return (zip(pos, neg).map { p, n in p + (p - n) }, ids)
    }
}
