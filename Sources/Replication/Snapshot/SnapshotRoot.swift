import IPLD

/// The root block of a bootstrap snapshot's DAG (DESIGN.md, "Bootstrap snapshots as DAGs"): a
/// DAG-CBOR map naming the collection, the LSN and running hash the snapshot stands at, and
/// each file of the collection directory with its size and the root of its UnixFS DAG.
public struct SnapshotRoot: Sendable, Equatable {
    public struct File: Sendable, Equatable {
        /// As in a collection directory: `collection.meta`, `MANIFEST`, `<content id>.seg`.
        public let name: String
        public let bytes: UInt64
        public let root: CID
    }

    public static let formatName = "hsdb-bootstrap-snapshot"
    public static let version: UInt64 = 1

    public let collection: String
    public let lsn: UInt64
    public let hash: LogHash
    public let files: [File]

    public func encoded() -> [UInt8] {
        DAGCBOR.map([
            "format": .text(Self.formatName),
            "version": .unsigned(Self.version),
            "collection": .text(collection),
            "lsn": .unsigned(lsn),
            "hash": .bytes(hash.bytes),
            "files": .array(files.map { .map(["name": .text($0.name), "bytes": .unsigned($0.bytes), "root": .link($0.root)]) }),
        ]).encoded()
    }

    public init(collection: String, lsn: UInt64, hash: LogHash, files: [File]) {
        self.collection = collection
        self.lsn = lsn
        self.hash = hash
        self.files = files
    }

    /// Decodes a root block (its hash already checked against the offer's root CID).
    public init(decoding bytes: [UInt8]) throws(ReplicationError) {
        func fail(_ reason: String) -> ReplicationError { .badFrame("snapshot root block: \(reason)") }
        guard let value = try? DAGCBOR(decoding: bytes) else { throw fail("not DAG-CBOR") }
        guard case .text(Self.formatName)? = value["format"] else { throw fail("format is not \(Self.formatName)") }
        guard case .unsigned(Self.version)? = value["version"] else { throw fail("version is not \(Self.version)") }
        guard case .text(let collection)? = value["collection"], case .unsigned(let lsn)? = value["lsn"],
            case .bytes(let hash)? = value["hash"], hash.count == LogHash.byteCount, case .array(let list)? = value["files"]
        else { throw fail("collection, lsn, hash or files missing or mistyped") }
        var files: [File] = []
        for item in list {
            guard case .text(let name)? = item["name"], case .unsigned(let size)? = item["bytes"], case .link(let root)? = item["root"]
            else { throw fail("a file without name, bytes or root") }
            files.append(File(name: name, bytes: size, root: root))
        }
        self.init(collection: collection, lsn: lsn, hash: LogHash(bytes: hash), files: files)
    }
}
