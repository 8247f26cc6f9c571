/// Reads a UnixFS file back from its root CID: walks the DAG depth first, left to right, and
/// hands the file bytes to `output` in order. Checks, block by block: each block hashes to
/// its CID; each DAG-PB node is a UnixFS File (or Raw) node with one blocksizes entry per
/// link; each child holds exactly the file bytes its blocksizes entry claims and the DAG bytes
/// its link's Tsize claims; a node's filesize is its inline data plus its blocksizes. Raw
/// leaves (CIDv1) and DAG-PB leaves (CIDv0, kubo's default) are both read.
///
/// Bytes reach `output` before the checks of the nodes above them finish, so on any error
/// the caller must discard what it received. Errors name the CID of the offending block.
public enum UnixFSFileReader {
    /// The sizes of a file that was read.
    public struct Sizes: Hashable, Sendable {
        public let fileSizeBytes: UInt64
        public let dagSizeBytes: UInt64
    }

    /// `lookup` returns a block's bytes, or nil when the block is not there; its own errors
    /// and `output`'s are rethrown unchanged, the DAG's are `ArchiveCodecError`.
    public static func read(
        root: CID,
        lookup: (CID) throws -> [UInt8]?,
        output: ([UInt8]) throws -> Void
    ) throws -> Sizes {
        try walk(root, depth: 0, lookup: lookup, hashBlocks: true, rawLeafSize: nil, output: output)
    }

    /// As `read`, for blocks whose hashes the caller already checked (a backup catalogue
    /// hashes every block as it loads): the same structural checks, without hashing again.
    public static func read(
        verifiedRoot root: CID,
        lookup: (CID) throws -> [UInt8]?,
        output: ([UInt8]) throws -> Void
    ) throws -> Sizes {
        try walk(root, depth: 0, lookup: lookup, hashBlocks: false, rawLeafSize: nil, output: output)
    }

    /// The file's sizes and every structural check, over verified blocks, reading only the
    /// DAG-PB nodes: a raw leaf's size is `rawLeafSize` (nil: the block is missing).
    public static func sizes(
        verifiedRoot root: CID,
        lookup: (CID) throws -> [UInt8]?,
        rawLeafSize: @escaping (CID) -> Int?
    ) throws -> Sizes {
        try walk(root, depth: 0, lookup: lookup, hashBlocks: false, rawLeafSize: rawLeafSize, output: { _ in })
    }

    /// The whole file in memory (for tests and small files).
    public static func readAll(root: CID, lookup: (CID) throws -> [UInt8]?) throws -> [UInt8] {
        var bytes: [UInt8] = []
        _ = try read(root: root, lookup: lookup) { bytes.append(contentsOf: $0) }
        return bytes
    }

    /// `hashBlocks`: check each block against its CID; `rawLeafSize`: when given, raw leaves
    /// are not read (nor output), their size comes from it.
    private static func walk(
        _ cid: CID, depth: Int, lookup: (CID) throws -> [UInt8]?, hashBlocks: Bool, rawLeafSize: ((CID) -> Int?)?,
        output: ([UInt8]) throws -> Void
    ) throws -> Sizes {
        guard depth <= UnixFSFormat.maxDepth else {
            throw ArchiveCodecError.unixFS(cid, reason: "DAG deeper than \(UnixFSFormat.maxDepth) levels")
        }
        if cid.codec == .raw, let rawLeafSize {
            guard let size = rawLeafSize(cid) else { throw ArchiveCodecError.blockNotFound(cid) }
            return Sizes(fileSizeBytes: UInt64(size), dagSizeBytes: UInt64(size))
        }
        guard let block = try lookup(cid) else { throw ArchiveCodecError.blockNotFound(cid) }
        guard !hashBlocks || cid.matches(block) else { throw ArchiveCodecError.hashMismatch(cid) }
        switch cid.codec {
        case .raw:
            try output(block)
            return Sizes(fileSizeBytes: UInt64(block.count), dagSizeBytes: UInt64(block.count))
        case .dagCBOR:
            throw ArchiveCodecError.unixFS(cid, reason: "a dag-cbor block is not part of a UnixFS file")
        case .dagPB:
            let (node, unixFS) = try decodeFileNode(cid, block)
            if let data = unixFS.data, !data.isEmpty { try output(data) }
            var fileSize = UInt64(unixFS.data?.count ?? 0)
            var dagSize = UInt64(block.count)
            for (link, claimed) in zip(node.links, unixFS.blockSizesBytes) {
                let child = try walk(link.hash, depth: depth + 1, lookup: lookup, hashBlocks: hashBlocks, rawLeafSize: rawLeafSize, output: output)
                try check(cid, child, claimedFileBytes: claimed, link: link)
                fileSize += child.fileSizeBytes
                dagSize += child.dagSizeBytes
            }
            if let stated = unixFS.fileSizeBytes, stated != fileSize {
                throw ArchiveCodecError.unixFS(cid, reason: "filesize \(stated) but the node holds \(fileSize) bytes")
            }
            return Sizes(fileSizeBytes: fileSize, dagSizeBytes: dagSize)
        }
    }

    static func decodeFileNode(_ cid: CID, _ block: [UInt8]) throws -> (DAGPBNode, UnixFSData) {
        let node: DAGPBNode
        let unixFS: UnixFSData
        do {
            node = try DAGPBNode(decoding: block)
            guard let data = node.data else {
                throw ArchiveCodecError.unixFS(cid, reason: "DAG-PB node without UnixFS Data")
            }
            unixFS = try UnixFSData(decoding: data)
        } catch let error as ArchiveCodecError {
            if case .unixFS = error { throw error }
            throw ArchiveCodecError.inBlock(cid, error)
        }
        guard unixFS.type == .file || unixFS.type == .raw else {
            throw ArchiveCodecError.unixFS(cid, reason: "node type \(unixFS.type), not a file")
        }
        guard unixFS.blockSizesBytes.count == node.links.count else {
            throw ArchiveCodecError.unixFS(
                cid, reason: "\(node.links.count) links but \(unixFS.blockSizesBytes.count) blocksizes")
        }
        return (node, unixFS)
    }

    private static func check(_ parent: CID, _ child: Sizes, claimedFileBytes: UInt64, link: DAGPBLink) throws {
        guard child.fileSizeBytes == claimedFileBytes else {
            throw ArchiveCodecError.unixFS(parent, reason:
                "blocksizes says \(claimedFileBytes) bytes under \(link.hash), it holds \(child.fileSizeBytes)")
        }
        if let tsize = link.tsize, tsize != child.dagSizeBytes {
            throw ArchiveCodecError.unixFS(parent, reason:
                "Tsize of the link to \(link.hash) is \(tsize), its DAG is \(child.dagSizeBytes) bytes")
        }
    }
}
