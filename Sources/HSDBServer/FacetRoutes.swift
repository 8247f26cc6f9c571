import HSDB
import HSDBCore
import Hummingbird

extension API {
    /// `POST /collections/{c}/facet` and the distance matrix routes.
    func registerFacets(on router: Router<Context>) {
        on(router, .post, "/collections/:collection/facet") { request, context, start in
            let c = try collection(context)
            let body = try await body(request)
            guard let key = try body.string("key") else { throw APIError.format("missing field `key`") }
            let limit = try body.count("limit", max: 1_000_000) ?? 10
            guard limit >= 1 else { throw APIError.validation("limit", "value 0 invalid, must be 1 or larger") }
            let filter = try body["filter"].map { try FilterDecoding.filter($0, path: body.fieldPath("filter")) }
            _ = try body.bool("exact")  // hsdb's facets are always exact
            let faceted: Set<PayloadIndexType> = [.keyword, .integer, .uuid, .bool]
            guard let type = c.payloadIndexes[key], faceted.contains(type) else {  // Qdrant's text and status
                throw APIError(status: .badRequest, message: "Bad request: No appropriate index for faceting: `\(key)`. Please create one to "
                    + "facet on this field. Check https://qdrant.tech/documentation/concepts/indexing/#payload-index to see which "
                    + "payload schemas support Match conditions")
            }
            if let strict = StrictMode(c) {
                try strict.check(filter: filter, write: false)
                try strict.chargeRead(StrictModeReadCost.scroll(filter), on: c, rateLimits)
            }
            let hits = try c.facet(key, type: type, filter: filter, limit: limit)
            return Envelope.ok(since: start) { w in
                w.beginObject()
                w.key("hits")
                w.beginArray()
                for h in hits {
                    w.beginObject(); w.key("value"); w.value(h.value); w.key("count"); w.int(h.count); w.endObject()
                }
                w.endArray()
                w.endObject()
            }
        }
        on(router, .post, "/collections/:collection/points/search/matrix/pairs") { request, context, start in
            let (_, m) = try await matrix(request, context)
            return Envelope.ok(since: start) { w in
                w.beginObject()
                w.key("pairs")
                w.beginArray()
                for (i, row) in m.neighbours.enumerated() {
                    for (j, score) in row {
                        w.beginObject()
                        w.key("a"); RecordWriting.id(m.ids[i], to: &w)
                        w.key("b"); RecordWriting.id(m.ids[j], to: &w)
                        w.key("score"); w.float(score)
                        w.endObject()
                    }
                }
                w.endArray()
                w.endObject()
            }
        }
        on(router, .post, "/collections/:collection/points/search/matrix/offsets") { request, context, start in
            let (_, m) = try await matrix(request, context)
            let cells = m.neighbours.enumerated().flatMap { i, row in row.map { (i, $0.index, $0.score) } }
            return Envelope.ok(since: start) { w in
                w.beginObject()
                w.key("offsets_row"); w.beginArray(); for c in cells { w.int(c.0) }; w.endArray()
                w.key("offsets_col"); w.beginArray(); for c in cells { w.int(c.1) }; w.endArray()
                w.key("scores"); w.beginArray(); for c in cells { w.float(c.2) }; w.endArray()
                w.key("ids"); w.beginArray(); for id in m.ids { RecordWriting.id(id, to: &w) }; w.endArray()
                w.endObject()
            }
        }
    }

    /// `{"sample" (default 10), "limit" (default 3), "filter", "using"}` of the matrix routes.
    private func matrix(_ request: Request, _ context: Context) async throws -> (Collection, DistanceMatrix) {
        let c = try collection(context)
        let body = try await body(request)
        let sample = try body.count("sample", max: 100_000) ?? 10
        let limit = try body.count("limit", max: 100_000) ?? 3
        guard sample >= 2 else { throw APIError.validation("sample", "value \(sample) invalid, must be 2 or larger") }
        guard limit >= 1 else { throw APIError.validation("limit", "value 0 invalid, must be 1 or larger") }
        guard case .dense = try VectorNaming(c.config).using(try body.string("using")) else {
            throw APIError.unsupported("a distance matrix over a sparse vector")
        }
        let filter = try body["filter"].map { try FilterDecoding.filter($0, path: body.fieldPath("filter")) }
        if let strict = StrictMode(c) {
            try strict.check(matrixSample: sample, limit: limit, filter: filter)
            try strict.chargeRead(sample + StrictModeReadCost.scroll(filter), on: c, rateLimits)
        }
        return (c, try c.distanceMatrix(sample: sample, limit: limit, filter: filter))
    }
}
