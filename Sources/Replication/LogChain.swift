import Crypto
import HSDB
import HSDBCore

/// A collection's running hash, from its anchor to the tip of its log, with a checkpoint
/// every `checkpointInterval` records so the hash at any LSN in between costs at most that
/// many records to compute. Beside the hash it counts the log's bytes (records as on disk,
/// header and body), so the bytes after any LSN (a follower's lag) are exact. The same on a leader (to check a follower's position) and on a
/// follower (its own position). The anchor is durable and pins the WAL after it; checkpoints
/// and the tip are rebuilt from the log at open.
public actor LogChain {
    public static let pinName = "replication-chain"
    static let checkpointInterval: UInt64 = 1024

    public let collection: Collection
    private(set) var anchor: ChainAnchor
    /// Ascending; the first is the anchor. `bytes`: the log's bytes from the anchor through
    /// `lsn` (counted from this process's first anchor; only differences mean anything).
    private var checkpoints: [(lsn: UInt64, hash: LogHash, bytes: UInt64)]
    private var tipLSN: UInt64
    private var tipHash: LogHash
    private var tipBytes: UInt64 = 0
    private var reader: WALTailReader?

    private init(collection: Collection, anchor: ChainAnchor) {
        self.collection = collection
        self.anchor = anchor
        checkpoints = [(anchor.lsn, anchor.hash, 0)]
        tipLSN = anchor.lsn
        tipHash = anchor.hash
    }

    /// Loads the anchor (creating one if the collection has none: at LSN 0 for a log that
    /// starts there, else a fresh random hash where the retained log starts, so no follower's
    /// old position can match a history nobody can check) and computes the chain to the tip.
    public static func open(_ collection: Collection) async throws -> LogChain {
        let anchor: ChainAnchor
        if let bytes = try collection.attachment(ChainAnchor.attachmentName) {
            anchor = try ChainAnchor.decode(bytes, path: "collection '\(collection.name)' attachment \(ChainAnchor.attachmentName)")
        } else {
            anchor = try freshAnchor(collection)
            try await collection.setAttachment(ChainAnchor.attachmentName, bytes: anchor.encode())
        }
        try await collection.pinWAL(pinName, from: anchor.lsn + 1)
        let chain = LogChain(collection: collection, anchor: anchor)
        _ = try await chain.extend()
        return chain
    }

    private static func freshAnchor(_ collection: Collection) throws -> ChainAnchor {
        if collection.durableLSN == 0 { return ChainAnchor(lsn: 0, hash: .origin) }
        do {
            _ = try collection.walReader(after: 0)
            return ChainAnchor(lsn: 0, hash: .origin)
        } catch HSDBError.walNotRetained {
            let first = try firstRetainedLSN(collection)
            let random = (0..<4).flatMap { _ in withUnsafeBytes(of: UInt64.random(in: .min ... .max)) { Array($0) } }
            return ChainAnchor(lsn: first - 1, hash: LogHash(bytes: Array(SHA256.hash(data: random))))
        }
    }

    /// The first LSN the collection's log still holds (its retained files' first).
    private static func firstRetainedLSN(_ collection: Collection) throws -> UInt64 {
        var low: UInt64 = 0
        var high = collection.durableLSN
        // The reader refuses positions before the first file: search for the first it takes.
        while low < high {
            let mid = low + (high - low) / 2
            if (try? collection.walReader(after: mid)) != nil { high = mid } else { low = mid + 1 }
        }
        return low + 1
    }

    public var anchorLSN: UInt64 { anchor.lsn }
    public var tip: (lsn: UInt64, hash: LogHash) { (tipLSN, tipHash) }

    /// Reads what the log gained since the last call and returns the new tip.
    @discardableResult
    public func extend() async throws -> (lsn: UInt64, hash: LogHash) {
        let durable = collection.durableLSN
        guard durable > tipLSN else { return (tipLSN, tipHash) }
        var current = try reader ?? collection.walReader(after: tipLSN)
        while current.nextLSN <= durable {
            let (moved, entries) = try await runBlocking("hsdb.chain") { [current] in
                var r = current
                let entries = try r.read(through: durable, maxBytes: 8 << 20)
                return (r, entries)
            }
            current = moved
            for e in entries { advance(e) }
        }
        reader = current
        return (tipLSN, tipHash)
    }

    /// Takes records this side appended itself (a follower, which checked each hash as it
    /// arrived) without reading them back.
    public func appended(_ entries: [WALEntry], hashes: [LogHash]) {
        guard let first = entries.first, first.lsn == tipLSN + 1 else { return }
        for (e, h) in zip(entries, hashes) {
            tipLSN = e.lsn
            tipHash = h
            tipBytes += Self.bytes(of: e)
            if e.lsn % Self.checkpointInterval == 0 { checkpoints.append((e.lsn, h, tipBytes)) }
        }
        reader = nil  // positioned before these records; reopen at the new tip when needed
    }

    private func advance(_ e: WALEntry) {
        tipHash = tipHash.next(e)
        tipLSN = e.lsn
        tipBytes += Self.bytes(of: e)
        if e.lsn % Self.checkpointInterval == 0 { checkpoints.append((e.lsn, tipHash, tipBytes)) }
    }

    static func bytes(of e: WALEntry) -> UInt64 { UInt64(DatabaseLayout.walRecordHeaderSize + e.body.count) }

    /// The hash at `lsn`, or nil when the chain does not reach it (before the anchor, or
    /// past the durable tip).
    public func hash(at lsn: UInt64) async throws -> LogHash? {
        try await position(at: lsn)?.hash
    }

    /// The bytes of the log's records after `lsn` through the durable tip (what a follower
    /// at `lsn` lacks), or nil when the chain does not reach `lsn`.
    public func bytes(after lsn: UInt64) async throws -> UInt64? {
        try await extend()
        guard let at = try await position(at: lsn) else { return nil }
        return tipBytes - at.bytes
    }

    /// The hash and the byte count at `lsn`: from the checkpoint before it, reading at most
    /// `checkpointInterval` records.
    private func position(at lsn: UInt64) async throws -> (hash: LogHash, bytes: UInt64)? {
        if lsn > tipLSN { try await extend() }
        guard lsn >= anchor.lsn, lsn <= tipLSN else { return nil }
        if lsn == tipLSN { return (tipHash, tipBytes) }
        let start = checkpoints.last { $0.lsn <= lsn }!
        if start.lsn == lsn { return (start.hash, start.bytes) }
        let collection = collection
        let entries = try await runBlocking("hsdb.chain") {
            var r = try collection.walReader(after: start.lsn)
            var all: [WALEntry] = []
            while r.nextLSN <= lsn { all += try r.read(through: lsn, maxBytes: 8 << 20) }
            return all
        }
        return entries.reduce((start.hash, start.bytes)) { ($0.0.next($1), $0.1 + Self.bytes(of: $1)) }
    }

    /// Moves the anchor forward to `lsn` (at most the tip), durably, and lets the WAL before
    /// it go.
    public func moveAnchor(toward lsn: UInt64) async throws {
        guard min(lsn, tipLSN) > anchor.lsn else { return }
        let target: (UInt64, LogHash, UInt64)
        if lsn >= tipLSN {
            target = (tipLSN, tipHash, tipBytes)
        } else {
            guard let p = try await position(at: lsn) else { return }
            target = (lsn, p.hash, p.bytes)
        }
        let moved = ChainAnchor(lsn: target.0, hash: target.1)
        try await collection.setAttachment(ChainAnchor.attachmentName, bytes: moved.encode())
        anchor = moved
        checkpoints.removeAll { $0.lsn < moved.lsn }
        if checkpoints.first?.lsn != moved.lsn { checkpoints.insert((moved.lsn, moved.hash, target.2), at: 0) }
        try await collection.pinWAL(Self.pinName, from: moved.lsn + 1)
    }

    /// Starts the chain over at a snapshot's LSN and hash (a follower after a bootstrap).
    public static func anchorRestored(_ collection: Collection, at lsn: UInt64, hash: LogHash) async throws {
        try await collection.setAttachment(ChainAnchor.attachmentName, bytes: ChainAnchor(lsn: lsn, hash: hash).encode())
    }
}
