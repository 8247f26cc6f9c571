import HSDBCore
import WAL

/// What replication needs of a collection: its log read from any retained LSN, a wake-up
/// when it grows, records applied at their leader's LSNs, and small named files of its own.
extension Collection {
    /// The last acknowledged LSN and its commit time (nanoseconds since the Unix epoch).
    public var lastCommit: (lsn: UInt64, time: UInt64) { wal.lastCommit }
    /// Every record up to this LSN is on disk: what a leader may ship.
    public var durableLSN: UInt64 { wal.durableLSN }
    /// Every operation up to this LSN is in segments: a snapshot is never older.
    public var flushedLSN: UInt64 { state.withLock { $0.manifest.flushedLSN } }

    /// A reader of this collection's log from the record after `lsn`. Throws
    /// `HSDBError.walNotRetained` when retention already deleted it.
    public func walReader(after lsn: UInt64) throws -> WALTailReader {
        do { return try WALTailReader(fileSystem: fs, directory: directory + "/" + Self.walDirectoryName, after: lsn) } catch {
            throw HSDBError.wrap(error)
        }
    }

    /// Bytes of the WAL files a reader from `lsn` on still needs (the file holding `lsn` and
    /// every later one): what a pin at `lsn` keeps on disk.
    public func walBytes(from lsn: UInt64) throws -> Int64 {
        let folder = directory + "/" + Self.walDirectoryName
        do {
            let files = try WALRecovery.listWALFiles(fs, folder)
            let first = files.lastIndex { $0.1 <= lsn } ?? 0
            var total: Int64 = 0
            for (name, _) in files[first...] {
                // A file retention deletes meanwhile is no longer held.
                guard let file = try? fs.open(folder + "/" + name, mode: .readOnly) else { continue }
                defer { try? file.close() }
                total += try file.size()
            }
            return total
        } catch {
            throw HSDBError.wrap(error)
        }
    }

    /// Returns once a record after `lsn` is acknowledged, or after `timeout`.
    public func waitForCommit(after lsn: UInt64, timeout: Duration) async {
        await commitSignal.wait(beyond: lsn, timeout: timeout)
    }

    /// Appends records shipped from a leader at the leader's LSNs and applies them, as one
    /// group commit. The first must be this log's next LSN (else `invalidArgument` and nothing
    /// changes); each is decoded and checked before any is written. Waits while the memtable
    /// is stalled, as writers do.
    public func applyReplicated(_ entries: [WALEntry]) async throws {
        try await applyReplicated(try decodeReplicated(entries))
    }

    /// Decodes shipped records (the part of `applyReplicated` that needs no state, so a
    /// follower does it for the next frame while the last one commits).
    public func decodeReplicated(_ entries: [WALEntry]) throws -> ReplicatedRecords {
        let (dimension, lanes) = (config.dimension, config.namedVectors)
        var operations: [UInt64: (Operation, Int)] = [:]
        for e in entries where e.type != WALRecordType.closeMarker {
            do {
                let op = try e.body.withUnsafeBytes { try OperationCodec.decode(type: e.type, body: $0, dimension: dimension, lanes: lanes) }
                operations[e.lsn] = (op, e.body.count)
            } catch {
                throw HSDBError.invalidArgument("replicated record LSN \(e.lsn) of collection '\(name)' does not decode: \(error)")
            }
        }
        return ReplicatedRecords(entries: entries, operations: operations)
    }

    /// Appends and applies records `decodeReplicated` decoded (see `applyReplicated`).
    public func applyReplicated(_ records: ReplicatedRecords) async throws {
        guard !records.entries.isEmpty else { return }
        await waitWhileStalled()
        let decoded = records.operations
        do {
            try await wal.appendReplicated(records.entries) { [self] lsn in
                let full = state.withLock { s -> Bool in
                    if let (op, size) = decoded[lsn] { s.apply(op, lsn: lsn, recordBytes: size) }
                    return s.active.bytes >= options.memtableFlushBytes
                }
                commitSignal.advance(to: lsn)
                if full { scheduleFlush() }
            }
        } catch {
            throw HSDBError.wrap(error)
        }
    }

    // MARK: Attachments

    static let attachmentsDirectoryName = "attachments"

    /// A small file another module keeps with this collection (a replication chain anchor),
    /// or nil if there is none. It goes where the collection goes: dropped with it, replaced
    /// by a restore.
    public func attachment(_ name: String) throws -> [UInt8]? {
        let path = directory + "/" + Self.attachmentsDirectoryName + "/" + name
        guard fs.fileExists(path) else { return nil }
        do { return try fs.readFile(path) } catch { throw HSDBError.wrap(error) }
    }

    /// Publishes an attachment atomically and durably. The caller frames and checksums it.
    public func setAttachment(_ name: String, bytes: [UInt8]) async throws {
        guard !name.isEmpty, !name.contains("/"), !name.hasPrefix(".") else {
            throw HSDBError.invalidArgument("attachment name '\(name)' is not a plain file name")
        }
        let (fs, folder) = (fs, directory + "/" + Self.attachmentsDirectoryName)
        try await runBlocking("hsdb.attachment") {
            do {
                if !fs.directoryExists(folder) {
                    try fs.createDirectory(folder)
                    try fs.syncDirectory(parentDirectory(of: folder))
                }
                try fs.writeFileAtomically(folder + "/" + name, bytes: bytes)
            } catch {
                throw HSDBError.wrap(error)
            }
        }
    }
}

/// Shipped records, checked to decode, ready to append and apply.
public struct ReplicatedRecords: Sendable {
    public let entries: [WALEntry]
    let operations: [UInt64: (Operation, Int)]

    public var lastLSN: UInt64 { entries.last?.lsn ?? 0 }
}
