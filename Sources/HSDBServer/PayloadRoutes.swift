import HSDB
import HSDBCore
import Hummingbird

extension API {
    /// Payload and vector updates, and `points/batch`, which runs any of the point writes in order.
    func registerPayloadUpdates(on router: Router<Context>) {
        let payloadRoutes: [(HTTPRequest.Method, RouterPath, WriteOperation.PayloadKind)] = [
            (.post, "/collections/:collection/points/payload", .set),        // merge keys
            (.put, "/collections/:collection/points/payload", .overwrite),   // replace the payload
            (.post, "/collections/:collection/points/payload/delete", .delete),
            (.post, "/collections/:collection/points/payload/clear", .clear),
        ]
        for (method, path, kind) in payloadRoutes {
            on(router, method, path) { request, context, start in
                try await write(request, context, start) { fields, _ in try .payload(kind, fields, limit: settings.maxBatchPoints) }
            }
        }
        on(router, .put, "/collections/:collection/points/vectors") { request, context, start in
            try await write(request, context, start) { try .updateVectors($0, naming: $1, limit: settings.maxBatchPoints) }
        }
        on(router, .post, "/collections/:collection/points/vectors/delete") { request, context, start in
            try await write(request, context, start) { try .deleteVectors($0, naming: $1, limit: settings.maxBatchPoints) }
        }
        // Every operation is decoded before the first is applied, so a malformed one changes nothing.
        on(router, .post, "/collections/:collection/points/batch") { request, context, start in
            let c = try collection(context)
            let fields = try await body(request)
            guard let entries = try fields.array("operations") else { throw APIError.format("missing field `operations`") }
            guard entries.count <= settings.maxBatchPoints else {
                throw APIError.wrongInput("the request holds \(entries.count) operations; the limit is \(settings.maxBatchPoints)")
            }
            let operations = try entries.enumerated().map { i, e in
                try WriteOperation.batchEntry(e, path: "operations[\(i)]", naming: VectorNaming(c.config), limit: settings.maxBatchPoints)
            }
            let wait = API.waits(request)
            var lsns: [UInt64] = []
            var wrote: UInt64?
            for operation in operations {
                let lsn = try await operation.apply(to: c, limits: rateLimits)
                if let lsn { wrote = max(wrote ?? 0, lsn) }
                lsns.append(lsn ?? c.appliedLSN)
            }
            try await awaitCopies(of: c, through: wrote)
            return Envelope.ok(since: start) { w in
                w.beginArray()
                for lsn in lsns { Envelope.writeUpdateResult(lsn: lsn, wait: wait, to: &w) }
                w.endArray()
            }
        }
    }

    /// Runs the write `decode` makes of the body and answers Qdrant's `UpdateResult`.
    func write(
        _ request: Request, _ context: Context, _ start: ContinuousClock.Instant,
        _ decode: (JSONFields, VectorNaming) throws -> WriteOperation
    ) async throws -> Response {
        let c = try collection(context)
        let operation = try decode(try await body(request), VectorNaming(c.config))
        let wait = API.waits(request)
        let lsn = try await operation.apply(to: c, limits: rateLimits)
        try await awaitCopies(of: c, through: lsn)
        return Envelope.updated(since: start, lsn: lsn ?? c.appliedLSN, wait: wait)
    }
}
