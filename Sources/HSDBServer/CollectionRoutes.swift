import HSDB
import HSDBCore
import Hummingbird

extension API {
    func registerCollections(on router: Router<Context>) {
        on(router, .get, "/collections") { _, _, start in
            let names = try db.listCollections().map(\.name)
            return Envelope.ok(since: start) { w in
                w.beginObject()
                w.key("collections")
                w.beginArray()
                for name in names {
                    w.beginObject(); w.key("name"); w.string(name); w.endObject()
                }
                w.endArray()
                w.endObject()
            }
        }

        on(router, .get, "/collections/:collection") { _, context, start in
            let c = try collection(context)
            let stats = c.statistics()
            var indexed: [String: Int] = [:]
            for field in c.payloadIndexes.keys { indexed[field] = try c.count(filter: Filter(mustNot: [.isEmpty(key: field)])) }
            let factor = CollectionSpec.writeConsistencyFactor(of: c, default: settings.writeConsistencyFactor)
            return Envelope.ok(since: start) { w in
                CollectionSpec.writeInfo(c, stats, indexedPoints: indexed, writeConsistencyFactor: factor, to: &w)
            }
        }

        on(router, .get, "/collections/:collection/exists") { _, context, start in
            let name = try collectionName(context)
            let exists = try db.listCollections().contains { $0.name == name }
            return Envelope.ok(since: start) { w in
                w.beginObject(); w.key("exists"); w.bool(exists); w.endObject()
            }
        }

        on(router, .put, "/collections/:collection") { request, context, start in
            let name = try collectionName(context)
            let config = try CollectionSpec.config(from: try await body(request))
            try await db.createCollection(name, config: config)
            rateLimits.reset(name)
            return Envelope.ok(since: start) { $0.bool(true) }
        }

        on(router, .patch, "/collections/:collection") { request, context, start in
            let c = try collection(context)
            // Qdrant makes its rate limiters anew on every update (here also after a refused
            // one: whoever may change a collection may lift its limits anyway).
            defer { rateLimits.reset(c.name) }
            let fields = try await body(request)
            try await CollectionPatch.apply(c, fields)
            return Envelope.ok(since: start) { $0.bool(true) }
        }

        on(router, .delete, "/collections/:collection") { _, context, start in
            let existed = try await dropCollection(try collectionName(context))
            rateLimits.reset(try collectionName(context))
            return Envelope.ok(since: start) { $0.bool(existed) }
        }

        on(router, .put, "/collections/:collection/index") { request, context, start in
            try await createPayloadIndex(request, context, start)
        }

        on(router, .delete, "/collections/:collection/index/:field") { request, context, start in
            let c = try collection(context)
            let field = try API.pathName(context.parameters.get("field") ?? "", kind: "field")
            try await c.deletePayloadIndex(field)
            try await StrictMode.keepIndexParams(nil, of: field, in: c)
            return Envelope.updated(since: start, lsn: c.appliedLSN, wait: API.waits(request))
        }
    }

    /// Whether the collection existed (Qdrant answers `false`, not 404, for a missing one).
    private func dropCollection(_ name: String) async throws -> Bool {
        do {
            try await db.dropCollection(name)
            return true
        } catch HSDBError.collectionNotFound {
            return false
        }
    }

    private func createPayloadIndex(_ request: Request, _ context: Context, _ start: ContinuousClock.Instant) async throws -> Response {
        let c = try collection(context)
        let fields = try await body(request)
        let (field, type) = try Self.payloadIndex(fields)
        if let limit = StrictMode(c)?.count("max_payload_index_count"), c.payloadIndexes[field] == nil, c.payloadIndexes.count >= limit {
            throw StrictMode.refusal(
                "Collection already has the maximum number of payload indices (\(limit))",
                "Please delete an existing index before creating a new one.")
        }
        try await c.createPayloadIndex(field, type: type)
        try await StrictMode.keepIndexParams(fields["field_schema"], of: field, in: c)
        return Envelope.updated(since: start, lsn: c.appliedLSN, wait: API.waits(request))
    }

    /// `{"field_name": ..., "field_schema": ...}`.
    private static func payloadIndex(_ fields: JSONFields) throws -> (String, PayloadIndexType) {
        guard let field = try fields.string("field_name"), !field.isEmpty else { throw APIError.format("missing field `field_name`") }
        return (field, try CollectionSpec.indexType(fields["field_schema"]))
    }
}
