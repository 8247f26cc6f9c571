import HSDB
import HSDBCore
import Hummingbird
import Replication

extension ShardCoordinator {
    enum WriteKind { case upsert, vectors, selector }

    /// A write by point ids: checked whole against the collection's configuration (so bad
    /// input changes nothing on any shard), cut by shard, each part sent to its shard's leader
    /// at once. A write by filter goes to every shard. Answered when every part is; if a part
    /// fails, the answer is its error, naming the shards whose parts were applied.
    func splitWrite(_ map: ShardMap, _ request: Request, _ start: ContinuousClock.Instant, _ kind: WriteKind) async throws -> Response {
        let body = try await collect(request)
        let given = try fields(body)
        try check(given, kind, map)
        guard let parts = try ShardSplit.parts(given.values, ring: map.ring) else {
            return try await send(map, request, body, to: nil, start)
        }
        let bodies = parts.mapValues { Self.encode(.object($0)) }
        return try await send(map, request, nil, to: bodies, start)
    }

    /// A write that concerns every shard alike (a payload index, a settings change).
    func broadcastWrite(_ map: ShardMap, _ request: Request, _ start: ContinuousClock.Instant) async throws -> Response {
        let body = try await collect(request)
        return try await send(map, request, body.isEmpty ? nil : body, to: nil, start)
    }

    private func check(_ given: JSONFields, _ kind: WriteKind, _ map: ShardMap) throws {
        let config = try Self.config(map)
        let naming = VectorNaming(config)
        switch kind {
        case .upsert:
            if case .upsert(let points, _, _) = try WriteOperation.upsert(given, naming: naming, limit: settings.maxBatchPoints) {
                try Collection.checkUpsert(points, config: config, limits: db.options.limits)
            }
        case .vectors:
            _ = try WriteOperation.updateVectors(given, naming: naming, limit: settings.maxBatchPoints)
        case .selector:
            _ = try PointSelector(given, limit: settings.maxBatchPoints)
        }
    }

    /// Sends `bodies` (by shard), or `body` to every shard, and merges the update results.
    private func send(
        _ map: ShardMap, _ request: Request, _ body: [UInt8]?, to bodies: [Int: [UInt8]]?, _ start: ContinuousClock.Instant
    ) async throws -> Response {
        let (router, path, method) = (router, request.uri.description, Self.method(request.method))
        let shards = bodies.map { Array($0.keys).sorted() } ?? Array(map.shards.indices)
        let answers = try await withThrowingTaskGroup(of: (Int, Result<JSONValue, APIError>).self) { group in
            for shard in shards {
                group.addTask {
                    do {
                        let answer = try await router.write(map, shard, method, path, bodies?[shard] ?? body)
                        return (shard, .success(try ShardRouter.result(answer)))
                    } catch {
                        return (shard, .failure(APIError.from(error)))
                    }
                }
            }
            var all: [(Int, Result<JSONValue, APIError>)] = []
            for try await answer in group { all.append(answer) }
            return all.sorted { $0.0 < $1.0 }
        }
        let applied = answers.compactMap { shard, r in (try? r.get()).map { _ in shard } }
        let failed = answers.compactMap { shard, r -> (Int, APIError)? in
            if case .failure(let e) = r { (shard, e) } else { nil }
        }
        if let (shard, error) = failed.first {
            guard !applied.isEmpty else { throw error }
            throw APIError(
                status: error.status,
                message: "\(error.message) (shard \(shard) of '\(map.name)'; the parts for shard(s) "
                    + "\(applied.map(String.init).joined(separator: ", ")) were applied)")
        }
        let results = answers.compactMap { try? $0.1.get() }
        guard case .object(var merged)? = results.first else { return Envelope.ok(since: start) { $0.bool(true) } }
        if merged["operation_id"] != nil {
            merged["operation_id"] = .int(results.map { ShardMerge.int($0, "operation_id") }.max() ?? 0)
        }
        return Envelope.ok(since: start) { $0.value(.object(merged)) }
    }
}
