/// Qdrant's default full-text tokenizer (`word`, lowercase): maximal runs of letters and
/// digits, lowercased; everything else separates tokens.
public enum TextTokens {
    public static func words(_ text: String) -> [String] {
        var tokens: [String] = []
        var current = ""
        for ch in text {
            if ch.isLetter || ch.isNumber {
                current.append(contentsOf: ch.lowercased())
            } else if !current.isEmpty {
                tokens.append(current)
                current = ""
            }
        }
        if !current.isEmpty { tokens.append(current) }
        return tokens
    }

    /// Whether `tokens` appear in `field` as `mode` asks.
    static func matches(_ field: [String], _ tokens: [String], _ mode: TextMatchMode) -> Bool {
        // No tokens: `text` matches everything, `text_any` and an empty phrase nothing (Qdrant).
        guard !tokens.isEmpty else { return mode == .all }
        switch mode {
        case .all:
            let present = Set(field)
            return tokens.allSatisfy(present.contains)
        case .any:
            let present = Set(field)
            return tokens.contains(where: present.contains)
        case .phrase:
            guard field.count >= tokens.count else { return false }
            return (0...(field.count - tokens.count)).contains { start in field[start..<(start + tokens.count)].elementsEqual(tokens) }
        }
    }
}

/// How a full-text condition's tokens must appear in a field's tokens.
public enum TextMatchMode: Sendable, Equatable {
    /// Every token (Qdrant's `match.text` on a field with a text index).
    case all
    /// At least one (`match.text_any`).
    case any
    /// All of them, consecutive and in order (`match.phrase`).
    case phrase
}

extension Filter {
    /// The filter with `matchText` on fields that have a text index turned into token
    /// matching, as Qdrant answers `match.text` there (without one it is a substring match).
    func resolvingText(_ indexes: [String: PayloadIndexType]) -> Filter {
        guard indexes.values.contains(.text) else { return self }
        func resolve(_ c: Condition) -> Condition {
            switch c {
            case .matchText(let key, let text) where indexes[key] == .text:
                return .textTokens(key: key, tokens: TextTokens.words(text), mode: .all)
            case .filter(let f): return .filter(f.resolvingText(indexes))
            default: return c
            }
        }
        var f = self
        f.must = must.map(resolve)
        f.should = should.map(resolve)
        f.mustNot = mustNot.map(resolve)
        if let m = minShould { f.minShould = Filter.MinShould(conditions: m.conditions.map(resolve), minCount: m.minCount) }
        return f
    }
}

extension Filter {
    /// `hasVector` conditions by the collection's names: `dense` (the first dense vector's
    /// name) to nil, `sparse` names (sparse and further dense ones) kept, any other name to a
    /// condition no point meets.
    func resolvingVectors(dense: String, sparse: Set<String>) -> Filter {
        func resolve(_ c: Condition) -> Condition {
            switch c {
            case .hasVector(let name?) where name == dense: return .hasVector(nil)
            case .hasVector(let name?) where !sparse.contains(name): return .hasID([])
            case .filter(let f): return .filter(f.resolvingVectors(dense: dense, sparse: sparse))
            case .nested(let key, let f): return .nested(key: key, filter: f.resolvingVectors(dense: dense, sparse: sparse))
            default: return c
            }
        }
        var f = self
        f.must = must.map(resolve)
        f.should = should.map(resolve)
        f.mustNot = mustNot.map(resolve)
        if let m = minShould { f.minShould = Filter.MinShould(conditions: m.conditions.map(resolve), minCount: m.minCount) }
        return f
    }
}

extension Collection {
    /// A filter as this collection evaluates it: text conditions by its text indexes, vector
    /// names by its vectors (the dense vector's name is the HTTP API's `vector_name`
    /// attribute, "" without it).
    func resolved(_ filter: Filter) -> Filter {
        let dense: String
        if case .string(let name)? = config.attributes["vector_name"] { dense = name } else { dense = "" }
        let named = Set(config.sparseVectors.keys).union(config.namedVectors.map(\.name))
        return filter.resolvingText(payloadIndexes).resolvingVectors(dense: dense, sparse: named)
    }
}

