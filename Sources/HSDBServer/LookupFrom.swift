import HSDB
import HSDBCore

/// `lookup_from: {"collection", "vector"}`: the examples a query gives as point ids are read
/// from another collection's vector (its default one unless `vector` names one), as Qdrant
/// reads them. Those points are then plain vectors: they are not left out of the results.
struct LookupFrom: Sendable {
    let collection: String
    let vector: String?

    static func decode(_ body: JSONFields) throws -> LookupFrom? {
        guard let o = try body.object("lookup_from") else { return nil }
        for key in o.values.keys.sorted() where key != "collection" && key != "vector" && key != "shard_key" {
            throw APIError.format("\(o.fieldPath(key)): unknown field, expected `collection`, `vector`")
        }
        guard let name = try o.string("collection") else { throw APIError.format("\(o.path): missing field `collection`") }
        return LookupFrom(collection: name, vector: try o.string("vector"))
    }

    /// Each id's vector in `source`: a missing point is 404, then a vector the collection
    /// lacks 400 (Qdrant's order and texts), a point without that vector 400.
    func vectors(of ids: [PointID], in source: Collection) throws -> [PointID: [Float]] {
        let records = try source.get(ids: ids, projection: .everything)
        let found = Dictionary(records.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        if let missing = ids.first(where: { found[$0] == nil }) { throw HSDBError.pointNotFound(missing) }
        let used = try VectorNaming(source.config).using(vector)
        return try found.mapValues { r in
            let v: [Float]?
            switch used {
            case .dense: v = r.vector
            case .named(let name): v = r.named?[name]
            case .sparse(let name): throw APIError.wrongInput("lookup_from: `\(name)` is a sparse vector; examples are dense")
            }
            guard let v else { throw APIError.wrongInput("lookup_from: point \(r.id) has no vector `\(vector ?? "")`") }
            return v
        }
    }
}

extension QueryRequest {
    /// The request with the example ids of every `lookup_from` (its own and its prefetches')
    /// replaced by the vectors they name there.
    func resolvingLookups(_ db: Database) throws -> QueryRequest {
        var q = self
        q.prefetch = try prefetch.map { try $0.resolvingLookups(db) }
        guard let lookup = lookupFrom else { return q }
        guard let source = try? db.collection(lookup.collection) else { throw APIError.notFound("Collection \(lookup.collection) not found") }
        let vectors = try lookup.vectors(of: target.exampleIDs, in: source)
        q.target = target.replacingExamples { example in
            if case .point(let id) = example, let v = vectors[id] { return .vector(v) }
            return example
        }
        return q
    }
}

extension Query.Target {
    /// The point ids its examples (and a `.point` target) name.
    var exampleIDs: [PointID] {
        var ids: [PointID] = []
        _ = replacingExamples { example in
            if case .point(let id) = example { ids.append(id) }
            return example
        }
        return ids
    }

    /// The target with each example (and a `.point` target, as an example) passed through
    /// `change`.
    func replacingExamples(_ change: (Query.Example) -> Query.Example) -> Query.Target {
        func pairs(_ list: [Query.ContextPair]) -> [Query.ContextPair] {
            list.map { Query.ContextPair(positive: change($0.positive), negative: change($0.negative)) }
        }
        switch self {
        case .point(let id):
            if case .vector(let v) = change(.point(id)) { return .vector(v) }
            return self
        case .recommend(let positive, let negative, let strategy):
            return .recommend(positive: positive.map(change), negative: negative.map(change), strategy: strategy)
        case .discover(let target, let context):
            return .discover(target: change(target), context: pairs(context))
        case .context(let context):
            return .context(pairs(context))
        case .none, .vector, .sparse, .fusion, .orderBy, .sample, .formula:
            return self
        }
    }
}
