import IPLD

/// A prepared snapshot as a Merkle DAG of the blocks a backup writes: each file cut by the
/// UnixFS builder (256 KiB raw leaves under DAG-PB nodes), and a DAG-CBOR root over the files'
/// roots (`SnapshotRoot`). Built once per snapshot on the leader by hashing every leaf; the
/// nodes are kept in memory, a leaf is its place in a file, read from the capture when sent.
public struct SnapshotDAG: Sendable {
    /// Where a raw leaf's bytes lie: a file of the prepared snapshot, and a range in it.
    struct LeafPlace: Sendable {
        let file: Int
        let range: Range<Int>
    }

    public let root: CID
    /// The root block and every DAG-PB node, by CID.
    let nodes: [CID: [UInt8]]
    let leaves: [CID: LeafPlace]
    /// Every block in pre-order (each node before its children, files in order), a block
    /// that is linked twice listed twice: the order a bootstrap stream sends.
    public let preorder: [CID]

    public var blockCount: Int { preorder.count }

    init(_ prepared: PreparedSnapshot, collection: String, hash: LogHash) throws {
        var nodes: [CID: [UInt8]] = [:]
        var leaves: [CID: LeafPlace] = [:]
        var files: [SnapshotRoot.File] = []
        for (index, file) in prepared.files.enumerated() {
            var offset = 0
            var builder = UnixFSFileBuilder { block in
                if block.cid.codec == .raw {
                    leaves[block.cid] = LeafPlace(file: index, range: offset..<offset + block.bytes.count)
                    offset += block.bytes.count
                } else {
                    nodes[block.cid] = block.bytes
                }
            }
            let size = file.description.bytes
            try file.withBytes(0..<size) { try builder.append($0) }
            files.append(SnapshotRoot.File(name: file.description.name, bytes: UInt64(size), root: try builder.finish().root))
        }
        let rootBlock = Block(codec: .dagCBOR, bytes: SnapshotRoot(collection: collection, lsn: prepared.lsn, hash: hash, files: files).encoded())
        nodes[rootBlock.cid] = rootBlock.bytes
        self.root = rootBlock.cid
        self.nodes = nodes
        self.leaves = leaves
        self.preorder = Self.preorder(from: rootBlock.cid, files: files.map(\.root), nodes: nodes)
    }

    private static func preorder(from root: CID, files: [CID], nodes: [CID: [UInt8]]) -> [CID] {
        var out = [root]
        func visit(_ cid: CID) {
            out.append(cid)
            guard cid.codec == .dagPB, let bytes = nodes[cid], let node = try? DAGPBNode(decoding: bytes) else { return }
            for link in node.links { visit(link.hash) }
        }
        for f in files { visit(f) }
        return out
    }

    /// True when the block belongs to this DAG.
    public func holds(_ cid: CID) -> Bool { nodes[cid] != nil || leaves[cid] != nil }

    /// Calls `body` with the block's bytes (a leaf's in place, from the capture).
    /// REQUIRES: `holds(cid)`.
    public func withBlock<R>(_ cid: CID, of prepared: PreparedSnapshot, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        if let bytes = nodes[cid] { return try bytes.withUnsafeBytes(body) }
        let place = leaves[cid]!
        return try prepared.files[place.file].withBytes(place.range, body)
    }
}
