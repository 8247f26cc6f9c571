import Foundation
import HSDBCore
import IPLD

/// A follower's side of a bootstrap snapshot's DAG: takes blocks as they arrive (a CAR in
/// pre-order) and lays out the collection's files in `<incoming>/<file root CID>.part`
/// through the assembler a restore uses, each block checked against the root the offer named
/// before a byte of it is written. The root block comes first: it must hash to the offer's
/// root and agree with the offer (collection, LSN, hash); it names the files and their DAGs.
/// What an earlier, cut attempt left in the part files is kept when it hashes right.
/// Not Sendable: one bootstrap, one task.
final class SnapshotReceiver {
    let collection: String
    let offer: SnapshotOffer
    let rootCID: CID
    let directory: String
    private let fs = POSIXFileSystem()
    private(set) var root: SnapshotRoot?
    /// Empty until the root block arrives (mutated in place: it holds every awaited block).
    private var assembler = UnixFSAssembler([])
    private var files: [any File] = []
    /// Every block taken, so a block linked twice and sent twice is not an error.
    private var taken: Set<CID> = []

    init(collection: String, offer: SnapshotOffer, root: CID, directory: String) {
        self.collection = collection
        self.offer = offer
        self.rootCID = root
        self.directory = directory
    }

    deinit { for f in files { try? f.close() } }

    var isComplete: Bool { root != nil && assembler.isComplete }

    /// Takes the sections of one chunk of the stream, the leaves hashed on every core. Throws
    /// for a block that is not part of the DAG (or not yet linked by a block taken), that
    /// does not hash to its CID, or that breaks its file.
    func take(_ sections: [CARSection]) throws {
        var rest = sections[...]
        while root == nil, let first = rest.popFirst() { try takeRoot(first.cid, first.bytes) }
        let flags = try assembler.take(batch: rest.map { ($0.cid, $0.bytes) })
        for (section, awaited) in zip(rest, flags) {
            if awaited {
                taken.insert(section.cid)
            } else if !taken.contains(section.cid) && section.cid != rootCID {
                throw ReplicationError.badFrame("snapshot block \(section.cid) is not linked from what came before it")
            }
        }
    }

    /// The blocks still awaited, for a request of those alone.
    var missing: [CID] { root == nil ? [rootCID] : assembler.awaitedBlocks.map(\.cid) }

    /// Marks every awaited leaf that the part files already hold (from a cut attempt),
    /// read back and hashed. Returns the bytes kept.
    @discardableResult
    func keepHeld() throws -> UInt64 {
        let before = assembler.leafBytesWritten
        for (cid, places) in assembler.awaitedBlocks where cid.codec == .raw {
            if try places.allSatisfy({ try holds(cid, at: $0) }) { assembler.alreadyHeld(cid) }
        }
        return assembler.leafBytesWritten - before
    }

    /// Syncs the files and gives each its final name, `<file root CID>`; returns them as
    /// (name in the collection directory, path in `directory`).
    func finish() throws -> [(name: String, path: String)] {
        guard let root, isComplete else { throw ReplicationError.io("the snapshot's blocks did not all arrive") }
        for f in files { try f.sync() }
        var out: [(String, String)] = []
        for file in root.files {
            let final = directory + "/" + file.root.text
            try fs.rename(final + ".part", to: final)
            out.append((file.name, final))
        }
        try fs.syncDirectory(directory)
        return out
    }

    private func takeRoot(_ cid: CID, _ bytes: [UInt8]) throws {
        guard cid == rootCID, cid.matches(bytes) else {
            throw ReplicationError.badFrame("the snapshot stream does not begin with its root block \(rootCID)")
        }
        let root = try SnapshotRoot(decoding: bytes)
        guard root.collection == collection, root.lsn == offer.lsn, root.hash == offer.hash,
            Set(root.files.map(\.name)) == Set(offer.files.map(\.name))
        else { throw ReplicationError.badFrame("the snapshot root block disagrees with the offer (collection, LSN, hash or files)") }
        try keepOnly(Set(root.files.flatMap { [$0.root.text, $0.root.text + ".part", Self.contentID($0.name)] }))
        var targets: [UnixFSAssembler.Target] = []
        for file in root.files {
            let path = directory + "/" + file.root.text
            // Whole from before, or a segment kept from a damaged copy under its content id:
            // read back and checked leaf by leaf like any part.
            let seeded = directory + "/" + Self.contentID(file.name)
            if !fs.fileExists(path + ".part"), fs.fileExists(seeded) { try fs.rename(seeded, to: path + ".part") }
            if fs.fileExists(path) { try fs.rename(path, to: path + ".part") }
            let handle = try fs.fileExists(path + ".part") ? fs.open(path + ".part", mode: .readWrite) : fs.open(path + ".part", mode: .createNew)
            files.append(handle)
            targets.append(UnixFSAssembler.Target(root: file.root, bytes: file.bytes, file: handle))
        }
        self.root = root
        assembler = UnixFSAssembler(targets)
        taken.insert(cid)
    }

    /// A segment file's content id (`<sha256>.seg`), under which a repair seeds an intact
    /// segment of a damaged copy (`QuarantineRepair`); a name no other file has otherwise.
    private static func contentID(_ name: String) -> String {
        name.hasSuffix(".seg") ? String(name.dropLast(".seg".count)) : name + ".none"
    }

    /// Removes what no file of this snapshot can use (another snapshot's files).
    private func keepOnly(_ wanted: Set<String>) throws {
        try fs.createDirectories(directory)
        for name in (try? fs.listDirectory(directory)) ?? [] where !wanted.contains(name) {
            try? fs.removeTree(directory + "/" + name)
        }
    }

    private func holds(_ cid: CID, at place: UnixFSAssembler.Place) throws -> Bool {
        let file = files[place.file]
        guard try file.size() >= Int64(place.offset + place.bytes) else { return false }
        var bytes = [UInt8](repeating: 0, count: Int(place.bytes))
        let n = try bytes.withUnsafeMutableBytes { try file.read(into: $0, at: Int64(place.offset)) }
        return n == bytes.count && cid.matches(bytes)
    }
}
