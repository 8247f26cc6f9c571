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

/// CONNECT is refused (405) and its connection ended. SwiftNIO's response encoder sends every
/// answer to a CONNECT without a body or a length (as if it opened a tunnel), so on a
/// kept-alive connection the client would wait forever for a body: closing the input makes
/// Hummingbird finish the response and close the connection, and the client reads to the end.
struct RefuseCONNECTMiddleware: RouterMiddleware {
    func handle(_ request: Request, context: HSDBRequestContext, next: (Request, HSDBRequestContext) async throws -> Response) async throws -> Response {
        guard request.method == .connect else { return try await next(request, context) }
        context.channel.close(mode: .input, promise: nil)
        return Envelope.error(APIError(status: .methodNotAllowed, message: "Method not allowed: CONNECT is not supported"), since: .now)
    }
}
