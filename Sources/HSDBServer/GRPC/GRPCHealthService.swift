import GRPCCore
import HSDBCore
import QdrantAPI

/// `qdrant.Qdrant/HealthCheck`: the REST root's title, version and commit.
struct GRPCHealthService: Qdrant_Qdrant.SimpleServiceProtocol {
    let bridge: GRPCBridge

    func healthCheck(request: Qdrant_HealthCheckRequest, context: ServerContext) async throws -> Qdrant_HealthCheckReply {
        let (root, _) = try await bridge.call(.get, "/", enveloped: false)
        var reply = Qdrant_HealthCheckReply()
        if case .object(let o) = root {
            if case .string(let title)? = o["title"] { reply.title = title }
            if case .string(let version)? = o["version"] { reply.version = version }
            if case .string(let commit)? = o["commit"] { reply.commit = commit }
        }
        return reply
    }
}
