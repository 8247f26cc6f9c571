import HSDB
import HSDBCore

/// What `/telemetry` reports of one collection, read once per request. The config is the one
/// `GET /collections/{c}` shows (written by the same code, then read back), so the two cannot
/// disagree.
struct CollectionTelemetrySource {
    let name: String
    let collection: Collection
    let statistics: CollectionStatistics
    /// `CollectionInfo.config`: `params`, `hnsw_config`, `optimizer_config`, `wal_config`, ...
    let config: Payload
    /// The dense vectors, by name ("" for the unnamed one), each with its `VectorParams`.
    let vectors: [(name: String, params: Payload)]
    /// The layers (Qdrant's segments), read at details level 4 and above only.
    let layers: [LayerSummary]

    var params: Payload {
        if case .object(let p)? = config["params"] { return p }
        return [:]
    }

    /// Vectors stored: each live point counted once per dense vector (approximate, as
    /// Qdrant's: a point without one of its named vectors still counts).
    var vectorCount: Int { statistics.points * vectors.count }

    /// `params.vectors` as names and parameters: one `VectorParams` (it has a `size`) is the
    /// unnamed vector; otherwise an object of them by name.
    static func denseVectors(_ params: Payload) -> [(name: String, params: Payload)] {
        guard case .object(let v)? = params["vectors"] else { return [] }
        if v["size"] != nil { return [("", v)] }
        return v.keys.sorted().compactMap { name in
            if case .object(let p)? = v[name] { return (name, p) }
            return nil
        }
    }
}

extension API {
    func telemetrySource(for name: String, level: Int) throws -> CollectionTelemetrySource {
        let c = try db.collection(name)
        let stats = c.statistics()
        let factor = CollectionSpec.writeConsistencyFactor(of: c, default: settings.writeConsistencyFactor)
        var w = JSONTextWriter()
        CollectionSpec.writeInfo(c, stats, indexedPoints: [:], writeConsistencyFactor: factor, to: &w)
        var config: Payload = [:]
        if case .object(let info) = try JSONParser.parse(w.bytes), case .object(let cfg)? = info["config"] { config = cfg }
        var params: Payload = [:]
        if case .object(let p)? = config["params"] { params = p }
        return CollectionTelemetrySource(
            name: name, collection: c, statistics: stats, config: config, vectors: CollectionTelemetrySource.denseVectors(params),
            layers: level >= 4 ? c.layerSummaries() : [])
    }
}
