import HSDB

/// Strict mode on requests that answer many hits per asked one: groups (`limit` groups of
/// `group_size` hits) and the distance matrix (`sample` points with `limit` pairs each).
extension StrictMode {
    /// Beside the query's own checks, Qdrant counts every hit a group query may answer against
    /// `max_query_limit`, and wants the field it groups by indexed by an index that answers
    /// `match` while unindexed filtering is off (`check_grouping_field`).
    func check(groups q: QueryRequest, groupBy: String, groupSize: Int, indexes: [String: PayloadIndexType]) throws {
        try check(q.limit * groupSize, against: "max_query_limit", name: "limit")
        guard values["unindexed_filtering_retrieve"] == .bool(false) else { return }
        guard let type = indexes[groupBy] else {
            throw Self.refusal("Index required but not found for \"\(groupBy)\"", "Create an index supporting `match` for this key.")
        }
        let answersMatch = !(schema[groupBy] ?? []).isDisjoint(with: [.keywordMatch, .intMatch, .uuidMatch, .boolMatch])
        if !answersMatch {
            throw Self.refusal("Index of type \"\(Self.kindName(type))\" found for \"\(groupBy)\"", "Create an index supporting `match` for this key.")
        }
    }

    /// The distance matrix's limit is `sample` × `limit`.
    func check(matrixSample sample: Int, limit: Int, filter: Filter?) throws {
        try check(sample * limit, against: "max_query_limit", name: "limit")
        try check(filter: filter, write: false)
    }

    /// As Rust's `Debug` prints Qdrant's `PayloadSchemaType`.
    static func kindName(_ type: PayloadIndexType) -> String {
        let name = CollectionSpec.schemaName(type)
        return name.prefix(1).uppercased() + name.dropFirst()
    }
}
