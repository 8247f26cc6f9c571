import HSDBCore
import Replication

/// A write's body cut into one body per shard by the shard of each point's id (DESIGN.md,
/// "Shards: writes"): `points` (ids, or objects with an `id`) and `batch` (columns cut at the
/// same indexes) keep every other field as given. A body that selects points by `filter`
/// names no ids: it goes whole to every shard (nil).
enum ShardSplit {
    static func parts(_ body: [String: JSONValue], ring: ShardRing) throws -> [Int: [String: JSONValue]]? {
        if case .array(let list)? = body["points"] {
            var parts: [Int: [JSONValue]] = [:]
            for (i, item) in list.enumerated() {
                var idValue = item
                if case .object(let o) = item { idValue = o["id"] ?? .null }
                let shard = ring.shard(of: try PointDecoding.id(idValue, path: "points[\(i)].id"))
                parts[shard, default: []].append(item)
            }
            return parts.mapValues { var b = body; b["points"] = .array($0); return b }
        }
        if case .object(let batch)? = body["batch"], case .array(let ids)? = batch["ids"] {
            var indexes: [Int: [Int]] = [:]
            for (i, idValue) in ids.enumerated() {
                indexes[ring.shard(of: try PointDecoding.id(idValue, path: "batch.ids[\(i)]")), default: []].append(i)
            }
            return indexes.mapValues { picked in
                var b = body
                b["batch"] = .object(batch.mapValues { column in cut(column, at: picked, rows: ids.count) })
                return b
            }
        }
        return nil
    }

    /// The rows `picked` of a batch column: an array of one entry per point, or an object of
    /// such arrays (named vectors). Anything else is kept as is (and refused by the shard).
    static func cut(_ column: JSONValue, at picked: [Int], rows: Int) -> JSONValue {
        switch column {
        case .array(let list) where list.count == rows: return .array(picked.map { list[$0] })
        case .object(let named): return .object(named.mapValues { cut($0, at: picked, rows: rows) })
        default: return column
        }
    }
}
