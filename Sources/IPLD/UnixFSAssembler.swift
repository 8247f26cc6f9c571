import Dispatch
import HSDBCore

/// Lays UnixFS files out in place from their blocks, in any order in which a node comes before
/// its children: a CAR in pre-order as a bootstrap streams it, or a block store asked for
/// `nextAwaited` as a restore reads it. So a follower's bootstrap and a backup's restore lay
/// out files through one reader.
///
/// A block is taken only when it is awaited: a file's root, or a child that a taken node links.
/// It must hash to its CID (unless the caller already hashed it); a DAG-PB node must be a
/// UnixFS file node with one blocksizes entry per link and a filesize equal to the bytes it
/// claims; a leaf must hold exactly the bytes its parent's blocksizes entry gives it. Each
/// leaf's bytes are written to its file at the offset the nodes above it give, so a block that
/// comes twice in a file (equal chunks) is written at every place it is linked.
///
/// Link Tsizes describe DAG bytes, not file bytes, and are not checked here (the backup
/// verifier checks them). Not Sendable: it holds the callers' files; use it from one task.
public struct UnixFSAssembler {
    /// One file to lay out: its root, its size, and where its bytes go.
    public struct Target {
        public let root: CID
        public let bytes: UInt64
        public let file: any File

        public init(root: CID, bytes: UInt64, file: any File) {
            self.root = root
            self.bytes = bytes
            self.file = file
        }
    }

    /// Where an awaited block's bytes go: a file (index into the targets), an offset in it,
    /// the file bytes under the block, and its depth in the file's DAG.
    public struct Place: Hashable, Sendable {
        public let file: Int
        public let offset: UInt64
        public let bytes: UInt64
        let depth: Int
    }

    private let targets: [Target]
    private var awaited: [CID: [Place]] = [:]
    /// Awaited CIDs, the next on top: pre-order, so a restore writes each file front to back.
    private var stack: [CID] = []
    public private(set) var leafBytesWritten: UInt64 = 0

    public init(_ targets: [Target]) {
        self.targets = targets
        for (i, t) in targets.enumerated().reversed() {
            expect(t.root, Place(file: i, offset: 0, bytes: t.bytes, depth: 0))
        }
    }

    public var isComplete: Bool { awaited.isEmpty }

    /// The awaited block to fetch next (pre-order), or nil when every file is whole.
    public mutating func nextAwaited() -> CID? {
        while let top = stack.last {
            if awaited[top] != nil { return top }
            stack.removeLast()
        }
        return nil
    }

    /// Every awaited block with its places, in no particular order.
    public var awaitedBlocks: [(cid: CID, places: [Place])] { awaited.map { ($0.key, $0.value) } }

    /// Takes one block. Returns false when it is not awaited (already taken, or not in these
    /// files); a stream that must hold only this DAG treats that as an error.
    /// `hashed`: the caller already checked the bytes against the CID.
    @discardableResult
    public mutating func take(_ cid: CID, _ bytes: [UInt8], hashed: Bool = false) throws -> Bool {
        guard let places = awaited[cid] else { return false }
        guard hashed || cid.matches(bytes) else { throw ArchiveCodecError.hashMismatch(cid) }
        awaited[cid] = nil
        switch cid.codec {
        case .raw:
            for p in places { try write(cid, bytes, at: p) }
        case .dagPB:
            let (node, unixFS) = try UnixFSFileReader.decodeFileNode(cid, bytes)
            for p in places { try expand(cid, node, unixFS, at: p) }
        case .dagCBOR:
            throw ArchiveCodecError.unixFS(cid, reason: "a dag-cbor block is not part of a UnixFS file")
        }
        return true
    }

