import Foundation
import HSDBCore

/// Qdrant's formula query (score boosting): an arithmetic expression over each point of the
/// prefetches' hits that gives the point its new score. It reads the prefetches' scores
/// (`$score`, `$score[i]`), numbers, geo points and datetimes from the payload, and whether
/// filter conditions hold; `defaults` stand in for variables a point lacks. Numbers are
/// computed in double precision and the result stored as a Float, as Qdrant does
/// (`Formula+Evaluation.swift`; DESIGN.md, "Hybrid queries").
public struct Formula: Sendable {
    public indirect enum Expression: Sendable, Equatable {
        /// A number as the request gives it (a 32-bit float in Qdrant).
        case constant(Float)
        case variable(Variable)
        /// 1 when the point satisfies the condition, else 0.
        case condition(Condition)
        /// Meters from `origin` to the geo point at payload path `to` (haversine).
        case geoDistance(origin: GeoPoint, to: String)
        /// A datetime constant, in seconds since the Unix epoch.
        case datetime(Double)
        /// The datetime string at a payload path, in seconds since the Unix epoch.
        case datetimeKey(String)
        case mult([Expression])
        case sum([Expression])
        case neg(Expression)
        case abs(Expression)
        /// `left / right`; `byZero` answers a zero `right` instead of an error.
        case div(left: Expression, right: Expression, byZero: Float?)
        case sqrt(Expression)
        case pow(base: Expression, exponent: Expression)
        case exp(Expression)
        case log10(Expression)
        case ln(Expression)
        /// 1 at `target` (nil: 0), falling with the distance |x - target|; see `Decay`.
        case decay(Decay, x: Expression, target: Expression?)
    }

    /// What a name in a formula or in `defaults` reads: a prefetch's score or a payload value.
    public enum Variable: Sendable, Hashable {
        /// The score of prefetch i (`$score` is `$score[0]`).
        case score(Int)
        /// The payload value at a path (`PayloadPath`).
        case payload(String)

        /// Qdrant's reading of a name: `$score`, `$score[i]`, or a payload path; other names
        /// after `$` are reserved.
        public init(parsing name: String) throws(FormulaError) {
            guard name.hasPrefix("$") else {
                guard !name.isEmpty else { throw .invalidVariable(name, reason: "Invalid payload variable: \(name)") }
                self = .payload(name)
                return
            }
            let steps = PayloadPath(String(name.dropFirst())).steps
            guard case .key(let word)? = steps.first, !word.isEmpty else {
                throw .invalidVariable(name, reason: "Invalid reserved variable: \(name)")
            }
            guard word == "score" else { throw .invalidVariable(name, reason: "Invalid reserved word: \(name)") }
            switch steps.dropFirst().first {
            case nil: self = .score(0)
            case .element(let i)? where steps.count == 2: self = .score(i)
            default: throw .invalidVariable(name, reason: "Invalid reserved variable: \(name)")
            }
        }
    }

    /// A decay's shape, and `lambda`, which Qdrant derives from `scale` (the distance at which
    /// the decay gives `midpoint`) so the decay is a single exp (or a line) per point.
    public struct Decay: Sendable, Equatable {
        public enum Kind: String, Sendable {
            /// max(0, 1 - lambda |x - target|), lambda = (1 - midpoint) / scale.
            case linear = "lin_decay"
            /// exp(lambda |x - target|), lambda = ln(midpoint) / scale.
            case exponential = "exp_decay"
            /// exp(lambda (x - target)^2), lambda = ln(midpoint) / scale^2.
            case gaussian = "gauss_decay"
        }

        public let kind: Kind
        public let lambda: Double

        /// Qdrant's defaults: midpoint 0.5, scale 1. Both are 32-bit floats in Qdrant, so they
        /// are taken as Floats here too (0.1 is 0.100000001...).
        public init(_ kind: Kind, midpoint: Float? = nil, scale: Float? = nil) throws(FormulaError) {
            let midpoint = Double(midpoint ?? 0.5), scale = Double(scale ?? 1)
            switch kind {
            case .linear:
                guard (0...1).contains(midpoint) else {
                    throw .invalidParameter("Linear decay midpoint should be in the range [0.0, 1.0], got \(FormulaError.text(midpoint)).")
                }
            case .exponential, .gaussian:
                guard midpoint > 0, midpoint < 1 else {
                    throw .invalidParameter("Decay midpoint should be in the range (0.0, 1.0), got \(FormulaError.text(midpoint)).")
                }
            }
            guard scale > 0 else { throw .invalidParameter("Decay scale should be non-zero positive, got \(FormulaError.text(scale)).") }
            self.kind = kind
            switch kind {
            case .linear: lambda = (1 - midpoint) / scale
            case .exponential: lambda = Foundation.log(midpoint) / scale
            case .gaussian: lambda = Foundation.log(midpoint) / (scale * scale)
            }
        }

        /// The decay at distance `x - target`, in [0, 1].
        func value(_ x: Double, _ target: Double) -> Double {
            let d = x - target
            switch kind {
            case .linear: return Swift.max(0, 1 - lambda * Swift.abs(d))
            case .exponential: return Foundation.exp(lambda * Swift.abs(d))
            case .gaussian: return Foundation.exp(lambda * d * d)
            }
        }
    }

    public var expression: Expression
    /// Values for variables a point lacks: a number for a score, a payload value for a path.
    public var defaults: [Variable: JSONValue]

    public init(_ expression: Expression, defaults: [Variable: JSONValue] = [:]) {
        self.expression = expression
        self.defaults = defaults
    }

    /// Every condition the expression tests, in order of appearance.
    public var conditions: [Condition] {
        var found: [Condition] = []
        expression.visit { if case .condition(let c) = $0 { found.append(c) } }
        return found
    }

    /// Whether evaluating needs the points' payloads (a payload variable, a geo point or a
    /// datetime read from them).
    public var readsPayload: Bool {
        var reads = false
        expression.visit {
            switch $0 {
            case .variable(.payload), .geoDistance, .datetimeKey: reads = true
            default: break
            }
        }
        return reads
    }
}

extension Formula.Expression {
    /// Calls `body` on this expression and every one below it, parents first.
    public func visit(_ body: (Formula.Expression) -> Void) {
        body(self)
        switch self {
        case .constant, .variable, .condition, .geoDistance, .datetime, .datetimeKey: break
        case .mult(let items), .sum(let items): for e in items { e.visit(body) }
        case .neg(let e), .abs(let e), .sqrt(let e), .exp(let e), .log10(let e), .ln(let e): e.visit(body)
        case .div(let l, let r, _): l.visit(body); r.visit(body)
        case .pow(let b, let e): b.visit(body); e.visit(body)
        case .decay(_, let x, let target): x.visit(body); target?.visit(body)
        }
    }
}
