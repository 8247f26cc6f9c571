import Foundation
import HSDBCore
import Segments

/// What a snapshot holds and where it went.
public struct SnapshotSummary: Sendable, Equatable {
    /// Every write up to this LSN is in the snapshot, nothing after it.
    public let lsn: UInt64
    public let bytes: Int
    /// SHA-256 of the whole file, lowercase hex.
    public let sha256: String
    public let segments: Int
}

extension Collection {
    /// Writes a consistent copy of the collection to `path`: its metadata, manifest and segment
    /// files as of one LSN, after flushing the memtables, so every write acknowledged before
    /// the call is in it. The file appears complete or not at all (temporary name, fsync,
    /// rename, directory fsync). Segments are copied as they are (immutable files, kept alive
    /// by the copy while a compaction may retire them).
    public func writeSnapshot(to path: String) async throws -> SnapshotSummary {
        let (manifestBytes, handles, lsn) = try await maintenance.withLock {
            try await flushFrozenAndActive()
            return state.withLock { s in (s.manifest.encode(), Array(s.segments.reversed()), s.manifest.flushedLSN) }
        }
        let (fs, metaPath) = (fs, directory + "/" + CollectionMetadata.fileName)
        return try await runBlocking("hsdb.snapshot") {
            do {
                let metadata = try fs.readFile(metaPath)
                let temporary = path + ".tmp"
                let file = try fs.open(temporary, mode: .createOrTruncate)
                let result: (bytes: Int, sha256: String)
                do {
                    var entries: [(kind: SnapshotArchive.Kind, name: String)] = [(.metadata, CollectionMetadata.fileName), (.manifest, Manifest.fileName)]
                    entries += handles.map { (.segment, SegmentFormat.fileName(contentID: $0.segment.contentID)) }
                    result = try SnapshotArchive.write(to: file, lsn: lsn, entries: entries) { index, body in
                        switch index {
                        case 0: try metadata.withUnsafeBytes(body)
                        case 1: try manifestBytes.withUnsafeBytes(body)
                        default: try handles[index - 2].segment.withFileBytes(body)
                        }
                    }
                    try file.sync()
                    try file.close()
                } catch {
                    try? file.close()
                    try? fs.remove(temporary)
                    throw error
                }
                try fs.rename(temporary, to: path)
                try fs.syncDirectory(parentDirectory(of: path))
                return SnapshotSummary(lsn: lsn, bytes: result.bytes, sha256: result.sha256, segments: handles.count)
            } catch {
                throw HSDBError.wrap(error)
            }
        }
    }
}
