import Backup
import Foundation
import HSDB
import HSDBCore
import XCTest

/// A temporary directory holding a database, a backup directory and restore targets, with
/// an exact model of every write: the state of each collection after each LSN.
final class BackupFixture {
    let root: String
    var data: String { root + "/data" }
    var backups: String { root + "/backups" }
    /// Per collection: (LSN, state after it), in LSN order; the empty state at LSN 0.
    var history: [String: [(UInt64, [PointID: Point])]] = [:]
    var random: SplitMix64
    var db: Database?
    let dimension = 4
    var options = DatabaseOptions()

    init(seed: UInt64) throws {
        root = NSTemporaryDirectory() + "hsdb-backup-" + UUID().uuidString.lowercased()
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        random = SplitMix64(seed: seed)
    }

    deinit { try? FileManager.default.removeItem(atPath: root) }

    func open() async throws -> Database {
        if let db { return db }
        let opened = try await Database.open(at: data, options: options)
        db = opened
        return opened
    }

    func close() async throws {
        try await db?.close()
        db = nil
    }

    func create(_ names: [String]) async throws {
        let db = try await open()
        for n in names {
            try await db.createCollection(n, config: CollectionConfig(dimension: dimension, metric: .euclidean))
            history[n] = [(0, [:])]
        }
    }

    /// One random write (an upsert batch or a delete) to a random collection, or a flush.
    func step() async throws {
        let db = try await open()
        let names = history.keys.sorted()
        let name = names[Int(random.next() % UInt64(names.count))]
        let c = try db.collection(name)
        var state = history[name]!.last!.1
        let roll = random.next() % 10
        if roll == 0 {
            try await c.flush()
            return
        }
        let lsn: UInt64
        if roll < 3 {
            let ids = (0..<(1 + random.next() % 3)).map { _ in PointID.integer(random.next() % 30) }
            lsn = try await c.delete(ids: ids).lsn
            for id in ids { state[id] = nil }
        } else {
            let points = (0..<(1 + random.next() % 4)).map { _ in
                Point(id: .integer(random.next() % 30),
                      vector: (0..<dimension).map { _ in Float(Int(random.next() % 2001) - 1000) / 100 },
                      payload: ["k": .int(Int64(random.next() % 1000)), "s": .string("v\(random.next() % 7)")])
            }
            lsn = try await c.upsert(points).lsn
            for p in points { state[p.id] = p }
        }
        history[name]!.append((lsn, state))
    }

    /// Offline backup: close, back up, (the caller reopens by writing again).
    @discardableResult
    func backup(full: Bool = false) async throws -> BackupSummary {
        try await close()
        let locked = try LockedDatabaseDirectory.open(at: data)
        defer { locked.close() }
        return try BackupWriter.create(database: locked, backupDirectory: backups, forceFull: full)
    }

    func expected(_ name: String, at lsn: UInt64) -> [PointID: Point] {
        history[name]!.last { $0.0 <= lsn }!.1
    }

    /// Every point of a collection of a restored database, by id.
    static func contents(_ c: HSDB.Collection) throws -> [PointID: Point] {
        var out: [PointID: Point] = [:]
        var offset: PointID?
        repeat {
            let page = try c.scroll(from: offset, limit: 100, projection: Projection(withVector: true, withPayload: true))
            for r in page.points { out[r.id] = Point(id: r.id, vector: r.vector ?? [], payload: r.payload ?? [:]) }
            offset = page.nextOffset
        } while offset != nil
        return out
    }

    func target(_ label: String) -> String { root + "/restore-" + label }
}
