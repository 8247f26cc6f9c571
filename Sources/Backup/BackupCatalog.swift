import HSDBCore
import IPLD

/// One backup CAR of a directory, with its decoded root.
public struct BackupArchive: Sendable {
    public let fileName: String
    public let path: String
    public let sequence: UInt64
    public let kind: BackupKind
    public let rootCID: CID
    public let root: BackupRoot
    public let bytes: Int64
    /// The offset of the root block's section (the last section).
    public let rootOffset: Int64
}

/// A backup directory read in full: every CAR (in sequence order), every section hashed
/// against its CID (unless `verifyBlocks` is off, for listing), every root decoded, and an
/// index from CID to where its block lies. Then the chain is checked: the root of backup n
/// links the root of backup n - 1, so a missing or replaced CAR is found.
///
/// Not Sendable: it keeps the CAR files open for `block(_:)`; call `close` when done.
final class BackupCatalog {
    struct Location {
        let archive: Int
        let dataOffset: Int64
        let length: Int
    }

    let directory: String
    let fs: any FileSystem
    /// Every block was hashed against its CID as it loaded: readers need not hash again.
    private(set) var blocksVerified = false
    /// Set when older backups were pruned: the chain starts at `prune.first`.
    private(set) var prune: PruneMarker?
    private(set) var archives: [BackupArchive] = []
    private var files: [any File] = []
    private(set) var locations: [CID: Location] = [:]
    /// For each archive, the CIDs its CAR holds (to dedupe incremental backups).
    private(set) var cidsByArchive: [Set<CID>] = []

    private init(directory: String, fs: any FileSystem) {
        self.directory = directory
        self.fs = fs
    }

    deinit { close() }

    func close() {
        for f in files { try? f.close() }
        files = []
    }

    static func load(directory: String, fs: any FileSystem, verifyBlocks: Bool = true) throws(BackupError) -> BackupCatalog {
        let catalog = BackupCatalog(directory: directory, fs: fs)
        guard fs.directoryExists(directory) else { return catalog }
        let names: [String]
        do { names = try fs.listDirectory(directory) } catch { throw .engine("cannot list \(directory): \(error)") }
        catalog.prune = try PruneMarker.read(directory: directory, fs: fs)
        let first = catalog.prune?.first ?? 1
        // Below `first`: pruned, or being pruned (the marker is written before the deletions).
        let backups = names.compactMap { n in BackupFormat.parse(fileName: n).map { (n, $0.0, $0.1) } }
            .filter { $0.1 >= first }.sorted { $0.1 < $1.1 }
        for (name, sequence, kind) in backups {
            try catalog.read(name: name, sequence: sequence, kind: kind, verifyBlocks: verifyBlocks)
        }
        try catalog.checkChain()
        catalog.blocksVerified = verifyBlocks
        return catalog
    }

    /// The catalogue of one standalone full backup CAR (a collection snapshot), whatever its
    /// file name: it must be backup 1 of its own chain (full, no previous link).
    static func load(archive path: String, fs: any FileSystem, verifyBlocks: Bool = true) throws(BackupError) -> BackupCatalog {
        let catalog = BackupCatalog(directory: parentDirectory(of: path), fs: fs)
        guard fs.fileExists(path) else { throw .invalidArgument("\(path) does not exist") }
        try catalog.read(name: lastPathComponent(path), sequence: 1, kind: .full, verifyBlocks: verifyBlocks)
        try catalog.checkChain()
        catalog.blocksVerified = verifyBlocks
        return catalog
    }

    private func read(name: String, sequence: UInt64, kind: BackupKind, verifyBlocks: Bool) throws(BackupError) {
        let path = directory + "/" + name
        do {
            let file = try fs.open(path, mode: .readOnly)
            files.append(file)
            // Blocks are hashed in parallel batches (BlockHashBatch), not one by one by the reader.
            var reader = try CARReader(file: file, verifyBlocks: false)
            var hashes = BlockHashBatch(file: path)
            guard reader.header.roots.count == 1, let rootCID = reader.header.roots.first else {
                throw BackupError.problem(file: path, offset: 0, cid: nil, reason: "a backup CAR has exactly one root")
            }
            let index = archives.count
            var cids = Set<CID>()
            var root: (BackupRoot, Int64)?
            while let section = try reader.next() {
                let dataOffset = section.offset + Int64(Varint.encode(UInt64(section.cid.bytes.count + section.bytes.count)).count + section.cid.bytes.count)
                cids.insert(section.cid)
                if locations[section.cid] == nil {
                    locations[section.cid] = Location(archive: index, dataOffset: dataOffset, length: section.bytes.count)
                }
                if verifyBlocks { try hashes.add(section) }
                if section.cid == rootCID {
                    if verifyBlocks { try hashes.check() }  // a damaged root is a hash mismatch first
                    let decoded = try BackupRoot(decoding: section.bytes) { reason in
                        .problem(file: path, offset: section.offset, cid: rootCID, reason: reason)
                    }
                    root = (decoded, section.offset)
                }
            }
            if verifyBlocks { try hashes.check() }
            guard let found = root else {
                throw BackupError.problem(file: path, offset: reader.offset, cid: rootCID, reason: "the root block is missing (CAR cut short?)")
            }
            let (decoded, rootOffset) = found
            guard decoded.sequence == sequence, decoded.kind == kind else {
                throw BackupError.problem(file: path, offset: rootOffset, cid: rootCID, reason: "root says sequence \(decoded.sequence) \(decoded.kind.rawValue); the file name disagrees")
            }
            archives.append(BackupArchive(fileName: name, path: path, sequence: sequence, kind: kind, rootCID: rootCID,
                                          root: decoded, bytes: try file.size(), rootOffset: rootOffset))
            cidsByArchive.append(cids)
        } catch {
            throw BackupError.wrap(error, file: path)
        }
    }

