import HSDBCore

/// The admin calls one server makes on another (the notice that fences a former leader) and
/// the CLI makes on a server (`hsdb replica promote`, `hsdb backup create --server`).
public struct ServerAdminClient: Sendable {
    let client: LeaderClient

    public init(server: String, apiKey: String?) throws {
        client = try LeaderClient(leader: server, apiKey: apiKey)
    }

    /// Tells the server a leader of `epoch` exists; returns what it did, for the log.
    public func fence(epoch: UInt64) async throws -> String {
        let result = try await client.json(client.request(.POST, "/replication/fence?epoch=\(epoch)"))
        guard case .object(let o) = result, case .bool(let fenced)? = o["fenced"] else {
            throw ReplicationError.leader(status: 200, message: "the fence answer has no `fenced`")
        }
        return fenced ? "is fenced at epoch \(epoch)" : "knows epoch \(epoch) (it was not leading)"
    }

    /// Promotes the server to leader; returns its new epoch.
    public func promote() async throws -> UInt64 {
        let result = try await client.json(client.request(.POST, "/replication/promote", readTimeout: LeaderClient.preparationTimeout))
        guard case .object(let o) = result, case .int(let epoch)? = o["epoch"], epoch > 0 else {
            throw ReplicationError.leader(status: 200, message: "the promotion answer has no `epoch`")
        }
        return UInt64(epoch)
    }

    /// GETs `path`; returns the envelope's `result`.
    public func get(_ path: String) async throws -> JSONValue {
        try await client.json(client.request(.GET, path))
    }

    /// POSTs to `path` (with its query), waiting up to 5 minutes for the answer (the call
    /// does the work first, as a backup does); returns the envelope's `result`.
    public func post(_ path: String) async throws -> JSONValue {
        try await client.json(client.request(.POST, path, readTimeout: LeaderClient.preparationTimeout))
    }
}
