import HSDB
import HSDBCore

/// How the API names a collection's vectors: its one dense vector, Qdrant's default vector ""
/// (created as `vectors: {"size": ...}` or `vectors: {"": {...}}`) or the one name given at
/// creation (`vectors: {"name": {...}}`, as mcp-server-qdrant and LangChain's `vector_name`
/// create), and its named sparse vectors (`sparse_vectors`). The dense name lives in the
/// collection's attributes (`vector_name`, absent for ""), the sparse names in its config, so
/// snapshots, backups and followers carry both.
struct VectorNaming: Sendable, Equatable {
    /// The first dense vector's name; "" for Qdrant's default (unnamed) vector.
    let name: String
    let sparseNames: Set<String>
    /// The further dense vectors' names (`CollectionConfig.namedVectors`), and the dimension of
    /// those that are multivectors (written and read as lists of vectors).
    let laneNames: Set<String>
    let multivectors: [String: Int]

    static let attributeKey = "vector_name"
    /// A collection whose dense vectors are all multivectors has a placeholder first vector
    /// (attribute `vector_placeholder`) that no point carries and no request can name.
    static let placeholderKey = "vector_placeholder"
    static let placeholderName = "\u{0}hsdb-placeholder"
    static let unnamed = VectorNaming(name: "")

    init(name: String, sparseNames: Set<String> = [], laneNames: Set<String> = [], multivectors: [String: Int] = [:]) {
        self.name = name
        self.sparseNames = sparseNames
        self.laneNames = laneNames
        self.multivectors = multivectors
    }

    init(_ config: CollectionConfig) {
        if case .string(let s) = config.attributes[Self.attributeKey] { name = s } else { name = "" }
        sparseNames = Set(config.sparseVectors.keys)
        laneNames = Set(config.namedVectors.map(\.name))
        multivectors = Dictionary(uniqueKeysWithValues: config.namedVectors.filter(\.multivector).map { ($0.name, $0.dimension) })
    }

    /// The further dense vector `name` given as `value`: a list of numbers, or for a
    /// multivector a list of such lists (one after another in the result; a plain list is
    /// refused there, as Qdrant refuses it, unless `query`, where it is one vector).
    /// A plain list for a multivector is one vector (Qdrant's legacy form). The checks are
    /// Qdrant's, with its texts: `[]` is an empty dense vector, an empty row or rows of
    /// different sizes are refused at `<path>.data` (a named vector's name written `?`).
    func lane(_ name: String, _ value: JSONValue, path: String, query: Bool = false) throws -> [Float] {
        // A query's vector is not checked for emptiness (Qdrant's answer is the dimension error).
        func plain() throws -> [Float] { query ? try PointDecoding.dense(value, path: path) : try Self.dense(value, path: path) }
        guard multivectors[name] != nil else { return try plain() }
        guard case .array(let rows) = value else { throw JSONFields.typeError(path, "a list of vectors", value) }
        if rows.first.map({ if case .array = $0 { false } else { true } }) ?? true { return try plain() }
        let data = Self.qdrantPath(path) + ".data"
        var flat: [Float] = []
        var size: Int?
        for (i, row) in rows.enumerated() {
            let v = try PointDecoding.dense(row, path: "\(path)[\(i)]")
            guard !v.isEmpty else { throw APIError.validation(data, "all vectors must be non-empty") }
            guard size == nil || size == v.count else {
                throw APIError.validation(data, "all vectors must have the same dimension, found vector with dimension \(v.count)")
            }
            size = v.count
            flat += v
        }
        return flat
    }

    /// A dense vector; `[]` is refused as Qdrant refuses it (422).
    static func dense(_ value: JSONValue, path: String) throws -> [Float] {
        let v = try PointDecoding.dense(value, path: path)
        guard !v.isEmpty else { throw APIError.validation(qdrantPath(path), "dense vector must not be empty") }
        return v
    }

