import HSDB
import HSDBCore

extension ShardedRestore {
    /// Writes every restored shard's points into one collection of a new database at
    /// `<staging>/merged`, created with the shards' configuration and payload indexes. A shard
    /// holds only its own ids, so the union is the collection as it was.
    static func merge(
        _ layout: ShardBackupLayout, shards: Int, staging: String, fs: any FileSystem, progress: @escaping (String) -> Void
    ) async throws {
        var options = DatabaseOptions()
        options.createIfMissing = true
        let merged = try await Database.open(at: staging + "/merged", options: options, fileSystem: fs)
        do {
            var into: Collection?
            for shard in 0..<shards {
                let source = try await Database.open(at: staging + "/shard-\(shard)", fileSystem: fs)
                do {
                    let from = try source.collection(layout.collection)
                    if into == nil { into = try await create(layout.collection, in: merged, like: from, progress: progress) }
                    try await addIndexes(of: from, to: into!, progress: progress)
                    let copied = try await copyPoints(from, into: into!)
                    progress("shard \(shard): \(copied) points written into '\(layout.collection)'")
                    try await source.close()
                } catch {
                    try? await source.close()
                    throw error
                }
            }
            try await merged.close()
        } catch {
            try? await merged.close()
            throw error
        }
    }

    static func create(_ name: String, in db: Database, like source: Collection, progress: (String) -> Void) async throws -> Collection {
        progress("creating '\(name)' with the shards' configuration")
        return try await db.createCollection(name, config: source.config)
    }

    /// The payload indexes of every shard: a follower's copy may lag its leader's by a
    /// catalogue poll, so the union is what the collection had.
    static func addIndexes(of source: Collection, to target: Collection, progress: (String) -> Void) async throws {
        let have = target.payloadIndexes
        for (key, type) in source.payloadIndexes.sorted(by: { $0.key < $1.key }) where have[key] == nil {
            progress("payload index on '\(key)'")
            try await target.createPayloadIndex(key, type: type)
        }
    }

    /// Every live point of `source`, page by page, with vectors and payload.
    static func copyPoints(_ source: Collection, into target: Collection) async throws -> Int {
        var offset: PointID?
        var copied = 0
        repeat {
            let page = try source.scroll(from: offset, limit: 1024, projection: .everything)
            let points = page.points.map { r in
                Point(id: r.id, vector: r.vector, sparse: r.sparse ?? [:], named: r.named ?? [:], payload: r.payload ?? [:])
            }
            if !points.isEmpty { _ = try await target.upsert(points) }
            copied += points.count
            offset = page.nextOffset
        } while offset != nil
        return copied
    }
}
