import Backup
import HSDB
import HSDBCore
import Hummingbird
import Logging
import NIOCore
import Replication

/// The Qdrant-compatible REST API over one database. Handlers are methods of this value;
/// `register` wires them to routes. DESIGN.md, "HTTP API", lists what is supported.
struct API: Sendable {
    let db: Database
    let settings: ServerSettings
    let metrics: ServerMetrics
    let snapshots: SnapshotStore
    let replication: ReplicationNode
    /// With `--backup-dir`: the continuous archiver.
    let archiver: ContinuousArchiver?
    let logger: Logger
    /// Strict mode's read and write rate limits, per collection.
    let rateLimits = StrictModeRateLimits()
    /// State trees held for `hsdb replica verify`'s descent (GET .../tree).
    let treePins = StateTreePins()

    typealias Context = HSDBRequestContext

    func register(on router: Router<Context>) {
        registerService(on: router)
        registerCollections(on: router)
        registerAliases(on: router)
        registerPoints(on: router)
        registerSnapshots(on: router)
        registerReplication(on: router)
        registerCluster(on: router)
        registerTelemetry(on: router)
        registerBackups(on: router)
        registerOptimizations(on: router)
    }

    /// Adds a route whose handler gets the time the request started (for the envelope's `time`).
    func on(
        _ router: Router<Context>, _ method: HTTPRequest.Method, _ path: RouterPath,
        _ handler: @escaping @Sendable (Request, Context, ContinuousClock.Instant) async throws -> Response
    ) {
        router.on(path, method: method) { request, context in
            let start = ContinuousClock.now
            if method != .get { try Self.checkTimeout(request) }
            return try await handler(request, context, start)
        }
    }

    /// Qdrant's `timeout` query parameter (seconds, 1 or more) on writes and searches: hsdb
    /// has no per-request deadline, so a valid one is accepted and has no effect; 0 or a
    /// non-number is refused as Qdrant refuses it.
    static func checkTimeout(_ request: Request) throws {
        guard let raw = request.uri.queryParameters.get("timeout") else { return }
        guard let seconds = UInt64(String(raw)) else {
            throw APIError(status: .badRequest, message: "Query deserialize error: invalid digit found in string")
        }
        guard seconds >= 1 else { throw APIError.validation("timeout", "value 0 invalid, must be 1 or larger", in: "query parameters") }
    }

    // MARK: Request helpers

    /// The request body as JSON, refusing bodies over the size limit and anything that is not
    /// a JSON object.
    func body(_ request: Request) async throws -> JSONFields {
        let value = try await jsonBody(request)
        return try JSONFields(value, path: "")
    }

    func jsonBody(_ request: Request) async throws -> JSONValue {
        if let parsed = InProcessCall.parsedBody { return parsed }
        // A declared length over the limit was refused by `EarlyRefusalMiddleware`.
        let buffer = try await collectBody(request)
        guard buffer.readableBytes > 0 else { throw APIError.format("the request body is empty; expected a JSON object") }
        do {
            return try buffer.withUnsafeReadableBytes { try JSONParser.parse($0) }
        } catch let e as JSONParseError {
            throw APIError.format(e.description)
        }
    }

    /// The body, up to the size limit. A longer (chunked) body is read to its end and dropped
    /// before the 413, so that the client, which may send it all before reading, gets the
    /// answer and the connection stays usable.
    func collectBody(_ request: Request) async throws -> ByteBuffer {
        var buffer = ByteBuffer()
        var tooLarge = false
        do {
            for try await part in request.body {
                if tooLarge { continue }
                if buffer.readableBytes + part.readableBytes > settings.maxBodyBytes {
                    tooLarge = true
                    buffer = ByteBuffer()
                } else {
                    var part = part
                    buffer.writeBuffer(&part)
                }
            }
        } catch {
            // The HTTP parser refused the body's framing (a bad chunk size, a body cut short):
            // the client's fault, and nothing was read.
            throw APIError.format("the request body could not be read: \(error)")
        }
        if tooLarge { throw APIError.bodyTooLarge(limit: settings.maxBodyBytes) }
        return buffer
    }

    /// The collection named in the path (percent-decoded and checked like every name).
    func collection(_ context: Context) throws -> Collection {
        let c = try db.collection(try collectionName(context))
        CollectionSpec.applyOptimizerSettings(c)
        return c
    }

    func collectionName(_ context: Context) throws -> String {
        try Self.pathName(context.parameters.get("collection") ?? "", kind: "collection")
    }

    /// A name from the path, percent-decoded; names that decode to separators, '..' or control
    /// characters are refused here and by the engine's own check.
    static func pathName(_ raw: String, kind: String) throws -> String {
        guard let decoded = raw.removingPercentEncodingStrictly() else {
            throw APIError.wrongInput("\(kind) name is not valid percent-encoded UTF-8")
        }
        if decoded.count > 255 {
            throw APIError.validation("name", "value \"\(decoded)\" invalid, must be from 1 to 255 characters", in: "path parameters")
        }
        // Byte checks: Foundation's `contains` on strings was 2% of a search request's CPU.
        let utf8 = decoded.utf8
        let dot = UInt8(ascii: ".")
        if utf8.isEmpty || utf8.contains(where: { $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: "\\") || $0 < 0x20 || $0 == 0x7F })
            || zip(utf8, utf8.dropFirst()).contains(where: { $0 == dot && $1 == dot })
        {
            throw APIError.wrongInput("\(kind) name must be non-empty without '/', '\\', '..' or control characters")
        }
        return decoded
    }

    /// `wait=true`: the write is durable and applied before the answer (`completed`);
    /// otherwise `acknowledged` (hsdb logs and applies before answering either way).
    static func waits(_ request: Request, default: Bool = false) -> Bool {
        request.uri.queryParameters.get("wait").map { $0 == "true" || $0 == "1" } ?? `default`
    }

    /// The `timeout` query parameter in seconds (hsdb answers within it anyway; strict mode
    /// bounds it), nil when absent or not a whole number.
    static func timeout(_ request: Request) -> Int? {
        request.uri.queryParameters.get("timeout").flatMap { Int(String($0)) }
    }
}

extension String {
    /// Decodes %XX escapes; nil if an escape is malformed or the result is not UTF-8.
    func removingPercentEncodingStrictly() -> String? {
        guard utf8.contains(UInt8(ascii: "%")) else { return self }
        var bytes: [UInt8] = []
        var it = utf8.makeIterator()
        while let b = it.next() {
            if b == UInt8(ascii: "%") {
                guard let h = it.next(), let l = it.next(), let hi = Self.hexValue(h), let lo = Self.hexValue(l) else { return nil }
                bytes.append(hi << 4 | lo)
            } else {
                bytes.append(b)
            }
        }
        return String(validating: bytes, as: UTF8.self)
    }

    private static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
