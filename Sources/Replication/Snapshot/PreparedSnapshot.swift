import Crypto
import Foundation
import HSDB
import HSDBCore

/// A bootstrap snapshot on the leader: a collection's files at its flushed LSN, as a capture
/// mapped them. Held in memory while it is offered (one per collection), served by range.
public struct PreparedSnapshot: Sendable {
    public struct File: Sendable {
        public let description: SnapshotOffer.File
        let bytes: Source

        /// Calls `body` with bytes `from..<to` of the file, in place.
        public func withBytes<R>(_ range: Range<Int>, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
            switch bytes {
            case .memory(let a): return try a.withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0[range])) }
            case .mapped(let m): return try m.withBytes { try body(UnsafeRawBufferPointer(rebasing: $0[range])) }
            }
        }
    }

    enum Source: Sendable {
        case memory([UInt8])
        case mapped(CollectionBackupView.Bytes)
    }

    public let lsn: UInt64
    public let files: [File]

    /// The collection's state as it is now: call after a flush, so the state holds every
    /// write acknowledged before (the log after the flushed LSN streams as usual).
    static func capture(_ collection: Collection) async throws -> PreparedSnapshot {
        let view = try await collection.backupView()
        var files = [small(DatabaseLayout.metadataFileName, view.metadata)]
        if let manifest = view.manifest { files.append(small(DatabaseLayout.manifestFileName, manifest)) }
        for s in view.segments {
            let description = SnapshotOffer.File(name: DatabaseLayout.segmentFileName(contentID: s.contentID), bytes: s.bytes.length, sha256: s.contentID)
            files.append(File(description: description, bytes: .mapped(s.bytes)))
        }
        return PreparedSnapshot(lsn: view.flushedLSN, files: files)
    }

    /// The metadata or manifest, hashed here (a segment's hash is its name).
    private static func small(_ name: String, _ bytes: [UInt8]) -> File {
        let sha = SHA256.hash(data: bytes).lowercaseHex
        return File(description: SnapshotOffer.File(name: name, bytes: bytes.count, sha256: sha), bytes: .memory(bytes))
    }
}
