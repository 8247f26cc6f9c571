import Foundation
import HSDB
import HSDBCore
import Logging

/// A follower's repair of a collection it could not open (a segment missing or damaged while
/// it was down): the collection was moved aside (`Database.quarantined`), the leader's
/// catalogue lists it, so the follower bootstraps it; before that, every intact segment of
/// the damaged copy (its SHA-256 is its content id, which names the file) is moved into the
/// bootstrap's incoming directory under that SHA-256. The bootstrap reads each back against
/// the snapshot's DAG, block by block, and downloads only the blocks that differ: those of
/// the damaged or missing segments, and the small metadata and manifest.
public enum QuarantineRepair {
    /// Moves the intact segments of each quarantined collection into
    /// `<data>/replication/incoming/<name>/`; returns how many were kept, per collection.
    @discardableResult
    public static func seedIncoming(_ db: Database, logger: Logger) -> [String: Int] {
        var kept: [String: Int] = [:]
        for q in db.quarantined {
            let incoming = db.path + "/" + NodeState.directoryName + "/incoming/" + q.name
            try? FileManager.default.createDirectory(atPath: incoming, withIntermediateDirectories: true)
            var intact = 0
            let segments = q.segmentFiles()
            for path in segments {
                let contentID = String((path as NSString).lastPathComponent.dropLast(".seg".count))
                guard let digest = try? sha256(path), digest == contentID else {
                    logger.warning("replication: \(path) does not hash to its name: damaged, fetched again from the leader")
                    continue
                }
                if (try? FileManager.default.moveItem(atPath: path, toPath: incoming + "/" + contentID)) != nil { intact += 1 }
            }
            try? POSIXFileSystem().syncDirectory(incoming)
            kept[q.name] = intact
            logger.notice(
                "replication: '\(q.name)' is fetched again from the leader; \(intact) of its \(segments.count) segment(s) are intact and kept (the rest of the damaged copy stays in \(q.directory))")
        }
        return kept
    }

    private static func sha256(_ path: String) throws -> String {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw ReplicationError.io("cannot open \(path)") }
        defer { try? handle.close() }
        return try ReplicationFollower.sha256(of: handle)
    }
}
