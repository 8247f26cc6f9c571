import HSDB
import HSDBCore

/// Where a collection's running hash is known without reading its log: (LSN, hash). Kept as
/// the collection's attachment `replication-chain` (so a restore or a drop replaces it with
/// the collection); the WAL is pinned from the record after it, so the chain can always be
/// computed forward from it. DESIGN.md, "Replication", gives the bytes:
///
///     magic "HSDBCHN1" | version u8 (1) | LSN u64 | hash (32) | crc u32
struct ChainAnchor: Sendable, Equatable {
    static let attachmentName = "replication-chain"
    static let magic = Array("HSDBCHN1".utf8)
    static let version: UInt8 = 1

    var lsn: UInt64
    var hash: LogHash

    func encode() -> [UInt8] {
        var w = ByteWriter(capacity: 56)
        w.write(bytes: Self.magic)
        w.write(Self.version)
        w.write(lsn)
        w.write(bytes: hash.bytes)
        SealedFile.seal(&w)
        return w.bytes
    }

    static func decode(_ bytes: [UInt8], path: String) throws(CorruptionError) -> ChainAnchor {
        try SealedFile.decode(bytes, path: path, magic: magic, what: "replication chain anchor", minimumSize: 53) { r throws(FormatError) in
            let at = r.offset
            let version: UInt8 = try r.read()
            guard version == Self.version else { throw FormatError.invalid(offset: at, reason: "chain anchor version \(version) is not supported") }
            let lsn: UInt64 = try r.read()
            let hash = LogHash(bytes: Array(try r.readBytes(LogHash.byteCount)))
            return ChainAnchor(lsn: lsn, hash: hash)
        }
    }
}
