import HSDB
import HSDBCore

/// Qdrant's formula query, `{"formula": expression, "defaults": {name: value}}`, into the
/// engine's `Formula`. An expression is a number, a variable name (`$score[i]` or a payload
/// path), a filter condition, or an object keyed by its operation (`sum`, `mult`, `div`,
/// `pow`, `geo_distance`, `lin_decay`, ...). As Qdrant's untagged enum does, other keys beside
/// an operation's are ignored.
enum FormulaDecoding {
    static let maxDepth = 64

    /// Operations whose argument is one expression.
    private static let unary: [String: @Sendable (Formula.Expression) -> Formula.Expression] = [
        "neg": { .neg($0) }, "abs": { .abs($0) }, "sqrt": { .sqrt($0) }, "exp": { .exp($0) }, "log10": { .log10($0) }, "ln": { .ln($0) },
    ]

    static func query(_ f: JSONFields) throws -> Formula {
        guard let expression = f["formula"] else { throw APIError.format("\(f.path): missing field `formula`") }
        var formula = Formula(try self.expression(expression, path: f.fieldPath("formula"), depth: 0))
        formula.defaults = try defaults(f)
        return formula
    }

    /// `defaults`: each name a variable, a score's default a number (Qdrant's validation, 422).
    private static func defaults(_ f: JSONFields) throws -> [Formula.Variable: JSONValue] {
        guard let given = try f.object("defaults") else { return [:] }
        var out: [Formula.Variable: JSONValue] = [:]
        for (name, value) in given.values.sorted(by: { $0.key < $1.key }) {
            let variable: Formula.Variable
            do throws(FormulaError) {
                variable = try Formula.Variable(parsing: name)
            } catch {
                guard case .invalidVariable(_, let reason) = error else { throw error }
                throw APIError.validation(given.path, reason)
            }
            if case .score = variable, (try? JSONFields.number(value, path: "")) == nil {
                throw APIError.validation(given.path, "Validation error: Score default must be a number [{}]")
            }
            out[variable] = value
        }
        return out
    }

    static func expression(_ value: JSONValue, path: String, depth: Int) throws -> Formula.Expression {
        guard depth < maxDepth else { throw APIError.wrongInput("\(path): formula expressions nest deeper than \(maxDepth) levels") }
        switch value {
        case .int(let i): return .constant(Float(i))
        case .double(let d): return .constant(Float(d))
        case .string(let name): return .variable(try Formula.Variable(parsing: name))
        case .object: return try operation(try JSONFields(value, path: path), depth: depth)
        default: throw JSONFields.typeError(path, "a formula expression (a number, a variable name or an object)", value)
        }
    }

    /// An object: an operation by its key, else a filter condition.
    private static func operation(_ o: JSONFields, depth: Int) throws -> Formula.Expression {
        func inner(_ key: String) throws -> Formula.Expression {
            guard let v = o[key] else { throw APIError.format("\(o.path): missing field `\(key)`") }
            return try expression(v, path: o.fieldPath(key), depth: depth + 1)
        }
        func list(_ key: String) throws -> [Formula.Expression] {
            try (o.array(key) ?? []).enumerated().map { i, v in try expression(v, path: o.fieldPath("\(key)[\(i)]"), depth: depth + 1) }
        }
        if o.has("sum") { return .sum(try list("sum")) }
        if o.has("mult") { return .mult(try list("mult")) }
        if let (key, make) = unary.first(where: { o.has($0.key) }) { return make(try inner(key)) }
        if let div = try o.object("div") {
            return .div(
                left: try operation(div, "left", depth), right: try operation(div, "right", depth),
                byZero: try div.number("by_zero_default").map(Float.init))
        }
        if let pow = try o.object("pow") { return .pow(base: try operation(pow, "base", depth), exponent: try operation(pow, "exponent", depth)) }
        for kind in [Formula.Decay.Kind.linear, .exponential, .gaussian] {
            if let params = try o.object(kind.rawValue) { return try decay(kind, params, depth: depth) }
        }
        if let geo = try o.object("geo_distance") {
            guard let to = try geo.string("to") else { throw APIError.format("\(geo.path): missing field `to`") }
            return .geoDistance(origin: try FilterDecoding.geoPoint(geo, "origin"), to: to)
        }
        if let text = try o.string("datetime") {
            guard let seconds = PayloadDateTime.seconds(text) else { throw FormulaError.invalidDatetime(text) }
            return .datetime(seconds)
        }
        if let key = try o.string("datetime_key") { return .datetimeKey(key) }
        return .condition(try FilterDecoding.condition(.object(o.values), path: o.path, depth: 0))
    }

    /// A named argument of `div` or `pow`.
    private static func operation(_ params: JSONFields, _ key: String, _ depth: Int) throws -> Formula.Expression {
        guard let v = params[key] else { throw APIError.format("\(params.path): missing field `\(key)`") }
        return try expression(v, path: params.fieldPath(key), depth: depth + 1)
    }

    /// `{"x", "target", "scale", "midpoint"}`.
    private static func decay(_ kind: Formula.Decay.Kind, _ p: JSONFields, depth: Int) throws -> Formula.Expression {
        let decay = try Formula.Decay(kind, midpoint: try p.number("midpoint").map(Float.init), scale: try p.number("scale").map(Float.init))
        let x = try operation(p, "x", depth)
        let target = try p.has("target") ? operation(p, "target", depth) : nil
        return .decay(decay, x: x, target: target)
    }
}
