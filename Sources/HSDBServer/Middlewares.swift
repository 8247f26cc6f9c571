import HTTPTypes
import Hummingbird

/// Turns every error a handler (or the router) throws into Qdrant's error envelope.
struct ErrorEnvelopeMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        do {
            return try await next(request, context)
        } catch {
            return Envelope.error(APIError.from(error), since: start)
        }
    }
}

/// With an API key set, every route but the root, health checks and metrics needs it, in the
/// `api-key` header or as `Authorization: Bearer <key>`. Missing: 401; wrong: 403.
struct APIKeyMiddleware<Context: RequestContext>: RouterMiddleware {
    let key: [UInt8]
    static var openPaths: Set<String> { ["/", "/healthz", "/livez", "/readyz", "/metrics"] }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if Self.openPaths.contains(request.uri.path) { return try await next(request, context) }
        let given = request.headers[HTTPField.Name("api-key")!]
            ?? request.headers[.authorization].flatMap { $0.hasPrefix("Bearer ") ? String($0.dropFirst(7)) : nil }
        guard let given else { throw APIError.unauthorized }
        guard Self.constantTimeEqual(Array(given.utf8), key) else { throw APIError.forbidden }
        return try await next(request, context)
    }

    /// Compares without an early exit, so timing does not reveal how much of a guess was right.
    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var diff = UInt8(truncatingIfNeeded: a.count ^ b.count)
        for i in 0..<max(a.count, b.count) {
            diff |= (i < a.count ? a[i] : 0) ^ (i < b.count ? b[i] : 0)
        }
        return diff == 0
    }
}

/// Requests refused before they are read: CONNECT (405), and a body whose declared length is
/// over the limit (413). Both answer in Qdrant's envelope through `LingeringRefusal`, which
/// drains what the client still sends and then closes the connection. (SwiftNIO's encoder
/// would send any answer to a CONNECT without a body or a length, as if opening a tunnel, and
/// a body left unread would stall a client that sends it all before reading.)
struct EarlyRefusalMiddleware: RouterMiddleware {
    let maxBodyBytes: Int

    func handle(_ request: Request, context: HSDBRequestContext, next: (Request, HSDBRequestContext) async throws -> Response) async throws -> Response {
        let refusal: APIError
        if request.method == .connect {
            refusal = APIError(status: .methodNotAllowed, message: "Method not allowed: CONNECT is not supported")
        } else if let length = request.headers[.contentLength].flatMap({ Int($0) }), length > maxBodyBytes {
            refusal = .bodyTooLarge(limit: maxBodyBytes)
        } else {
            return try await next(request, context)
        }
        guard let channel = context.channel else { throw refusal }  // in process: nothing to drain
        try await LingeringRefusal.refuse(
            channel: channel, status: refusal.status.code, reason: refusal.status.reasonPhrase,
            body: Envelope.errorBytes(refusal, since: .now))
        // The connection is closed: this answer is never written.
        return Response(status: refusal.status)
    }
}

/// On a follower, writes are refused with 403 naming the leader (they go there, and come
/// back through replication); reads, including the read-only POSTs (search, query, scroll,
/// count, retrieve, recommend, discover, facet), and local snapshots are served.
struct ReadOnlyFollowerMiddleware: RouterMiddleware {
    let node: ReplicationNode

    func handle(_ request: Request, context: HSDBRequestContext, next: (Request, HSDBRequestContext) async throws -> Response) async throws -> Response {
        guard Self.isWrite(method: request.method, path: request.uri.path) else {
            if let cluster = node.cluster { return try await clusterRead(request, context: context, cluster: cluster, next: next) }
            return try await next(request, context)
        }
        if let cluster = node.cluster { return try await clusterWrite(request, context: context, cluster: cluster, next: next) }
        switch node.roleNow {
        case .leader: return try await next(request, context)
        case .follower(let f):
            throw APIError(status: .forbidden, message: "Forbidden: this server is a read-only follower of \(f.leaderURL); send writes to the leader")
        case .standby(let why):
            throw APIError(status: .serviceUnavailable, message: "Service unavailable: this server takes no writes now (\(why))")
        case .fenced:
            let state = node.state
            throw APIError(
                status: .forbidden,
                message: "Forbidden: this server led epoch \(state.leadingEpoch), but a leader of epoch \(state.epoch) was promoted: "
                    + "it takes no writes (restart it with --replica-of the new leader to rejoin)")
        }
    }

    static let readActions: Set<String> = ["search", "query", "scroll", "count", "recommend", "discover", "facet"]

    static func isWrite(method: HTTPRequest.Method, path: String) -> Bool {
        switch method {
        case .get, .head, .options: return false
        case .post:
            let parts = path.split(separator: "/", omittingEmptySubsequences: true)
            // Replication and cluster calls are between servers (or an operator's), not writes;
            // a backup archives this copy as it stands.
            if ["replication", "cluster", "backups"].contains(parts.first) { return false }
            guard parts.count >= 3, parts[0] == "collections" else { return true }
            // POST .../points retrieves; POST .../snapshots snapshots this copy.
            if parts.count == 3 { return !["points", "snapshots", "facet"].contains(parts[2]) }
            return !(parts[2] == "points" && readActions.contains(String(parts[3])))
        default: return true
        }
    }
}
