import GRPCCore
import HSDBCore
import QdrantAPI

/// The aliases of `qdrant.Collections`, answered by REST's alias routes.
extension GRPCCollectionsService {
    func updateAliases(request r: Qdrant_ChangeAliases, context: ServerContext) async throws -> Qdrant_CollectionOperationResponse {
        let actions: [JSONValue] = try r.actions.map { a in
            switch a.action {
            case .createAlias(let c)?:
                ["create_alias": ["collection_name": .string(c.collectionName), "alias_name": .string(c.aliasName)]]
            case .renameAlias(let n)?:
                ["rename_alias": ["old_alias_name": .string(n.oldAliasName), "new_alias_name": .string(n.newAliasName)]]
            case .deleteAlias(let d)?: ["delete_alias": ["alias_name": .string(d.aliasName)]]
            case nil: throw GRPCValues.invalid("an alias operation sets none of its kinds")
            }
        }
        let timeout = r.hasTimeout ? "?timeout=\(r.timeout)" : ""
        let (result, time) = try await bridge.call(.post, "/collections/aliases\(timeout)", body: ["actions": .array(actions)])
        return Self.operation(result, time)
    }

    func listCollectionAliases(
        request r: Qdrant_ListCollectionAliasesRequest, context: ServerContext
    ) async throws -> Qdrant_ListAliasesResponse {
        Self.aliases(try await bridge.call(.get, "/collections/\(GRPCBridge.segment(r.collectionName))/aliases"))
    }

    func listAliases(request: Qdrant_ListAliasesRequest, context: ServerContext) async throws -> Qdrant_ListAliasesResponse {
        Self.aliases(try await bridge.call(.get, "/aliases"))
    }

    static func aliases(_ answer: (result: JSONValue, time: Double)) -> Qdrant_ListAliasesResponse {
        .with { reply in
            reply.aliases = GRPCJSON.array(answer.result, "aliases").map { a in
                .with {
                    if case .string(let s)? = GRPCJSON.field(a, "alias_name") { $0.aliasName = s }
                    if case .string(let s)? = GRPCJSON.field(a, "collection_name") { $0.collectionName = s }
                }
            }
            reply.time = answer.time
        }
    }
}
