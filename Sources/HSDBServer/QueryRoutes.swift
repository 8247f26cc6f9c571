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
        for hit in hits { RecordWriting.scored(hit, payload: q.payload, naming: q.naming, to: &w) }
        w.endArray()
    }

    /// Runs one query: nearest neighbours of a vector or of a stored point, optionally
    /// re-ranked by maximal marginal relevance, or (without a query) points in id order.
    func run(_ q: QueryRequest, on c: Collection) throws -> [ScoredPoint] {
        let wanted = q.limit + q.offset
        guard wanted > 0 else { return [] }
        let projection = Projection(withVector: q.withVector || q.mmr != nil, withPayload: q.payload.wantsPayload)
        let vector: [Float]
        var exclude: PointID?
        switch q.target {
        case .none:
            let page = try c.scroll(limit: wanted, projection: projection, filter: q.filter)
            return page.points.dropFirst(q.offset).map {
                ScoredPoint(id: $0.id, version: $0.version, score: 0, vector: q.withVector ? $0.vector : nil, payload: $0.payload)
            }
        case .vector(let v):
            vector = v
        case .point(let id):
            guard let r = try c.get(ids: [id], projection: Projection(withVector: true, withPayload: false)).first else {
                throw APIError.notFound("No point with id \(id) found")
            }
            vector = r.vector!
            exclude = id
        }
        guard vector.count == c.config.dimension else {
            throw APIError.wrongInput("Vector dimension error: expected dim: \(c.config.dimension), got \(vector.count)")
        }
        let fetch = (q.mmr?.candidates ?? wanted) + (exclude == nil ? 0 : 1)
        var hits = try c.search(
            vector, limit: fetch, projection: projection, scoreThreshold: q.scoreThreshold, filter: q.filter, parameters: q.parameters)
        if let exclude { hits.removeAll { $0.id == exclude } }
        if let mmr = q.mmr {
            hits = MaximalMarginalRelevance.select(hits, metric: c.config.metric, diversity: mmr.diversity, count: wanted)
        }
        return hits.prefix(wanted).dropFirst(q.offset).map { h in
            q.withVector ? h : ScoredPoint(id: h.id, version: h.version, score: h.score, vector: nil, payload: h.payload)
        }
    }
}
