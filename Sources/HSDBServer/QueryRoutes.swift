import HSDB
import HSDBCore
import Hummingbird
import Index

extension API {
    func registerQueries(on router: Router<Context>) {
        on(router, .post, "/collections/:collection/points/query") { request, context, start in
            let c = try collection(context)
            let body = try await body(request)
            let q = try QueryRequest.query(body, naming: VectorNaming(c.config), maxResults: settings.maxResultPoints, available: c.count)
            let hits = try run(q, on: c, request)
            return Envelope.ok(since: start) { w in
                w.beginObject()
                w.key("points")
                writeHits(hits, q, to: &w)
                w.endObject()
            }
        }

        on(router, .post, "/collections/:collection/points/query/batch") { request, context, start in
            let c = try collection(context)
            let queries = try batch(try await body(request), c) { f throws in try QueryRequest.query(f, naming: VectorNaming(c.config), maxResults: settings.maxResultPoints, available: c.count) }
            let results = try queries.map { try run($0, on: c, request) }
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
            let hits = try run(q, on: c, request)
            return Envelope.ok(since: start) { w in writeHits(hits, q, to: &w) }
        }

        on(router, .post, "/collections/:collection/points/recommend") { request, context, start in
            let c = try collection(context)
            let q = try QueryRequest.recommend(try await body(request), naming: VectorNaming(c.config), maxResults: settings.maxResultPoints, available: c.count)
            let hits = try run(q, on: c, request)
            return Envelope.ok(since: start) { w in writeHits(hits, q, to: &w) }
        }

        on(router, .post, "/collections/:collection/points/recommend/batch") { request, context, start in
            let c = try collection(context)
            let queries = try batch(try await body(request), c) { f throws in
                try QueryRequest.recommend(f, naming: VectorNaming(c.config), maxResults: settings.maxResultPoints, available: c.count)
            }
            let results = try queries.map { try run($0, on: c, request) }
            return Envelope.ok(since: start) { w in
                w.beginArray()
                for (q, hits) in zip(queries, results) { writeHits(hits, q, to: &w) }
                w.endArray()
            }
        }

        on(router, .post, "/collections/:collection/points/discover") { request, context, start in
            let c = try collection(context)
            let q = try QueryRequest.discover(try await body(request), naming: VectorNaming(c.config), maxResults: settings.maxResultPoints, available: c.count)
            return Envelope.ok(since: start) { [hits = try run(q, on: c, request)] w in writeHits(hits, q, to: &w) }
        }

        on(router, .post, "/collections/:collection/points/discover/batch") { request, context, start in
            let c = try collection(context)
            let queries = try batch(try await body(request), c) { f throws in
                try QueryRequest.discover(f, naming: VectorNaming(c.config), maxResults: settings.maxResultPoints, available: c.count)
            }
            let results = try queries.map { try run($0, on: c, request) }
            return Envelope.ok(since: start) { w in
                w.beginArray()
                for (q, hits) in zip(queries, results) { writeHits(hits, q, to: &w) }
                w.endArray()
            }
        }

        on(router, .post, "/collections/:collection/points/search/batch") { request, context, start in
            let c = try collection(context)
            let queries = try batch(try await body(request), c) { f throws in try QueryRequest.search(f, naming: VectorNaming(c.config), maxResults: settings.maxResultPoints, available: c.count) }
            let results = try queries.map { try run($0, on: c, request) }
            return Envelope.ok(since: start) { w in
                w.beginArray()
                for (q, hits) in zip(queries, results) { writeHits(hits, q, to: &w) }
                w.endArray()
            }
        }
    }

    private func batch(_ body: JSONFields, _ c: Collection, _ decode: (JSONFields) throws -> QueryRequest) throws -> [QueryRequest] {
        guard let searches = try body.array("searches") else { throw APIError.format("missing field `searches`") }
        guard searches.count <= 1000 else { throw APIError.wrongInput("a batch holds \(searches.count) searches; the limit is 1000") }
        try StrictMode(c)?.check(searches.count, against: "search_max_batchsize", name: "search batch size")
        var result: [QueryRequest] = []
        for (i, s) in searches.enumerated() { result.append(try decode(try JSONFields(s, path: "searches[\(i)]"))) }
        return result
    }

    private func writeHits(_ hits: [ScoredPoint], _ q: QueryRequest, to w: inout JSONTextWriter) {
        w.beginArray()
        for hit in hits { RecordWriting.scored(hit, payload: q.payload, naming: q.naming, vectors: q.withVector, to: &w) }
        w.endArray()
    }

    /// Runs one query in the engine (`Collection.query`), with the projection its response
    /// needs, within the collection's strict mode.
    func run(_ q: QueryRequest, on c: Collection, _ request: Request) throws -> [ScoredPoint] {
        let q = try q.resolvingLookups(db)
        try q.checkOrderIndexes(c.payloadIndexes)
        try q.checkFusionUsing()
        if let strict = StrictMode(c) {
            try strict.check(timeout: API.timeout(request))
            try strict.check(q)
            try strict.chargeRead(q, on: c, rateLimits)
        }
        return try c.query(q.engineQuery, projection: Projection(withVector: q.withVector.any, withPayload: q.payload.wantsPayload))
    }
}
