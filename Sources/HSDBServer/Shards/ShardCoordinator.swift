import Foundation
import HSDB
import HSDBCore
import HTTPTypes
import Hummingbird
import NIOCore
import NIOHTTP1
import Replication
import Synchronization

/// Answers every request on a sharded collection, on whichever node it arrives (DESIGN.md,
/// "Shards"): creates and drops the map in etcd, splits writes by the shard of each point's
/// id and sends each part to its shard's leader, fans reads out to one copy per shard and
/// merges their answers exactly. Requests on other collections pass through unchanged.
struct ShardCoordinator: RouterMiddleware {
    let router: ShardRouter
    let db: Database
    let settings: ServerSettings

    var groups: ShardGroups { router.groups }

    func handle(
        _ request: Request, context: HSDBRequestContext, next: (Request, HSDBRequestContext) async throws -> Response
    ) async throws -> Response {
        // Reads for this node's own copies are answered in process, in this request's context.
        try await LocalShardCall.$context.withValue(context) { try await route(request, context: context, next: next) }
    }

    private func route(
        _ request: Request, context: HSDBRequestContext, next: (Request, HSDBRequestContext) async throws -> Response
    ) async throws -> Response {
        let start = ContinuousClock.now
        let parts = request.uri.path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        guard parts.first == "collections" else { return try await next(request, context) }
        if parts.count == 1 {
            guard request.method == .get else { return try await next(request, context) }
            return try await list(request, context, next: next)
        }
        guard let name = parts[1].removingPercentEncoding else { return try await next(request, context) }
        if parts.count == 2, request.method == .put {
            let body = try await collect(request)
            if groups.map(name) != nil { throw APIError(HSDBError.collectionAlreadyExists(name)) }
            if let fields = try? JSONFields(JSONParser.parse(body), path: ""), fields["shard_number"].map({ $0 != .null }) ?? false {
                return try await create(name, body: body, fields: fields, start: start)
            }
            return try await next(Request(head: request.head, body: .init(buffer: ByteBuffer(bytes: body))), context)
        }
        guard let map = await shardMap(name) else { return try await next(request, context) }
        let tail = Array(parts.dropFirst(2))
        guard request.uri.queryParameters.get("partial") == "true" else { return try await sharded(map, tail, request, start) }
        // Asked for: a read answers from the shards it reaches, naming those it could not.
        let missing = MissingShards()
        var response = try await Self.$missing.withValue(missing) { try await sharded(map, tail, request, start) }
        let names = missing.shards.sorted().map(String.init).joined(separator: ",")
        if !names.isEmpty { response.headers[Self.missingHeader] = names }
        return response
    }

    /// The map of `name` when it is a sharded collection: as last read, or read now when no
    /// collection of this node has the name (it may have been created on another node since).
    private func shardMap(_ name: String) async -> ShardMap? {
        if let map = groups.map(name) { return map }
        if (try? db.collection(name)) != nil { return nil }
        return try? await groups.refresh()[name]
    }

    private func sharded(_ map: ShardMap, _ tail: [String], _ request: Request, _ start: ContinuousClock.Instant) async throws -> Response {
        let m = request.method
        switch (m, tail.joined(separator: "/")) {
        case (.get, ""): return try await info(map, request, start)
        case (.delete, ""): return try await drop(map, start)
        case (.put, ""): throw APIError(HSDBError.collectionAlreadyExists(map.name))
        case (.patch, ""), (.put, "index"): return try await broadcastWrite(map, request, start)
        case (.delete, _) where tail.count == 2 && tail[0] == "index": return try await broadcastWrite(map, request, start)
        case (.get, "exists"): return Envelope.ok(since: start) { w in w.object(["exists": .bool(true)]) }
        case (.get, "cluster"): return try await clusterInfo(map, start)
        case (.post, "cluster"): return try await updateCluster(map, request, start)
        case (.put, "points"): return try await splitWrite(map, request, start, .upsert)
        case (.put, "points/vectors"): return try await splitWrite(map, request, start, .vectors)
        case (.post, "points/delete"), (.post, "points/payload"), (.put, "points/payload"), (.post, "points/payload/delete"),
            (.post, "points/payload/clear"), (.post, "points/vectors/delete"):
            return try await splitWrite(map, request, start, .selector)
        case (.post, "points"): return try await retrieve(map, request, start)
        case (.get, _) where tail.count == 2 && tail[0] == "points": return try await retrieveOne(map, tail[1], request)
        case (.post, "points/search"): return try await search(map, request, start, batch: false)
        case (.post, "points/search/batch"): return try await search(map, request, start, batch: true)
        case (.post, "points/query"): return try await query(map, request, start, batch: false)
        case (.post, "points/query/batch"): return try await query(map, request, start, batch: true)
        case (.post, "points/scroll"): return try await scroll(map, request, start)
        case (.post, "points/count"): return try await count(map, request, start)
        case (.post, "facet"): return try await facet(map, request, start)
        case (.post, "points/recommend"): return try await recommend(map, request, start)
        default:
            throw APIError.wrongInput(
                "\(m.rawValue) \(request.uri.path) is not supported on a sharded collection (created with shard_number in a cluster) yet; "
                    + "see DESIGN.md, \"Shards\"")
        }
    }

