import Foundation

/// Why a formula cannot be read or cannot score a point. The texts are Qdrant's (its
/// `OperationError` variants), numbers written as Rust writes an f64.
public enum FormulaError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A name that is neither `$score[i]` nor a payload path.
    case invalidVariable(String, reason: String)
    /// A datetime constant that does not parse.
    case invalidDatetime(String)
    /// A decay's midpoint or scale out of range.
    case invalidParameter(String)
    /// A variable with no usable value: absent from the payload and from `defaults`, or not of
    /// the type expected (`number`, `geo point`, `datetime`).
    case variableType(path: String, expected: String, reason: String)
    /// An operation (or the final Float) gave NaN or an infinity; `expression` shows it.
    case nonFinite(expression: String)

    public var description: String {
        switch self {
        case .invalidVariable(let name, let reason): return "Validation failed: failed to parse variable ID \(name): \(reason)"
        case .invalidDatetime(let text): return "Validation failed: failed to parse date-time \(text): not an RFC 3339 datetime"
        case .invalidParameter(let reason): return "Validation failed: \(reason)"
        case .variableType(let path, let expected, let reason):
            return "Expected \(expected) value for \(path) in the payload and/or in the formula defaults. Error: \(reason)"
        case .nonFinite(let expression): return "The expression \(expression) produced a non-finite number"
        }
    }

    /// A number as Rust's `Display` writes an f64: `1`, `0.5`, `inf`, `NaN`.
    static func text(_ x: Double) -> String {
        if x.isNaN { return "NaN" }
        if x.isInfinite { return x < 0 ? "-inf" : "inf" }
        if x == x.rounded(), Swift.abs(x) < 1e15 { return String(Int64(x)) }
        return "\(x)"
    }
}
