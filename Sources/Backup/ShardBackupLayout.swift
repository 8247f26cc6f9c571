import HSDBCore

/// Where the copies of a sharded collection archive (DESIGN.md, "Backups of shards"). Each copy
/// a node holds is a database of its own, so it archives into a backup directory of its own:
/// `<backup-dir>/shards/<collection>/<uid>/<k>/<node>/`. Beside the shard folders every node
/// writes the same `SHARDS` file, so a restore knows how many shards it must find:
///
///     magic "HSDBSHRD" (8) | format version u16 (1) | collection (varint length + UTF-8, at
///     most 255 bytes) | uid (varint length + UTF-8, at most 64) | shard count varint |
///     crc u32 = mask(crc32c(every byte before it))
///
/// The node's name in the path lets every node archive into one shared directory as well as
/// into one of its own; gathering the nodes' directories into one (`cp -r`) merges them.
public struct ShardBackupLayout: Sendable, Equatable {
    public static let fileName = "SHARDS"
    static let magic: [UInt8] = Array("HSDBSHRD".utf8)
    static let formatVersion: UInt16 = 1
    static let maxNameBytes = 255
    static let maxUIDBytes = 64

    public let collection: String
    /// The incarnation: a collection dropped and created again has a new one.
    public let uid: String
    public let shardCount: Int

    public init(collection: String, uid: String, shardCount: Int) {
        self.collection = collection
        self.uid = uid
        self.shardCount = shardCount
    }

    /// `<root>/shards/<collection>`: every incarnation's folder.
    public static func collectionDirectory(root: String, collection: String) -> String { root + "/shards/" + collection }

    public func directory(root: String) -> String { Self.collectionDirectory(root: root, collection: collection) + "/" + uid }

    public func shardDirectory(root: String, shard: Int) -> String { directory(root: root) + "/\(shard)" }

    /// The backup directory of one node's copy of `shard`.
    public func chainDirectory(root: String, shard: Int, node: String) -> String { shardDirectory(root: root, shard: shard) + "/" + node }

    public func encode() -> [UInt8] {
        var w = ByteWriter(capacity: 32 + collection.utf8.count + uid.utf8.count)
        w.write(bytes: Self.magic)
        w.write(Self.formatVersion)
        w.writeString(collection)
        w.writeString(uid)
        w.writeVarint(UInt64(shardCount))
        SealedFile.seal(&w)
        return w.bytes
    }

    public static func decode(_ bytes: [UInt8], path: String) throws(CorruptionError) -> ShardBackupLayout {
        try SealedFile.decode(bytes, path: path, magic: magic, what: "shard layout file", minimumSize: 8 + 2 + 3 + 4) {
            (r: inout ByteReader) throws(FormatError) -> ShardBackupLayout in
            let format: UInt16 = try r.read()
            guard format == formatVersion else { throw FormatError.invalid(offset: 8, reason: "shard layout format \(format) is not supported") }
            let collection = try r.readString(maxLength: maxNameBytes)
            let uid = try r.readString(maxLength: maxUIDBytes)
            let at = r.offset
            let count = try r.readVarint()
            guard (1...UInt64(Int32.max)).contains(count) else { throw FormatError.invalid(offset: at, reason: "shard count \(count) is out of range") }
            return ShardBackupLayout(collection: collection, uid: uid, shardCount: Int(count))
        }
    }

    /// Writes the `SHARDS` file under `root` unless the same bytes are there already.
    public func publish(root: String, fileSystem fs: any FileSystem) throws {
        let path = directory(root: root) + "/" + Self.fileName
        let bytes = encode()
        if fs.fileExists(path), (try? fs.readFile(path)) == bytes { return }
        try fs.createDirectories(directory(root: root))
        try fs.writeFileAtomically(path, bytes: bytes)
    }

    /// Every incarnation of `collection` archived under `root` (none: the collection is not a
    /// sharded one there).
    public static func incarnations(
        root: String, collection: String, fileSystem fs: any FileSystem = POSIXFileSystem()
    ) throws(BackupError) -> [ShardBackupLayout] {
        let folder = collectionDirectory(root: root, collection: collection)
        guard fs.directoryExists(folder) else { return [] }
        do {
            return try fs.listDirectory(folder).sorted().compactMap { uid in
                let path = folder + "/" + uid + "/" + fileName
                guard fs.fileExists(path) else { return nil }
                return try decode(try fs.readFile(path), path: path)
            }
        } catch let e as CorruptionError {
            throw .problem(file: e.file, offset: e.offset, cid: nil, reason: e.reason)
        } catch {
            throw .engine("cannot read \(folder): \(error)")
        }
    }
}