    // MARK: Helpers

    static let missingHeader = HTTPField.Name("hsdb-missing-shards")!
    /// Set while a read asked with `partial=true` runs: the shards it answered without.
    @TaskLocal static var missing: MissingShards?

    func collect(_ request: Request) async throws -> [UInt8] {
        if let parsed = InProcessCall.parsedBody { return Self.encode(parsed) }
        let buffer = try await request.body.collect(upTo: settings.maxBodyBytes)
        return Array(buffer.readableBytesView)
    }

    func fields(_ body: [UInt8]) throws -> JSONFields {
        guard !body.isEmpty else { throw APIError.format("the request body is empty; expected a JSON object") }
        do {
            return try JSONFields(try JSONParser.parse(body), path: "")
        } catch let e as JSONParseError {
            throw APIError.format(e.description)
        }
    }

    static func encode(_ value: JSONValue) -> [UInt8] {
        var w = JSONTextWriter()
        w.value(value)
        return w.bytes
    }

    /// Percent-encodes a path segment (a collection name may hold any character but `/`).
    static func segment(_ s: String) -> String {
        s.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~"))) ?? s
    }

    static func method(_ m: HTTPRequest.Method) -> HTTPMethod { HTTPMethod(rawValue: m.rawValue) }

    /// The collection's configuration, from the create request the map keeps.
    static func config(_ map: ShardMap) throws -> CollectionConfig {
        try CollectionSpec.config(from: try JSONFields(try JSONParser.parse(Array(map.config.utf8)), path: ""))
    }

    /// Runs `body` for every shard at once; the answers in shard order. In a partial read, a
    /// shard with no copy reachable answers `.null` (no points) and is recorded.
    static func eachShard(_ map: ShardMap, _ body: @escaping @Sendable (Int) async throws -> JSONValue) async throws -> [JSONValue] {
        let missing = Self.missing
        return try await withThrowingTaskGroup(of: (Int, JSONValue).self) { group in
            for shard in map.shards.indices {
                group.addTask {
                    do {
                        return (shard, try await body(shard))
                    } catch let e as APIError where e.status == .serviceUnavailable && missing != nil {
                        missing?.add(shard)
                        return (shard, .null)
                    }
                }
            }
            var answers = [JSONValue](repeating: .null, count: map.shards.count)
            for try await (shard, answer) in group { answers[shard] = answer }
            return answers
        }
    }

    /// Relays a copy's answer as it came (status, body, and its leader's vouching header).
    static func relay(_ answer: PeerClient.Answer) -> Response {
        var response = Envelope.json(Array(answer.body.readableBytesView), status: .init(code: answer.status))
        if let epoch = answer.leaderEpoch { response.headers[ReadOnlyFollowerMiddleware.leaderEpochHeader] = epoch }
        return response
    }
}

/// The shards a partial read answered without (`partial=true`).
final class MissingShards: Sendable {
    private let found = Mutex<Set<Int>>([])
    func add(_ shard: Int) { found.withLock { _ = $0.insert(shard) } }
    var shards: Set<Int> { found.withLock { $0 } }
}
