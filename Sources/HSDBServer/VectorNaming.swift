import HSDB
import HSDBCore

/// How the API names a collection's one dense vector: Qdrant's default vector "" (created as
/// `vectors: {"size": ...}` or `vectors: {"": {...}}`), or the one name given at creation
/// (`vectors: {"name": {...}}`, as mcp-server-qdrant and LangChain's `vector_name` create).
/// The engine stores one vector per point either way; the name lives in the collection's
/// attributes (`vector_name`, absent for ""), so snapshots, backups and followers carry it.
struct VectorNaming: Sendable, Equatable {
    /// "" for Qdrant's default (unnamed) vector.
    let name: String

    static let attributeKey = "vector_name"
    static let unnamed = VectorNaming(name: "")

    init(name: String) { self.name = name }

    init(_ config: CollectionConfig) {
        if case .string(let s) = config.attributes[Self.attributeKey] { name = s } else { name = "" }
    }

    /// Records carry `{"name": [...]}`; the default vector is written as a plain list, as
    /// Qdrant writes a lone default vector.
    var writesNamedVectors: Bool { !name.isEmpty }

    /// Qdrant's answer for a vector name the collection does not have (400 "Wrong input").
    static func notExisting(_ name: String) -> APIError {
        APIError.wrongInput("Not existing vector name error: \(name)")
    }

    /// `using` of a query, or the `name` of a legacy search's named vector: nil means the
    /// default vector "".
    func check(using: String?) throws {
        let asked = using ?? ""
        guard asked == name else { throw Self.notExisting(asked) }
    }

    /// A point's vector: `[...]` (the default vector "") or `{"name": [...]}`. Sparse vectors
    /// and names the collection lacks are refused as Qdrant refuses them; a point without its
    /// vector is refused (hsdb stores exactly one dense vector per point).
    func pointVector(_ value: JSONValue, path: String) throws -> [Float] {
        guard case .object(let named) = value else {
            guard name.isEmpty else { throw Self.notExisting("") }
            return try PointDecoding.dense(value, path: path)
        }
        if named.keys.contains("indices") || named.keys.contains("values") { throw APIError.unsupported("\(path): sparse vectors") }
        if let other = named.keys.sorted().first(where: { $0 != name }) { throw Self.notExisting(other) }
        guard let vector = named[name] else {
            throw APIError.unsupported("\(path): a point without its vector `\(name)` (hsdb stores one dense vector per point)")
        }
        return try PointDecoding.dense(vector, path: "\(path)[\"\(name)\"]")
    }

    /// `with_vector`/`with_vectors`: true, false, or a list of names (this vector's name asks
    /// for it; other names select nothing).
    func wantsVector(_ value: JSONValue?, path: String) throws -> Bool {
        guard let value, value != .null else { return false }
        switch value {
        case .bool(let b): return b
        case .array(let names):
            for (i, n) in names.enumerated() {
                guard case .string = n else { throw JSONFields.typeError("\(path)[\(i)]", "a vector name", n) }
            }
            return names.contains(.string(name))
        default: throw JSONFields.typeError(path, "a boolean or a list of vector names", value)
        }
    }

    /// `with_vector` of a body, or its alias (Qdrant's scroll and retrieve take `with_vectors`).
    func wantsVector(_ body: JSONFields, alias: String) throws -> Bool {
        if body.has("with_vector") { return try wantsVector(body.values["with_vector"], path: body.fieldPath("with_vector")) }
        return try wantsVector(body.values[alias], path: body.fieldPath(alias))
    }

    /// The `vector` field of a record or scored point.
    func write(_ vector: [Float], to w: inout JSONTextWriter) {
        w.key("vector")
        if writesNamedVectors {
            w.beginObject()
            w.key(name); w.floats(vector)
            w.endObject()
        } else {
            w.floats(vector)
        }
    }
}
