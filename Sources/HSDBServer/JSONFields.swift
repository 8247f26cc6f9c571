import HSDBCore

/// Typed access to the fields of a JSON object in a request body. Every failure is a 400
/// naming the field by its path (`points[3].vector`) and saying what was expected. A field
/// that is `null` is dropped here, so it counts as not given everywhere (in checks of known
/// fields too), as in Qdrant, whose clients send every optional field, often as null.
/// (Values that are data, payloads, keep their nulls: they are read as JSON, not as fields.)
struct JSONFields {
    let values: [String: JSONValue]
    let path: String

    init(_ value: JSONValue, path: String) throws {
        guard case .object(let o) = value else { throw APIError.format("\(path.isEmpty ? "the body" : path): expected an object, got \(value.kindName)") }
        self.values = o.filter { $0.value != .null }
        self.path = path
    }

    func fieldPath(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    subscript(key: String) -> JSONValue? { values[key] }

    func has(_ key: String) -> Bool { self[key] != nil }

    func object(_ key: String) throws -> JSONFields? {
        guard let v = self[key] else { return nil }
        return try JSONFields(v, path: fieldPath(key))
    }

    func array(_ key: String) throws -> [JSONValue]? {
        guard let v = self[key] else { return nil }
        guard case .array(let a) = v else { throw Self.typeError(fieldPath(key), "an array", v) }
        return a
    }

    func string(_ key: String) throws -> String? {
        guard let v = self[key] else { return nil }
        guard case .string(let s) = v else { throw Self.typeError(fieldPath(key), "a string", v) }
        return s
    }

    func bool(_ key: String) throws -> Bool? {
        guard let v = self[key] else { return nil }
        guard case .bool(let b) = v else { throw Self.typeError(fieldPath(key), "a boolean", v) }
        return b
    }

    /// A non-negative integer no larger than `max`.
    func count(_ key: String, max: Int = Int(Int32.max)) throws -> Int? {
        guard let v = self[key] else { return nil }
        guard case .int(let i) = v, i >= 0 else { throw Self.typeError(fieldPath(key), "a non-negative integer", v) }
        guard i <= max else { throw APIError.wrongInput("\(fieldPath(key)) is \(i); the limit is \(max)") }
        return Int(i)
    }

    /// A result count (`limit`, `offset`): any non-negative integer, however large (one past
    /// Int64 arrives as a double). A value over `max` is brought down to the number of points
    /// there are (`available`, asked only then): asking for more than exists gets them all, as
    /// in Qdrant, and nothing is sized by the number asked. Over `max` even then: 400.
    func resultCount(_ key: String, max: Int, available: () -> Int) throws -> Int? {
        guard let v = self[key] else { return nil }
        let asked: Double
        switch v {
        case .int(let i) where i >= 0:
            if i <= max { return Int(i) }
            asked = Double(i)
        case .double(let d) where d >= 0 && d.rounded() == d && d.isFinite:
            asked = d
        default:
            throw Self.typeError(fieldPath(key), "a non-negative integer", v)
        }
        let n = available()
        guard asked > Double(n), n <= max else {
            throw APIError.wrongInput("\(fieldPath(key)) asks for more than \(max) results; the limit is \(max)")
        }
        return n
    }

    func number(_ key: String) throws -> Double? {
        guard let v = self[key] else { return nil }
        return try Self.number(v, path: fieldPath(key))
    }

    static func number(_ v: JSONValue, path: String) throws -> Double {
        switch v {
        case .int(let i): return Double(i)
        case .double(let d): return d
        default: throw typeError(path, "a number", v)
        }
    }

    static func typeError(_ path: String, _ expected: String, _ got: JSONValue) -> APIError {
        .format("\(path): expected \(expected), got \(got.kindName)")
    }
}

extension JSONValue {
    /// What kind of value this is, for error messages (never the value itself).
    var kindName: String {
        switch self {
        case .null: return "null"
        case .bool: return "a boolean"
        case .int(let i): return i < 0 ? "a negative integer" : "an integer"
        case .double(let d): return d == d.rounded() ? "a number" : "a fractional number"
        case .string: return "a string"
        case .array: return "an array"
        case .object: return "an object"
        }
    }
}