    /// Sequences 1, 2, … with no gap, each root linking the one before (the first: null);
    /// after a prune, from the marker's first backup (a full one, linking the marker's root).
    private func checkChain() throws(BackupError) {
        for (i, a) in archives.enumerated() {
            let expected: UInt64 = i == 0 ? prune?.first ?? 1 : archives[i - 1].sequence + 1
            guard a.sequence == expected else {
                throw .problem(file: a.path, offset: a.rootOffset, cid: a.root.previous,
                               reason: "chain broken: backup \(expected) is missing (its root is the previous link here)")
            }
            if i == 0, prune != nil, a.kind != .full {
                throw .problem(file: a.path, offset: a.rootOffset, cid: a.rootCID,
                               reason: "the chain was pruned to backup \(expected), which must be a full backup")
            }
            let previous = i == 0 ? prune?.previous : archives[i - 1].rootCID
            guard a.root.previous == previous else {
                throw .problem(file: a.path, offset: a.rootOffset, cid: a.root.previous,
                               reason: "chain broken: the previous link is not the root of backup \(expected - 1)")
            }
        }
    }

    /// The CIDs a new incremental backup need not write: those of every CAR back to the last full one.
    func cidsSinceLastFull() -> Set<CID> {
        guard let start = archives.lastIndex(where: { $0.kind == .full }) else { return [] }
        return cidsByArchive[start...].reduce(into: Set<CID>()) { $0.formUnion($1) }
    }

    /// A block's bytes, re-hashed on the way out; nil when no CAR holds it.
    func block(_ cid: CID) throws -> [UInt8]? {
        guard let bytes = try unhashedBlock(cid) else { return nil }
        guard cid.matches(bytes) else {
            let l = locations[cid]!
            throw BackupError.problem(file: archives[l.archive].path, offset: l.dataOffset, cid: cid, reason: "block does not match its CID")
        }
        return bytes
    }

    /// A UnixFS file's bytes to `output`, each block hashed unless the catalogue hashed
    /// every block as it loaded.
    func readFile(_ root: CID, output: ([UInt8]) throws -> Void) throws -> UnixFSFileReader.Sizes {
        blocksVerified
            ? try UnixFSFileReader.read(verifiedRoot: root, lookup: { try unhashedBlock($0) }, output: output)
            : try UnixFSFileReader.read(root: root, lookup: { try unhashedBlock($0) }, output: output)
    }

    /// Lays the UnixFS file `root` out in `file` through the assembler a bootstrap uses too,
    /// each block hashed unless the catalogue hashed every block as it loaded.
    func layOut(_ root: CID, bytes: UInt64, into file: any File) throws {
        var assembler = UnixFSAssembler([UnixFSAssembler.Target(root: root, bytes: bytes, file: file)])
        while let cid = assembler.nextAwaited() {
            guard let block = try unhashedBlock(cid) else { throw ArchiveCodecError.blockNotFound(cid) }
            try assembler.take(cid, block, hashed: blocksVerified)
        }
    }

    /// A UnixFS file's sizes with every structural check: from the DAG-PB nodes and the
    /// index alone when the blocks were hashed as they loaded, else by reading it through.
    func fileSizes(_ root: CID) throws -> UnixFSFileReader.Sizes {
        guard blocksVerified else { return try readFile(root) { _ in } }
        return try UnixFSFileReader.sizes(verifiedRoot: root, lookup: { try unhashedBlock($0) }, rawLeafSize: { self.locations[$0]?.length })
    }

    /// A block's bytes as stored, for a reader that hashes each block itself (the UnixFS
    /// reader does), so no block is hashed twice on one read.
    func unhashedBlock(_ cid: CID) throws -> [UInt8]? {
        guard let l = locations[cid] else { return nil }
        var bytes = [UInt8](repeating: 0, count: l.length)
        let n = try bytes.withUnsafeMutableBytes { try files[l.archive].read(into: $0, at: l.dataOffset) }
        guard n == l.length else {
            throw BackupError.problem(file: archives[l.archive].path, offset: l.dataOffset, cid: cid, reason: "the CAR is shorter than when it was indexed")
        }
        return bytes
    }

    /// Where a missing or bad block of `archive` is reported: its root section.
    func problem(in archive: BackupArchive, cid: CID?, _ reason: String) -> BackupError {
        .problem(file: archive.path, offset: archive.rootOffset, cid: cid, reason: reason)
    }
}
