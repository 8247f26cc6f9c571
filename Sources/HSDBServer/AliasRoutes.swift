import HSDB
import HSDBCore
import Hummingbird

extension API {
    /// Qdrant's aliases: `POST /collections/aliases` (create, delete, rename; all or none),
    /// `GET /aliases`, `GET /collections/{c}/aliases`. Every route that takes a collection name
    /// takes an alias (`Database.collection`).
    func registerAliases(on router: Router<Context>) {
        on(router, .post, "/collections/aliases") { request, context, start in
            let body = try await body(request)
            guard let list = try body.array("actions") else { throw APIError.format("missing field `actions`") }
            let actions = try list.enumerated().map { i, item in try Self.aliasAction(item, path: "actions[\(i)]") }
            try await db.updateAliases(actions)
            return Envelope.ok(since: start) { $0.bool(true) }
        }
        on(router, .get, "/aliases") { _, _, start in
            let aliases = try db.aliases()
            return Envelope.ok(since: start) { w in Self.write(aliases, to: &w) }
        }
        on(router, .get, "/collections/:collection/aliases") { _, context, start in
            let name = try collection(context).name
            let aliases = try db.aliases().filter { $0.collection == name }
            return Envelope.ok(since: start) { w in Self.write(aliases, to: &w) }
        }
    }

    /// One of `{"create_alias": {"collection_name", "alias_name"}}`, `{"delete_alias":
    /// {"alias_name"}}`, `{"rename_alias": {"old_alias_name", "new_alias_name"}}`.
    private static func aliasAction(_ value: JSONValue, path: String) throws -> AliasAction {
        let entry = try JSONFields(value, path: path)
        guard entry.values.count == 1, let (kind, body) = entry.values.first else {
            throw APIError.format("\(path): expected one of `create_alias`, `delete_alias`, `rename_alias`")
        }
        let f = try JSONFields(body, path: entry.fieldPath(kind))
        func name(_ key: String) throws -> String {
            guard let s = try f.string(key) else { throw APIError.format("\(f.path): missing field `\(key)`") }
            return s
        }
        switch kind {
        case "create_alias": return .create(alias: try name("alias_name"), collection: try name("collection_name"))
        case "delete_alias": return .delete(alias: try name("alias_name"))
        case "rename_alias": return .rename(from: try name("old_alias_name"), to: try name("new_alias_name"))
        default: throw APIError.format("\(path): unknown variant `\(kind)`, expected one of `create_alias`, `delete_alias`, `rename_alias`")
        }
    }

    private static func write(_ aliases: [(alias: String, collection: String)], to w: inout JSONTextWriter) {
        w.beginObject()
        w.key("aliases")
        w.beginArray()
        for a in aliases {
            w.beginObject(); w.key("alias_name"); w.string(a.alias); w.key("collection_name"); w.string(a.collection); w.endObject()
        }
        w.endArray()
        w.endObject()
    }
}
