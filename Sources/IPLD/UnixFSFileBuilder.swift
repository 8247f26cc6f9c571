/// Builds the UnixFS file DAG that kubo's `ipfs add --cid-version=1 --raw-leaves` builds, with
/// kubo's defaults: fixed-size chunks of 256 KiB, each a raw leaf; a balanced tree of DAG-PB
/// nodes with at most 174 links each, every leaf at the same depth, filled left to right. A
/// file of at most one chunk (an empty file too) is just its raw leaf.
///
/// Streaming: bytes go in through `append` in any sizes; every block is handed to `emit` as
/// soon as it is complete (leaves first, each node after its children), and the builder keeps
/// only one partial chunk and at most 174 pending links per tree level.
///
/// Not Sendable: it holds the caller's `emit` closure; use it from one task.
public struct UnixFSFileBuilder {
    /// Which kubo `ipfs add` the DAG matches.
    public enum Profile: Sendable {
        /// `ipfs add --cid-version=1 --raw-leaves`: CIDv1, raw leaves. What hsdb writes.
        case cidV1RawLeaves
        /// Plain `ipfs add`: CIDv0 everywhere, each chunk a DAG-PB leaf with a UnixFS File
        /// node holding the bytes. Kept because kubo itself can check this layout byte for byte.
        case cidV0
    }

    /// A finished file: its root and sizes.
    public struct Result: Hashable, Sendable {
        public let root: CID
        public let fileSizeBytes: UInt64
        /// The encoded bytes of every block in the DAG (the Tsize a link to the root carries).
        public let dagSizeBytes: UInt64
        public let blockCount: Int
    }

    /// A link not yet placed in a node: the child, its Tsize, and the file bytes under it.
    private struct PendingLink {
        let cid: CID
        let dagSizeBytes: UInt64
        let fileSizeBytes: UInt64
    }

    public let chunkSizeBytes: Int
    public let maxLinksPerNode: Int
    public let profile: Profile
    private let emit: (Block) throws -> Void
    private var chunk: [UInt8] = []
    /// levels[0] links leaves, levels[i] links nodes of height i. Invariant: every level
    /// below the top holds 1...maxLinksPerNode links once a chunk has been emitted.
    private var levels: [[PendingLink]] = []
    private var leafCount = 0
    private var blockCount = 0
    private var finished = false

    /// REQUIRES: chunkSizeBytes >= 1, maxLinksPerNode >= 2.
    public init(
        chunkSizeBytes: Int = UnixFSFormat.defaultChunkSizeBytes,
        maxLinksPerNode: Int = UnixFSFormat.defaultMaxLinksPerNode,
        profile: Profile = .cidV1RawLeaves,
        emit: @escaping (Block) throws -> Void
    ) {
        precondition(chunkSizeBytes >= 1 && maxLinksPerNode >= 2, "chunk size >= 1, fan-out >= 2")
        self.chunkSizeBytes = chunkSizeBytes
        self.maxLinksPerNode = maxLinksPerNode
        self.profile = profile
        self.emit = emit
        chunk.reserveCapacity(chunkSizeBytes)
    }

    /// Adds file bytes; rethrows what `emit` throws. REQUIRES: `finish` not called yet.
    public mutating func append(_ bytes: UnsafeRawBufferPointer) throws {
        precondition(!finished, "append after finish")
        var offset = 0
        while offset < bytes.count {
            let n = min(chunkSizeBytes - chunk.count, bytes.count - offset)
            chunk.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + n]))
            offset += n
            if chunk.count == chunkSizeBytes { try flushChunk() }
        }
    }

    public mutating func append(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try append($0) }
    }

    /// Emits the last chunk and the nodes above it, and returns the root.
    /// REQUIRES: called once.
    public mutating func finish() throws -> Result {
        precondition(!finished, "finish called twice")
        finished = true
        // A trailing partial chunk, or the one empty leaf of an empty file.
        if !chunk.isEmpty || leafCount == 0 { try flushChunk() }
        var level = 0
        while true {
            if level == levels.count - 1, levels[level].count == 1 {
                let root = levels[level][0]
                return Result(root: root.cid, fileSizeBytes: root.fileSizeBytes,
                              dagSizeBytes: root.dagSizeBytes, blockCount: blockCount)
            }
            let node = try emitNode(levels[level])
            levels[level] = []
            try add(node, level: level + 1)
            level += 1
        }
    }

    private mutating func flushChunk() throws {
        let leaf = try emitLeaf(chunk)
        chunk.removeAll(keepingCapacity: true)
        leafCount += 1
        try add(leaf, level: 0)
    }

    /// Places a link at `level`; a full level first becomes a node one level up, which is
    /// what keeps the tree balanced: a new subtree is started only when the last is full.
    private mutating func add(_ link: PendingLink, level: Int) throws {
        if level == levels.count { levels.append([]) }
        if levels[level].count == maxLinksPerNode {
            let node = try emitNode(levels[level])
            levels[level] = []
            try add(node, level: level + 1)
        }
        levels[level].append(link)
    }

    private mutating func emitLeaf(_ bytes: [UInt8]) throws -> PendingLink {
        let size = UInt64(bytes.count)
        let block: Block
        switch profile {
        case .cidV1RawLeaves:
            block = Block(codec: .raw, bytes: bytes)
        case .cidV0:
            let unixFS = UnixFSData(type: .file, data: bytes.isEmpty ? nil : bytes, fileSizeBytes: size)
            block = Block(codec: .dagPB, version: .v0, bytes: DAGPBNode(data: unixFS.encoded()).encoded())
        }
        try emitBlock(block)
        return PendingLink(cid: block.cid, dagSizeBytes: UInt64(block.bytes.count), fileSizeBytes: size)
    }

    private mutating func emitNode(_ children: [PendingLink]) throws -> PendingLink {
        let fileSize = children.reduce(0) { $0 + $1.fileSizeBytes }
        let unixFS = UnixFSData(type: .file, fileSizeBytes: fileSize, blockSizesBytes: children.map(\.fileSizeBytes))
        let links = children.map { DAGPBLink(hash: $0.cid, name: "", tsize: $0.dagSizeBytes) }
        let bytes = DAGPBNode(links: links, data: unixFS.encoded()).encoded()
        let block = Block(codec: .dagPB, version: profile == .cidV0 ? .v0 : .v1, bytes: bytes)
        try emitBlock(block)
        let dagSize = children.reduce(UInt64(bytes.count)) { $0 + $1.dagSizeBytes }
        return PendingLink(cid: block.cid, dagSizeBytes: dagSize, fileSizeBytes: fileSize)
    }

    private mutating func emitBlock(_ block: Block) throws {
        blockCount += 1
        try emit(block)
    }
}
