import HSDB
import HSDBCore

/// `with_payload`: true/false, a list of fields, `{"include": [...]}` or `{"exclude": [...]}`.
/// Fields are dotted paths (`metadata.source`).
enum PayloadSelector: Equatable {
    case none
    case all
    case include([[String]])
    case exclude([[String]])

    init(_ value: JSONValue?, path: String, default: Bool) throws {
        guard let value, value != .null else {
            self = `default` ? .all : .none
            return
        }
        switch value {
        case .bool(let b): self = b ? .all : .none
        case .array(let a): self = .include(try Self.paths(a, path: path))
        case .object(let o):
            if let inc = o["include"] {
                guard case .array(let a) = inc else { throw JSONFields.typeError("\(path).include", "an array of field names", inc) }
                self = .include(try Self.paths(a, path: "\(path).include"))
            } else if let exc = o["exclude"] {
                guard case .array(let a) = exc else { throw JSONFields.typeError("\(path).exclude", "an array of field names", exc) }
                self = .exclude(try Self.paths(a, path: "\(path).exclude"))
            } else {
                throw APIError.format("\(path): expected `include` or `exclude`")
            }
        default: throw JSONFields.typeError(path, "a boolean, a list of fields, or include/exclude", value)
        }
    }

    private static func paths(_ items: [JSONValue], path: String) throws -> [[String]] {
        var result: [[String]] = []
        for (i, item) in items.enumerated() {
            guard case .string(let s) = item else { throw JSONFields.typeError("\(path)[\(i)]", "a field name", item) }
            result.append(s.replacingOccurrences(of: "[]", with: "").split(separator: ".", omittingEmptySubsequences: false).map(String.init))
        }
        return result
    }

    var wantsPayload: Bool { self != .none }

    func apply(_ payload: Payload) -> Payload {
        switch self {
        case .none: return [:]
        case .all: return payload
        case .include(let paths):
            var out: Payload = [:]
            for p in paths { Self.copy(p[...], from: payload, into: &out) }
            return out
        case .exclude(let paths):
            var out = payload
            for p in paths { JSONValue.removeValue(atPath: p[...], from: &out) }
            return out
        }
    }

    private static func copy(_ path: ArraySlice<String>, from source: Payload, into out: inout Payload) {
        guard let head = path.first, let value = source[head] else { return }
        if path.count == 1 {
            out[head] = value
        } else if case .object(let inner) = value {
            var target: Payload = [:]
            if case .object(let existing) = out[head] { target = existing }
            copy(path.dropFirst(), from: inner, into: &target)
            if !target.isEmpty { out[head] = .object(target) }
        }
    }
}

/// `with_vector`: true/false or a list of vector names ("" is the unnamed vector).
enum VectorSelector {
    static func decode(_ value: JSONValue?, path: String) throws -> Bool {
        guard let value, value != .null else { return false }
        switch value {
        case .bool(let b): return b
        case .array(let names): return names.contains(.string(""))
        default: throw JSONFields.typeError(path, "a boolean or a list of vector names", value)
        }
    }

    /// `with_vector` of a body, or its alias (Qdrant's scroll and retrieve take `with_vectors`).
    static func decode(_ body: JSONFields, alias: String) throws -> Bool {
        if body.has("with_vector") { return try decode(body.values["with_vector"], path: body.fieldPath("with_vector")) }
        return try decode(body.values[alias], path: body.fieldPath(alias))
    }
}