    /// Takes blocks in order as `take` does, the leaves hashed on every core: the
    /// nodes are taken in turn (they decide which leaves are awaited), then each leaf is hashed
    /// and, when it matches, written at its places. Returns, per block, whether it was awaited;
    /// throws the first error in the batch's order (a leaf that does not hash is not written).
    public mutating func take(batch blocks: [(cid: CID, bytes: [UInt8])]) throws -> [Bool] {
        var awaitedFlags: [Bool] = []
        var leaves: [(cid: CID, bytes: [UInt8], places: [Place])] = []
        for (cid, bytes) in blocks {
            guard cid.codec == .raw, let places = awaited.removeValue(forKey: cid) else {
                awaitedFlags.append(try take(cid, bytes))
                continue
            }
            for p in places where UInt64(bytes.count) != p.bytes {
                throw ArchiveCodecError.unixFS(cid, reason: "a leaf of \(bytes.count) bytes where its parent claims \(p.bytes)")
            }
            leaves.append((cid, bytes, places))
            awaitedFlags.append(true)
        }
        // Hashing is most of the CPU; the writes go in order on this thread (writes to one
        // file take its inode lock in turn, so writing them concurrently only spins).
        let good = LeafHashes.check(leaves.map { ($0.cid, $0.bytes) })
        for (leaf, ok) in zip(leaves, good) {
            guard ok else { throw ArchiveCodecError.hashMismatch(leaf.cid) }
            for p in leaf.places { try write(leaf.cid, leaf.bytes, at: p) }
        }
        return awaitedFlags
    }

    /// Marks an awaited raw leaf as already in place at every one of its places (the caller
    /// read them back and they hash to `cid`): a resumed bootstrap keeps what it holds.
    public mutating func alreadyHeld(_ cid: CID) {
        guard cid.codec == .raw, let places = awaited.removeValue(forKey: cid) else { return }
        leafBytesWritten += places.reduce(0) { $0 + $1.bytes }
    }

    private mutating func write(_ cid: CID, _ bytes: [UInt8], at p: Place) throws {
        guard UInt64(bytes.count) == p.bytes else {
            throw ArchiveCodecError.unixFS(cid, reason: "a leaf of \(bytes.count) bytes where its parent claims \(p.bytes)")
        }
        try bytes.withUnsafeBytes { try targets[p.file].file.write($0, at: Int64(p.offset)) }
        leafBytesWritten += p.bytes
    }

    /// A node's inline data at its offset, then its children awaited after it, in order.
    private mutating func expand(_ cid: CID, _ node: DAGPBNode, _ unixFS: UnixFSData, at p: Place) throws {
        guard p.depth < UnixFSFormat.maxDepth else {
            throw ArchiveCodecError.unixFS(cid, reason: "DAG deeper than \(UnixFSFormat.maxDepth) levels")
        }
        let inline = UInt64(unixFS.data?.count ?? 0)
        let total = unixFS.blockSizesBytes.reduce(inline, +)
        guard total == p.bytes, unixFS.fileSizeBytes.map({ $0 == total }) ?? true else {
            let stated = unixFS.fileSizeBytes.map { "filesize \($0), " } ?? ""
            throw ArchiveCodecError.unixFS(cid, reason: "\(stated)\(total) bytes under the node where \(p.bytes) are expected")
        }
        if let data = unixFS.data, !data.isEmpty { try write(cid, data, at: Place(file: p.file, offset: p.offset, bytes: inline, depth: p.depth)) }
        var offset = p.offset + inline
        var children: [(CID, Place)] = []
        for (link, size) in zip(node.links, unixFS.blockSizesBytes) {
            children.append((link.hash, Place(file: p.file, offset: offset, bytes: size, depth: p.depth + 1)))
            offset += size
        }
        for (child, place) in children.reversed() { expect(child, place) }
    }

    private mutating func expect(_ cid: CID, _ place: Place) {
        awaited[cid, default: []].append(place)
        stack.append(cid)
    }
}

/// Leaves hashed on every core.
private enum LeafHashes {
    static func check(_ leaves: [(cid: CID, bytes: [UInt8])]) -> [Bool] {
        var good = [Bool](repeating: false, count: leaves.count)
        good.withUnsafeMutableBufferPointer { out in
            let out = Slots(out)
            DispatchQueue.concurrentPerform(iterations: leaves.count) { i in out.base[i] = leaves[i].cid.matches(leaves[i].bytes) }
        }
        return good
    }

    /// Distinct indices per iteration, so no two threads touch one element.
    private struct Slots: @unchecked Sendable {
        let base: UnsafeMutableBufferPointer<Bool>
        init(_ base: UnsafeMutableBufferPointer<Bool>) { self.base = base }
    }
}
