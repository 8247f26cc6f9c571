import Foundation
import HSDB
import HSDBCore

/// This server's identity in replication: a node id that names its slot on a leader, the
/// highest epoch it has seen (the leader's term; it travels with every shipped frame), and
/// the epoch it leads in (0: none). A leader whose leading epoch is below the highest it has
/// seen is fenced: a newer leader exists, and it takes no writes. Kept in
/// `<data>/replication/NODE`:
///
///     magic "HSDBNODE" | version u8 (2) | node id (16 bytes, a UUID) | epoch u64 |
///     leading epoch u64 | crc u32
///
/// Version 1 (no leading epoch) still opens, as leading in its epoch (what it did then).
public struct NodeState: Sendable, Equatable {
    static let magic = Array("HSDBNODE".utf8)
    static let version: UInt8 = 2
    public static let directoryName = "replication"
    static let fileName = "NODE"

    public var nodeID: UUID
    public var epoch: UInt64
    public var leadingEpoch: UInt64

    public init(nodeID: UUID, epoch: UInt64, leadingEpoch: UInt64) {
        self.nodeID = nodeID
        self.epoch = epoch
        self.leadingEpoch = leadingEpoch
    }

    /// Leads, but a newer leader has been seen.
    public var isFenced: Bool { leadingEpoch < epoch }

    func encode() -> [UInt8] {
        var w = ByteWriter(capacity: 48)
        w.write(bytes: Self.magic)
        w.write(Self.version)
        withUnsafeBytes(of: nodeID.uuid) { w.write(raw: $0) }
        w.write(epoch)
        w.write(leadingEpoch)
        SealedFile.seal(&w)
        return w.bytes
    }

    static func decode(_ bytes: [UInt8], path: String) throws(CorruptionError) -> NodeState {
        try SealedFile.decode(bytes, path: path, magic: magic, what: "replication node state", minimumSize: 37) { r throws(FormatError) in
            let at = r.offset
            let version: UInt8 = try r.read()
            guard version == 1 || version == 2 else {
                throw FormatError.invalid(offset: at, reason: "node state version \(version) is not supported")
            }
            let raw = try r.readBytes(16)
            let id = UUID(uuid: raw.loadUnaligned(as: uuid_t.self))
            let epoch: UInt64 = try r.read()
            return NodeState(nodeID: id, epoch: epoch, leadingEpoch: version == 1 ? epoch : try r.read())
        }
    }

    /// Reads the node state of the database at `path`, creating it (a new id, epoch 1, led
    /// by this node when it starts as a `leader`).
    public static func load(
        database path: String, leader: Bool, fileSystem fs: any FileSystem = POSIXFileSystem()
    ) throws -> NodeState {
        let directory = path + "/" + directoryName
        let file = directory + "/" + fileName
        if fs.fileExists(file) { return try decode(try fs.readFile(file), path: file) }
        let fresh = NodeState(nodeID: UUID(), epoch: 1, leadingEpoch: leader ? 1 : 0)
        try fresh.save(database: path, fileSystem: fs)
        return fresh
    }

    public func save(database path: String, fileSystem fs: any FileSystem = POSIXFileSystem()) throws {
        let directory = path + "/" + Self.directoryName
        if !fs.directoryExists(directory) {
            try fs.createDirectory(directory)
            try fs.syncDirectory(path)
        }
        try fs.writeFileAtomically(directory + "/" + Self.fileName, bytes: encode())
    }
}
