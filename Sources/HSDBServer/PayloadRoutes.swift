import HSDB
import HSDBCore
import Hummingbird

extension API {
    func registerPayloadUpdates(on router: Router<Context>) {
        // Set payload: merge keys into each selected point's payload.
        on(router, .post, "/collections/:collection/points/payload") { request, context, start in
            try await updatePayload(request, context, start) { fields throws in
                if fields.has("key") { throw APIError.unsupported("setting payload under a nested `key`") }
                return .merge(try PointDecoding.payload(try required(fields, "payload"), path: "payload"))
            }
        }
        // Overwrite payload: replace each selected point's payload.
        on(router, .put, "/collections/:collection/points/payload") { request, context, start in
            try await updatePayload(request, context, start) { fields throws in
                .replace(try PointDecoding.payload(try required(fields, "payload"), path: "payload"))
            }
        }
        on(router, .post, "/collections/:collection/points/payload/delete") { request, context, start in
            try await updatePayload(request, context, start) { fields throws in
                guard let keys = try fields.array("keys") else { throw APIError.format("missing field `keys`") }
                var names: [String] = []
                for (i, k) in keys.enumerated() {
                    guard case .string(let s) = k else { throw JSONFields.typeError("keys[\(i)]", "a string", k) }
                    names.append(s)
                }
                return .deleteKeys(names)
            }
        }
        on(router, .post, "/collections/:collection/points/payload/clear") { request, context, start in
            try await updatePayload(request, context, start) { _ throws in .clear }
        }
    }

    private func required(_ fields: JSONFields, _ key: String) throws -> JSONValue {
        guard let v = fields[key] else { throw APIError.format("missing field `\(key)`") }
        return v
    }

    private func updatePayload(
        _ request: Request, _ context: Context, _ start: ContinuousClock.Instant,
        _ decode: (JSONFields) throws -> PayloadUpdate
    ) async throws -> Response {
        let c = try collection(context)
        let fields = try await body(request)
        let update = try decode(fields)
        let selector = try PointSelector(fields, limit: settings.maxBatchPoints)
        let wait = API.waits(request)
        let result: WriteResult?
        switch selector {
        case .ids(let ids): result = try await c.updatePayload(update, ids: ids)
        case .filter(let f): result = try await c.updatePayload(update, filter: f)
        }
        return Envelope.updated(since: start, lsn: result?.lsn ?? c.appliedLSN, wait: wait)
    }
}
