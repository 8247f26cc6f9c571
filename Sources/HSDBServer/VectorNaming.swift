import HSDB
import HSDBCore

/// How the API names a collection's vectors: its one dense vector, Qdrant's default vector ""
/// (created as `vectors: {"size": ...}` or `vectors: {"": {...}}`) or the one name given at
/// creation (`vectors: {"name": {...}}`, as mcp-server-qdrant and LangChain's `vector_name`
/// create), and its named sparse vectors (`sparse_vectors`). The dense name lives in the
/// collection's attributes (`vector_name`, absent for ""), the sparse names in its config, so
/// snapshots, backups and followers carry both.
struct VectorNaming: Sendable, Equatable {
    /// The dense vector's name; "" for Qdrant's default (unnamed) vector.
    let name: String
    let sparseNames: Set<String>

    static let attributeKey = "vector_name"
    static let unnamed = VectorNaming(name: "")

    init(name: String, sparseNames: Set<String> = []) {
        self.name = name
        self.sparseNames = sparseNames
    }

    init(_ config: CollectionConfig) {
        if case .string(let s) = config.attributes[Self.attributeKey] { name = s } else { name = "" }
        sparseNames = Set(config.sparseVectors.keys)
    }

    /// Qdrant's answer for a vector name the collection does not have (400 "Wrong input").
    static func notExisting(_ name: String) -> APIError {
        APIError.wrongInput("Not existing vector name error: \(name)")
    }

    /// Which vector a query searches.
    typealias Using = Query.Using

    /// `using` of a query, or the `name` of a legacy search's named vector: nil means the
    /// default vector "".
    func using(_ asked: String?) throws -> Using {
        let asked = asked ?? ""
        if asked == name { return .dense }
        if sparseNames.contains(asked) { return .sparse(asked) }
        throw Self.notExisting(asked)
    }

    /// `{"indices": [...], "values": [...]}`, sorted by index; duplicate indices and unequal
    /// lengths are refused with Qdrant's 422 texts (`path` as Qdrant names it, the vector's
    /// name as `?`: `points[0].vector.?`), values that are not finite 32-bit floats with 400.
    static func sparseVector(_ value: JSONValue, path: String) throws -> SparseVector {
        let fields = try JSONFields(value, path: path)
        for key in fields.values.keys.sorted() where key != "indices" && key != "values" {
            throw APIError.format("\(fields.fieldPath(key)): unknown field, expected `indices` and `values`")
        }
        guard let indicesValue = fields["indices"] else { throw APIError.format("\(path): missing field `indices`") }
        guard let valuesValue = fields["values"] else { throw APIError.format("\(path): missing field `values`") }
        guard case .array(let rawIndices) = indicesValue else { throw JSONFields.typeError("\(path).indices", "an array of indices", indicesValue) }
        let indices = try rawIndices.enumerated().map { i, v -> UInt32 in
            guard case .int(let n) = v, n >= 0, n <= Int64(UInt32.max) else {
                throw JSONFields.typeError("\(path).indices[\(i)]", "an unsigned 32-bit integer", v)
            }
            return UInt32(n)
        }
        let values = try PointDecoding.dense(valuesValue, path: "\(path).values")
        switch SparseVector.validated(indices: indices, values: values) {
        case .success(let v): return v
        case .failure(.lengthMismatch):
            throw APIError.validation("\(path).values", "Validation error: must be the same length as indices [{}]")
        case .failure(.duplicateIndex):
            throw APIError.validation("\(path).indices", "Validation error: must be unique [{}]")
        case .failure(let e): throw APIError.wrongInput("\(path): \(e)")
        }
    }

    /// The vectors of a point (`{"name": vector, ...}` or a plain list, the default vector ""):
    /// the dense one if present, and sparse ones by name. Names the collection lacks are
    /// refused as Qdrant refuses them.
    func vectors(_ value: JSONValue, path: String) throws -> (dense: [Float]?, sparse: [String: SparseVector]) {
        guard case .object(let named) = value else {
            guard name.isEmpty else { throw Self.notExisting("") }
            return (try PointDecoding.dense(value, path: path), [:])
        }
        if sparseNames.isEmpty, named.keys.contains("indices") || named.keys.contains("values") {
            throw APIError.unsupported("\(path): a sparse vector in a collection without sparse vectors")
        }
        var dense: [Float]?
        var sparse: [String: SparseVector] = [:]
        for (key, v) in named.sorted(by: { $0.key < $1.key }) {
            if key == name {
                dense = try PointDecoding.dense(v, path: "\(path)[\"\(key)\"]")
            } else if sparseNames.contains(key) {
                sparse[key] = try Self.sparseVector(v, path: "\(path).?")
            } else {
                throw Self.notExisting(key)
            }
        }
        return (dense, sparse)
    }

    /// A dense query vector given as a point's vector would be (`[...]` or `{"name": [...]}`).
    func pointVector(_ value: JSONValue, path: String) throws -> [Float] {
        guard let dense = try vectors(value, path: path).dense else { throw Self.notExisting(name) }
        return dense
    }

    /// What `with_vector` asks for: the dense vector, and which sparse vectors.
    struct Selection: Equatable {
        var dense = false
        var sparse: Set<String> = []
        var any: Bool { dense || !sparse.isEmpty }
        static let none = Selection()
    }

    /// Every vector of the collection (`with_vector: true`).
    var everything: Selection { Selection(dense: true, sparse: sparseNames) }

    /// `with_vector`/`with_vectors`: true, false, or a list of names (names the collection
    /// lacks select nothing).
    func selection(_ value: JSONValue?, path: String) throws -> Selection {
        guard let value, value != .null else { return .none }
        switch value {
        case .bool(let b): return b ? everything : .none
        case .array(let names):
            var s = Selection()
            for (i, n) in names.enumerated() {
                guard case .string(let asked) = n else { throw JSONFields.typeError("\(path)[\(i)]", "a vector name", n) }
                if asked == name { s.dense = true } else if sparseNames.contains(asked) { s.sparse.insert(asked) }
            }
            return s
        default: throw JSONFields.typeError(path, "a boolean or a list of vector names", value)
        }
    }

    /// `with_vector` of a body, or its alias (Qdrant's scroll and retrieve take `with_vectors`).
    func selection(_ body: JSONFields, alias: String) throws -> Selection {
        if body.has("with_vector") { return try selection(body.values["with_vector"], path: body.fieldPath("with_vector")) }
        return try selection(body.values[alias], path: body.fieldPath(alias))
    }

    /// The `vector` field of a record or scored point, as `selection` asks (nothing if it
    /// asks for nothing, or the vectors were not read). As Qdrant writes them: the default
    /// vector `""` alone as a plain list, anything else by name (`{}` for none).
    func write(dense: [Float]?, sparse: [String: SparseVector]?, _ selection: Selection, to w: inout JSONTextWriter) {
        guard selection.any, dense != nil || sparse != nil else { return }
        w.key("vector")
        let dense = selection.dense ? dense : nil
        let sparse = (sparse ?? [:]).filter { selection.sparse.contains($0.key) }
        if name.isEmpty, let dense, sparse.isEmpty { return w.floats(dense) }
        w.beginObject()
        if let dense { w.key(name); w.floats(dense) }
        for (n, v) in sparse.sorted(by: { $0.key < $1.key }) {
            w.key(n)
            w.beginObject()
            w.key("indices"); w.beginArray(); for i in v.indices { w.int(Int(i)) }; w.endArray()
            w.key("values"); w.floats(v.values)
            w.endObject()
        }
        w.endObject()
    }
}
