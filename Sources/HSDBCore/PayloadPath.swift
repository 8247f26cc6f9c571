/// A key path into a payload, as Qdrant writes them: `a.b` steps through object keys only,
/// `a[]` into every element of the array at `a`, `a[2]` into one element. A plain dot never
/// enters an array (`cities.name` finds nothing when `cities` is an array; `cities[].name`
/// does). A part whose brackets do not parse is taken as a key, as written.
public struct PayloadPath: Hashable, Sendable, CustomStringConvertible {
    public enum Step: Hashable, Sendable {
        case key(String)
        case everyElement
        case element(Int)
    }

    public let steps: [Step]
    public let description: String

    public init(_ text: String) {
        description = text
        var steps: [Step] = []
        for part in text.split(separator: ".", omittingEmptySubsequences: false) {
            steps += Self.parse(Substring(part))
        }
        self.steps = steps
    }

    /// `name`, then any number of `[]` or `[N]`.
    private static func parse(_ part: Substring) -> [Step] {
        guard let open = part.firstIndex(of: "["), part.last == "]" else { return [.key(String(part))] }
        var steps: [Step] = [.key(String(part[..<open]))]
        var rest = part[open...]
        while !rest.isEmpty {
            guard rest.first == "[", let close = rest.firstIndex(of: "]") else { return [.key(String(part))] }
            let inside = rest[rest.index(after: rest.startIndex)..<close]
            if inside.isEmpty {
                steps.append(.everyElement)
            } else if let n = Int(inside), n >= 0, inside.allSatisfy(\.isASCII) {
                steps.append(.element(n))
            } else {
                return [.key(String(part))]
            }
            rest = rest[rest.index(after: close)...]
        }
        return steps
    }

    /// The values at the path, as stored (a final array is one value).
    public func values(in payload: Payload) -> [JSONValue] {
        var current: [JSONValue] = [.object(payload)]
        for step in steps {
            switch step {
            case .key(let k):
                current = current.compactMap { if case .object(let o) = $0 { return o[k] } else { return nil } }
            case .everyElement:
                current = current.flatMap { v -> [JSONValue] in if case .array(let a) = v { return a } else { return [] } }
            case .element(let n):
                current = current.compactMap { if case .array(let a) = $0, n < a.count { return a[n] } else { return nil } }
            }
            if current.isEmpty { break }
        }
        return current
    }

    /// What the path selects from `value`, shaped as in `value` (objects keep only the keys
    /// on the path, arrays the elements selected), or nil when it selects nothing.
    public func selected(from payload: Payload) -> Payload? {
        guard case .object(let o)? = Self.select(steps[...], from: .object(payload)) else { return nil }
        return o
    }

    private static func select(_ steps: ArraySlice<Step>, from value: JSONValue) -> JSONValue? {
        guard let step = steps.first else { return value }
        let rest = steps.dropFirst()
        switch (step, value) {
        case (.key(let k), .object(let o)):
            guard let inner = o[k], let sub = select(rest, from: inner) else { return nil }
            return .object([k: sub])
        case (.everyElement, .array(let a)):
            return .array(a.compactMap { select(rest, from: $0) })
        case (.element(let n), .array(let a)):
            guard n < a.count, let sub = select(rest, from: a[n]) else { return nil }
            return .array([sub])
        default:
            return nil
        }
    }

    /// Removes what the path selects from `payload`; nothing on the path leaves it as it is.
    public func remove(from payload: inout Payload) {
        var value = JSONValue.object(payload)
        Self.remove(steps[...], from: &value)
        if case .object(let o) = value { payload = o }
    }

    private static func remove(_ steps: ArraySlice<Step>, from value: inout JSONValue) {
        guard let step = steps.first else { return }
        let last = steps.count == 1
        switch (step, value) {
        case (.key(let k), .object(var o)):
            if last {
                o[k] = nil
            } else if var inner = o[k] {
                remove(steps.dropFirst(), from: &inner)
                o[k] = inner
            }
            value = .object(o)
        case (.everyElement, .array(var a)):
            if last { a = [] } else { for i in a.indices { remove(steps.dropFirst(), from: &a[i]) } }
            value = .array(a)
        case (.element(let n), .array(var a)) where n < a.count:
            if last { a.remove(at: n) } else { remove(steps.dropFirst(), from: &a[n]) }
            value = .array(a)
        default:
            return
        }
    }
}

extension JSONValue {
    /// `other` merged into `self`: objects key by key, arrays of equal length element by
    /// element (two selections from the same array), anything else replaced by `other`.
    public func merged(with other: JSONValue) -> JSONValue {
        switch (self, other) {
        case (.object(var a), .object(let b)):
            for (k, v) in b { a[k] = a[k].map { $0.merged(with: v) } ?? v }
            return .object(a)
        case (.array(let a), .array(let b)) where a.count == b.count:
            return .array(zip(a, b).map { $0.merged(with: $1) })
        default:
            return other
        }
    }
}
