import AsyncHTTPClient
import Foundation
import HSDBCore
import NIOCore
import NIOHTTP1

/// A follower's HTTP calls to its leader's replication routes (DESIGN.md, "Replication").
/// A dead link shows as a read timeout: the leader sends a heartbeat at least every
/// `ReplicationLeader.heartbeat`, so a stream silent for `readTimeout` is gone.
struct LeaderClient: Sendable {
    static let connectTimeout: TimeAmount = .seconds(2)
    static let readTimeout: TimeAmount = .seconds(5)
    /// The most a call may wait for the leader's answer to begin.
    static let headDeadline: TimeAmount = .seconds(10)

    let base: String
    let apiKey: String?
    let client: HTTPClient

    init(leader: String, apiKey: String?) {
        var base = leader
        while base.hasSuffix("/") { base.removeLast() }
        self.base = base
        self.apiKey = apiKey
        var configuration = HTTPClient.Configuration(timeout: .init(connect: Self.connectTimeout, read: Self.readTimeout))
        configuration.decompression = .disabled
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    func shutdown() async {
        try? await client.shutdown()
    }

    /// Percent-encodes a path segment (collection names may hold any character but `/`).
    static func segment(_ s: String) -> String {
        s.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~"))) ?? s
    }

    func request(_ method: HTTPMethod, _ path: String, headers: [(String, String)] = []) -> HTTPClientRequest {
        var r = HTTPClientRequest(url: base + path)
        r.method = method
        if let apiKey { r.headers.add(name: "api-key", value: apiKey) }
        for (name, value) in headers { r.headers.add(name: name, value: value) }
        return r
    }

    /// Sends `request`; returns the response when its status is one of `accepting`, else
    /// throws `ReplicationError.leader` with the leader's status and message
    /// (`bootstrapNeeded` for 409 on a collection route).
    func send(_ request: HTTPClientRequest, accepting: Set<UInt> = [200], collection: String? = nil) async throws -> HTTPClientResponse {
        let response: HTTPClientResponse
        do {
            response = try await client.execute(request, timeout: Self.headDeadline)
        } catch {
            throw ReplicationError.io("cannot reach the leader at \(base): \(error)")
        }
        if accepting.contains(response.status.code) { return response }
        let message = (try? await Self.message(of: response)) ?? "(no message)"
        if response.status.code == 409, let collection {
            throw ReplicationError.bootstrapNeeded(collection: collection, reason: message)
        }
        throw ReplicationError.leader(status: Int(response.status.code), message: message)
    }

    /// A JSON answer's `result`.
    func json(_ request: HTTPClientRequest, collection: String? = nil) async throws -> JSONValue {
        let response = try await send(request, collection: collection)
        let body = try await response.body.collect(upTo: 64 << 20)
        let value = try body.withUnsafeReadableBytes { try JSONParser.parse($0) }
        guard case .object(let top) = value, let result = top["result"] else {
            throw ReplicationError.leader(status: 200, message: "the answer has no result")
        }
        return result
    }

    /// The message in a Qdrant error envelope (`status.error`), or the body's text.
    static func message(of response: HTTPClientResponse) async throws -> String {
        let body = try await response.body.collect(upTo: 1 << 20)
        if let value = try? body.withUnsafeReadableBytes({ try JSONParser.parse($0) }),
            case .object(let top) = value, case .object(let status)? = top["status"], case .string(let error)? = status["error"] {
            return error
        }
        return String(buffer: body)
    }
}
