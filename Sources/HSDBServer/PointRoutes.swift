import HSDB
import HSDBCore
import Hummingbird

extension API {
    func registerPoints(on router: Router<Context>) {
        on(router, .put, "/collections/:collection/points") { request, context, start in
            try await write(request, context, start) { try .upsert($0, naming: $1, limit: settings.maxBatchPoints) }
        }

        on(router, .post, "/collections/:collection/points") { request, context, start in
            let c = try collection(context)
            let fields = try await body(request)
            guard let idsValue = fields["ids"] else { throw APIError.format("missing field `ids`") }
            let ids = try PointDecoding.ids(idsValue, path: "ids", limit: settings.maxBatchPoints)
            try StrictMode(c)?.chargeRead(ids.count, on: c, rateLimits)
            let payload = try PayloadSelector(fields.values["with_payload"], path: "with_payload", default: true)
            let naming = VectorNaming(c.config)
            let vectors = try naming.selection(fields, alias: "with_vectors")
            let records = try c.get(ids: ids, projection: Projection(withVector: vectors.any, withPayload: payload.wantsPayload))
            return Envelope.ok(since: start) { w in
                w.beginArray()
                for r in records { RecordWriting.record(r, payload: payload, naming: naming, vectors: vectors, to: &w) }
                w.endArray()
            }
        }

        on(router, .get, "/collections/:collection/points/:id") { _, context, start in
            let c = try collection(context)
            let raw = try API.pathName(context.parameters.get("id") ?? "", kind: "point id")
            let idValue: JSONValue = Int64(raw).map { .int($0) } ?? .string(raw)
            let id = try PointDecoding.id(idValue, path: "id")
            try StrictMode(c)?.chargeRead(1, on: c, rateLimits)
            guard let r = try c.get(ids: [id], projection: .everything).first else { throw APIError.notFound("No point with id \(id) found") }
            let naming = VectorNaming(c.config)
            return Envelope.ok(since: start) { w in
                RecordWriting.record(r, payload: .all, naming: naming, vectors: naming.everything, to: &w)
            }
        }

        on(router, .post, "/collections/:collection/points/delete") { request, context, start in
            try await write(request, context, start) { fields, _ in .delete(try PointSelector(fields, limit: settings.maxBatchPoints)) }
        }

        on(router, .post, "/collections/:collection/points/scroll") { request, context, start in
            let c = try collection(context)
            let fields = try await body(request)
            let offset = try fields["offset"].map { v throws in try PointDecoding.id(v, path: "offset") }
            let limit = try fields.resultCount("limit", max: settings.maxResultPoints, available: c.count) ?? 10
            guard limit >= 1 else { throw APIError.wrongInput("limit must be at least 1") }
            let filter = try fields["filter"].map { v throws in try FilterDecoding.filter(v, path: "filter") }
            if let strict = StrictMode(c) {
                try strict.check(timeout: API.timeout(request))
                try strict.check(limit, against: "max_query_limit", name: "limit")
                try strict.check(filter: filter, write: false)
                try strict.chargeRead(StrictModeReadCost.scroll(filter), on: c, rateLimits)
            }
            let payload = try PayloadSelector(fields.values["with_payload"], path: "with_payload", default: true)
            let naming = VectorNaming(c.config)
            let vectors = try naming.selection(fields, alias: "with_vectors")
            let projection = Projection(withVector: vectors.any, withPayload: payload.wantsPayload)
            if let orderValue = fields["order_by"] {
                let order = try OrderByDecoding.order(orderValue, path: "order_by", indexes: c.payloadIndexes)
                guard offset == nil else { throw APIError.wrongInput("`offset` cannot be used with `order_by`; use `order_by.start_from`") }
                let hits = try c.ordered(by: order, limit: limit, projection: projection, filter: filter)
                let integer = c.payloadIndexes[order.key] == .integer
                return Envelope.ok(since: start) { w in
                    w.beginObject()
                    w.key("points")
                    w.beginArray()
                    for (r, value) in hits {
                        RecordWriting.record(r, payload: payload, naming: naming, vectors: vectors, orderValue: (value, integer), to: &w)
                    }
                    w.endArray()
                    w.key("next_page_offset"); w.null()
                    w.endObject()
                }
            }
            let page = try c.scroll(from: offset, limit: limit, projection: projection, filter: filter)
            return Envelope.ok(since: start) { w in
                w.beginObject()
                w.key("points")
                w.beginArray()
                for r in page.points { RecordWriting.record(r, payload: payload, naming: naming, vectors: vectors, to: &w) }
                w.endArray()
                w.key("next_page_offset")
                if let next = page.nextOffset { RecordWriting.id(next, to: &w) } else { w.null() }
                w.endObject()
            }
        }

        on(router, .post, "/collections/:collection/points/count") { request, context, start in
            let c = try collection(context)
            let fields = try await body(request)
            let filter = try fields["filter"].map { v throws in try FilterDecoding.filter(v, path: "filter") }
            if let strict = StrictMode(c) {
                try strict.check(filter: filter, write: false)
                try strict.chargeRead(StrictModeReadCost.scroll(filter), on: c, rateLimits)
            }
            let n = try filter.map { try c.count(filter: $0) } ?? c.count()
            return Envelope.ok(since: start) { w in
                w.beginObject(); w.key("count"); w.int(n); w.endObject()
            }
        }

        registerQueries(on: router)
        registerGroups(on: router)
        registerFacets(on: router)
        registerPayloadUpdates(on: router)
    }
}

/// Which points a delete or payload change applies to: `{"points": [ids]}` or `{"filter": ...}`.
enum PointSelector {
    case ids([PointID])
    case filter(Filter)

    init(_ fields: JSONFields, limit: Int) throws {
        if let ids = fields["points"] {
            self = .ids(try PointDecoding.ids(ids, path: "points", limit: limit))
        } else if let f = fields["filter"] {
            self = .filter(try FilterDecoding.filter(f, path: "filter"))
        } else {
            throw APIError.format("expected `points` (a list of ids) or `filter`")
        }
    }
}
