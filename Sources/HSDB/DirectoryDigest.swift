import HSDBCore
import Segments
import WAL

/// The state tree (`StateTree`, hashes not yet settled) computed from a collection directory's files alone,
/// without opening the collection: the manifest's segments (ids and versions, less the dead
/// ordinals), then the WAL's records replayed as ids only. Restore uses it to check what it
/// laid out against the digests the backups recorded; an offline backup, to record one. A
/// second computation, independent of the memtable's bookkeeping, by design.
public enum DirectoryDigest {
    /// The tree at each LSN of `lsns` that lies in flushed LSN...`last` and within the log
    /// (LSNs outside are left out), reading the WAL read-only.
    public static func compute(
        collectionDirectory directory: String, at lsns: Set<UInt64>, through last: UInt64, fileSystem fs: any FileSystem
    ) throws -> [UInt64: StateTree] {
        do {
            let metaPath = directory + "/" + CollectionMetadata.fileName
            let config = try CollectionMetadata.decode(try fs.readFile(metaPath), path: metaPath).config
            let (dimension, lanes) = (config.dimension, config.namedVectors)
            let manifestPath = directory + "/" + Manifest.fileName
            let manifest = fs.fileExists(manifestPath) ? try Manifest.decode(try fs.readFile(manifestPath), path: manifestPath) : Manifest()
            var replay = Replay(segments: try manifest.segments.reversed().map { entry in
                let path = directory + "/" + Collection.segmentsDirectoryName + "/" + SegmentFormat.fileName(contentID: entry.contentID)
                return (try Segment.open(path: path, fileSystem: fs), Set(entry.dead))
            })
            // The tree at LSN x is the state after every record up to x; an LSN that holds
            // no operation (a close marker) has the tree of the records before it.
            var found: [UInt64: StateTree] = [:]
            let wanted = lsns.filter { $0 >= manifest.flushedLSN && $0 <= last }.sorted()
            var next = 0
            func settle(below bound: UInt64) {
                while next < wanted.count && wanted[next] < bound {
                    found[wanted[next]] = replay.tree
                    next += 1
                }
            }
            // Past the last LSN asked for, nothing more is read.
            let end = min(last, wanted.last ?? manifest.flushedLSN)
            var logEnd = manifest.flushedLSN
            if end > manifest.flushedLSN {
                do {
                    logEnd = try WALRecovery.recover(
                        fileSystem: fs, directory: directory + "/" + Collection.walDirectoryName, afterLSN: manifest.flushedLSN,
                        options: WALRecoveryOptions(readOnly: true)
                    ) { record, location in
                        guard record.lsn <= end else { throw ReplayDone() }
                        settle(below: record.lsn)
                        let written: (upsert: Bool, ids: [PointID])
                        do {
                            written = try OperationCodec.decodeIDs(
                                type: record.type, body: record.body, dimension: dimension, lanes: lanes)
                        } catch {
                            throw CorruptionError(file: location.file, offset: location.offset, reason: "record LSN \(record.lsn): \(error)")
                        }
                        replay.apply(written, lsn: record.lsn)
                        logEnd = record.lsn
                    }.lastLSN
                } catch is ReplayDone {
                    logEnd = end
                }
            }
            settle(below: min(end, max(logEnd, manifest.flushedLSN)) + 1)
            return found
        } catch {
            throw HSDBError.wrap(error)
        }
    }

    /// Thrown from the replay's visitor once the last LSN asked for is passed.
    private struct ReplayDone: Error {}

    private struct Replay {
        /// Newest first, with the manifest's dead ordinals.
        let segments: [(Segment, Set<Int>)]
        /// Versions the WAL wrote since the flush (nil: deleted).
        var written: [PointID: UInt64?] = [:]
        var tree = StateTree()

        init(segments: [(Segment, Set<Int>)]) {
            self.segments = segments
            for (s, dead) in segments {
                for o in 0..<s.count where !dead.contains(o) { tree.insert(s.id(at: o), version: s.version(at: o)) }
            }
        }

        func live(_ id: PointID) -> UInt64? {
            if let v = written[id] { return v }
            for (s, dead) in segments {
                if let o = s.ordinal(of: id), !dead.contains(o) { return s.version(at: o) }
            }
            return nil
        }

        mutating func apply(_ record: (upsert: Bool, ids: [PointID]), lsn: UInt64) {
            let upsert = record.upsert
            for id in Set(record.ids) {
                if let old = live(id) { tree.remove(id, version: old) }
                if upsert { tree.insert(id, version: lsn) }
                written[id] = .some(upsert ? lsn : nil)
            }
        }
    }
}
