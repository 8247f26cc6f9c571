import Foundation
import HSDBCore

extension Formula {
    /// What a formula sees of one point.
    public struct Inputs {
        /// The point's score in each prefetch (nil: not among that prefetch's hits).
        public var scores: [Float?]
        public var payload: Payload
        /// Whether the point satisfies a condition of the formula.
        public var holds: (Condition) -> Bool

        public init(scores: [Float?], payload: Payload = [:], holds: @escaping (Condition) -> Bool = { _ in false }) {
            self.scores = scores
            self.payload = payload
            self.holds = holds
        }
    }

    /// The point's new score. As in Qdrant: a product stops at its first 0, a quotient with a
    /// 0 numerator is 0 (its denominator unread), and a non-finite result of sqrt, pow, exp,
    /// log10, ln or div, or a final value a Float cannot hold, is an error, not a score.
    public func score(_ inputs: Inputs) throws(FormulaError) -> Float {
        let value = try evaluate(expression, inputs)
        let score = Float(value)
        guard score.isFinite else {
            throw .nonFinite(expression: "\(FormulaError.text(value)) as f32 = \(FormulaError.text(Double(score)))")
        }
        return score
    }

    private func evaluate(_ e: Expression, _ inputs: Inputs) throws(FormulaError) -> Double {
        switch e {
        case .constant(let c): return Double(c)
        case .variable(.score(let i)): return score(i, inputs)
        case .variable(.payload(let path)):
            return try value(path, inputs, expected: "number") { v throws(ValueError) in
                guard let n = v.number else { throw ValueError("Value is not a number") }
                return n
            }
        case .condition(let c): return inputs.holds(c) ? 1 : 0
        case .geoDistance(let origin, let to):
            let point = try value(to, inputs, expected: "geo point") { v throws(ValueError) in
                guard let p = GeoPoint.all([v]).first else { throw ValueError("Value is not a geo point") }
                return p
            }
            return origin.meters(to: point)
        case .datetime(let seconds): return seconds
        case .datetimeKey(let path):
            return try value(path, inputs, expected: "datetime") { v throws(ValueError) in
                guard case .string(let s) = v else { throw ValueError("Value is not a string") }
                guard let seconds = PayloadDateTime.seconds(s) else { throw ValueError("Value is not an RFC 3339 datetime") }
                return seconds
            }
        case .mult(let items):
            var product = 1.0
            for item in items {
                let v = try evaluate(item, inputs)
                if v == 0 { return 0 }
                product *= v
            }
            return product
        case .sum(let items):
            var sum = 0.0
            for item in items { sum += try evaluate(item, inputs) }
            return sum
        case .neg(let x): return -(try evaluate(x, inputs))
        case .abs(let x): return Swift.abs(try evaluate(x, inputs))
        case .div(let left, let right, let byZero): return try divide(left, right, byZero, inputs)
        default: return try evaluateFunction(e, inputs)
        }
    }

    /// The functions whose results may leave the finite numbers: sqrt, pow, exp, log10, ln,
    /// and the decays (which cannot).
    private func evaluateFunction(_ e: Expression, _ inputs: Inputs) throws(FormulaError) -> Double {
        func finite(_ x: Double, _ shown: @autoclosure () -> String) throws(FormulaError) -> Double {
            guard x.isFinite else { throw .nonFinite(expression: "\(shown()) = \(FormulaError.text(x))") }
            return x
        }
        let t = FormulaError.text
        switch e {
        case .sqrt(let x):
            let v = try evaluate(x, inputs)
            return try finite(v.squareRoot(), "√\(t(v))")
        case .pow(let base, let exponent):
            let b = try evaluate(base, inputs), p = try evaluate(exponent, inputs)
            return try finite(Foundation.pow(b, p), "\(t(b))^\(t(p))")
        case .exp(let x):
            let v = try evaluate(x, inputs)
            return try finite(Foundation.exp(v), "exp(\(t(v)))")
        case .log10(let x):
            let v = try evaluate(x, inputs)
            return try finite(Foundation.log10(v), "log10(\(t(v)))")
        case .ln(let x):
            let v = try evaluate(x, inputs)
            return try finite(Foundation.log(v), "ln(\(t(v)))")
        case .decay(let decay, let x, let target):
            let xv = try evaluate(x, inputs)
            var tv = 0.0  // Qdrant's default target
            if let target { tv = try evaluate(target, inputs) }
            return decay.value(xv, tv)
        default:
            preconditionFailure("evaluate handles \(e)")
        }
    }

    private func divide(_ left: Expression, _ right: Expression, _ byZero: Float?, _ inputs: Inputs) throws(FormulaError) -> Double {
        let l = try evaluate(left, inputs)
        if l == 0 { return 0 }
        let r = try evaluate(right, inputs)
        if r == 0, let byZero { return Double(byZero) }
        let q = l / r
        guard q.isFinite else { throw .nonFinite(expression: "\(FormulaError.text(l))/\(FormulaError.text(r)) = \(FormulaError.text(q))") }
        return q
    }

    /// Prefetch i's score for the point; else the default for `$score[i]` if it is a number;
    /// else 0.
    private func score(_ i: Int, _ inputs: Inputs) -> Double {
        if i < inputs.scores.count, let s = inputs.scores[i] { return Double(s) }
        return defaults[.score(i)]?.number ?? 0
    }

    private struct ValueError: Error {
        let reason: String
        init(_ reason: String) { self.reason = reason }
    }

    /// The payload value at `path` read by `read`: Qdrant's rules, where arrays are entered
    /// (one value stands for itself; several make an array, which is no number) and nulls
    /// count as missing (Qdrant's indexes hold none); a missing value is the default for the
    /// path, and without one an error.
    private func value<T>(
        _ path: String, _ inputs: Inputs, expected: String, _ read: (JSONValue) throws(ValueError) -> T
    ) throws(FormulaError) -> T {
        let found = FieldPath.values(path, in: inputs.payload).filter { $0 != .null }
        let v: JSONValue
        switch found.count {
        case 0:
            guard let d = defaults[.payload(path)] else {
                throw .variableType(path: path, expected: expected, reason: "No value found in a payload nor defaults")
            }
            v = d
        case 1: v = found[0]
        default: v = .array(found)
        }
        do throws(ValueError) {
            return try read(v)
        } catch {
            throw .variableType(path: path, expected: expected, reason: error.reason)
        }
    }
}
