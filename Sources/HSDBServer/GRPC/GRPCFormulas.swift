import HSDBCore
import QdrantAPI

/// A formula query's expression as REST's formula JSON.
enum GRPCFormulas {
    /// Deeper nesting is refused here, before it can exhaust the stack (REST refuses it too).
    static let maxDepth = 64

    static func expression(_ e: Qdrant_Expression, depth: Int = 0) throws -> JSONValue {
        guard depth < maxDepth else { throw GRPCValues.invalid("formula expressions nest deeper than \(maxDepth) levels") }
        func inner(_ x: Qdrant_Expression) throws -> JSONValue { try expression(x, depth: depth + 1) }
        switch e.variant {
        case .constant(let c)?: return .double(Double(c))
        case .variable(let name)?: return .string(name)
        case .condition(let c)?: return try GRPCFilters.condition(c)
        case .geoDistance(let g)?: return ["geo_distance": ["origin": GRPCFilters.point(g.origin), "to": .string(g.to)]]
        case .datetime(let s)?: return ["datetime": .string(s)]
        case .datetimeKey(let k)?: return ["datetime_key": .string(k)]
        case .mult(let m)?: return ["mult": .array(try m.mult.map(inner))]
        case .sum(let s)?: return ["sum": .array(try s.sum.map(inner))]
        case .div(let d)?:
            var o: [String: JSONValue] = ["left": try inner(d.left), "right": try inner(d.right)]
            if d.hasByZeroDefault { o["by_zero_default"] = .double(Double(d.byZeroDefault)) }
            return ["div": .object(o)]
        case .neg(let x)?: return ["neg": try inner(x)]
        case .abs(let x)?: return ["abs": try inner(x)]
        case .sqrt(let x)?: return ["sqrt": try inner(x)]
        case .pow(let p)?: return ["pow": ["base": try inner(p.base), "exponent": try inner(p.exponent)]]
        case .exp(let x)?: return ["exp": try inner(x)]
        case .log10(let x)?: return ["log10": try inner(x)]
        case .ln(let x)?: return ["ln": try inner(x)]
        case .expDecay(let p)?: return ["exp_decay": try decay(p, depth)]
        case .gaussDecay(let p)?: return ["gauss_decay": try decay(p, depth)]
        case .linDecay(let p)?: return ["lin_decay": try decay(p, depth)]
        case nil: throw GRPCValues.invalid("a formula expression sets none of its kinds")
        }
    }

    static func decay(_ p: Qdrant_DecayParamsExpression, _ depth: Int) throws -> JSONValue {
        var o: [String: JSONValue] = ["x": try expression(p.x, depth: depth + 1)]
        if p.hasTarget { o["target"] = try expression(p.target, depth: depth + 1) }
        if p.hasScale { o["scale"] = .double(Double(p.scale)) }
        if p.hasMidpoint { o["midpoint"] = .double(Double(p.midpoint)) }
        return .object(o)
    }
}