    /// `points[0].vector["name"]` as Qdrant names it in errors: `points[0].vector.?`.
    static func qdrantPath(_ path: String) -> String {
        guard path.hasSuffix("\"]"), let open = path.range(of: "[\"", options: .backwards) else { return path }
        return path[..<open.lowerBound] + ".?"
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
        if laneNames.contains(asked) { return .named(asked) }
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

    /// A point's vectors: the first dense one, sparse ones and further dense ones by name.
    struct Vectors {
        var dense: [Float]?
        var sparse: [String: SparseVector] = [:]
        var named: [String: [Float]] = [:]
    }

    /// The vectors of a point (`{"name": vector, ...}` or a plain list, the default vector ""):
    /// the dense ones present, and sparse ones by name. Names the collection lacks are refused
    /// as Qdrant refuses them.
    func vectors(_ value: JSONValue, path: String) throws -> Vectors {
        guard case .object(let given) = value else {
            if name != "", multivectors[""] != nil { return Vectors(named: ["": try lane("", value, path: path)]) }  // an unnamed multivector
            guard name.isEmpty else { throw Self.notExisting("") }
            return Vectors(dense: try Self.dense(value, path: path))
        }
        if sparseNames.isEmpty, given.keys.contains("indices") || given.keys.contains("values") {
            throw APIError.unsupported("\(path): a sparse vector in a collection without sparse vectors")
        }
        var out = Vectors()
        for (key, v) in given.sorted(by: { $0.key < $1.key }) {
            if key == name {
                out.dense = try Self.dense(v, path: "\(path)[\"\(key)\"]")
            } else if laneNames.contains(key) {
                out.named[key] = try lane(key, v, path: "\(path)[\"\(key)\"]")
            } else if sparseNames.contains(key) {
                out.sparse[key] = try Self.sparseVector(v, path: "\(path).?")
            } else {
                // Qdrant validates the values before it looks the name up.
                if case .object = v { _ = try Self.sparseVector(v, path: "\(path).?") }
                if case .array(let a) = v, a.isEmpty { _ = try Self.dense(v, path: "\(path)[\"\(key)\"]") }
                throw Self.notExisting(key)
            }
        }
        return out
    }

    /// A dense query vector given as a point's vector would be (`[...]` or `{"name": [...]}`),
    /// for the dense vector `lane` (nil: the first).
    func pointVector(_ value: JSONValue, path: String, lane: String? = nil) throws -> [Float] {
        let given = try vectors(value, path: path)
        if lane == nil, given.dense == nil, let unnamed = given.named[""], name != "" { return unnamed }
        guard let dense = lane.map({ given.named[$0] }) ?? given.dense else { throw Self.notExisting(lane ?? name) }
        return dense
    }

    /// What `with_vector` asks for: the first dense vector, and which sparse and further
    /// dense vectors.
    struct Selection: Equatable {
        var dense = false
        var sparse: Set<String> = []
        var named: Set<String> = []
        var any: Bool { dense || !sparse.isEmpty || !named.isEmpty }
        static let none = Selection()
    }

    /// Every vector of the collection (`with_vector: true`).
    var everything: Selection { Selection(dense: true, sparse: sparseNames, named: laneNames) }

    /// `with_vector`/`with_vectors`: true, false, or a list of names (a name the collection
    /// lacks: 400, as in Qdrant).
    func selection(_ value: JSONValue?, path: String) throws -> Selection {
        guard let value, value != .null else { return .none }
        switch value {
        case .bool(let b): return b ? everything : .none
        case .array(let names):
            var s = Selection()
            for (i, n) in names.enumerated() {
                guard case .string(let asked) = n else { throw JSONFields.typeError("\(path)[\(i)]", "a vector name", n) }
                if asked == name {
                    s.dense = true
                } else if sparseNames.contains(asked) {
                    s.sparse.insert(asked)
                } else if laneNames.contains(asked) {
                    s.named.insert(asked)
                } else {
                    throw Self.notExisting(asked)  // as Qdrant answers it
                }
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
    func write(
        dense: [Float]?, sparse: [String: SparseVector]?, named: [String: [Float]]? = nil, _ selection: Selection, to w: inout JSONTextWriter
    ) {
        guard selection.any, dense != nil || sparse != nil || named != nil else { return }
        w.key("vector")
        let dense = selection.dense ? dense : nil
        let sparse = (sparse ?? [:]).filter { selection.sparse.contains($0.key) }
        let named = (named ?? [:]).filter { selection.named.contains($0.key) }
        if name.isEmpty, let dense, sparse.isEmpty, named.isEmpty { return w.floats(dense) }
        if dense == nil, sparse.isEmpty, named.count == 1, let unnamed = named[""], let d = multivectors[""] {  // an unnamed multivector
            w.beginArray()
            for start in stride(from: 0, to: unnamed.count, by: d) { w.floats(Array(unnamed[start..<min(start + d, unnamed.count)])) }
            return w.endArray()
        }
        w.beginObject()
        if let dense { w.key(name); w.floats(dense) }
        for (n, v) in named.sorted(by: { $0.key < $1.key }) {
            w.key(n)
            guard let d = multivectors[n], d > 0 else {
                w.floats(v)
                continue
            }
            w.beginArray()
            for start in stride(from: 0, to: v.count, by: d) { w.floats(Array(v[start..<min(start + d, v.count)])) }
            w.endArray()
        }
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
