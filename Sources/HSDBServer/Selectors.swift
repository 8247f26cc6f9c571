import HSDB
import HSDBCore

/// `with_payload`: true/false, a list of fields, `{"include": [...]}` or `{"exclude": [...]}`.
/// Fields are key paths (`metadata.source`, `cities[].name`, `cities[0]`: `PayloadPath`).
enum PayloadSelector: Equatable {
    case none
    case all
    case include([PayloadPath])
    case exclude([PayloadPath])

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

    private static func paths(_ items: [JSONValue], path: String) throws -> [PayloadPath] {
        try items.enumerated().map { i, item in
            guard case .string(let s) = item else { throw JSONFields.typeError("\(path)[\(i)]", "a field name", item) }
            return PayloadPath(s)
        }
    }

    var wantsPayload: Bool { self != .none }

    func apply(_ payload: Payload) -> Payload {
        switch self {
        case .none: return [:]
        case .all: return payload
        case .include(let paths):
            var out = JSONValue.object([:])
            for p in paths { if let part = p.selected(from: payload) { out = out.merged(with: .object(part)) } }
            guard case .object(let o) = out else { return [:] }
            return o
        case .exclude(let paths):
            var out = payload
            for p in paths { p.remove(from: &out) }
            return out
        }
    }
}
