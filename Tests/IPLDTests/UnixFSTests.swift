@testable import IPLD
import XCTest

/// The builder's streaming and shape with small chunks, and the reader's checks, one test per
/// kind of damage.
final class UnixFSTests: XCTestCase {
    /// A 4-byte chunker with 3 links per node: 100 bytes make 25 leaves, depth 3.
    func smallFile(_ size: Int = 100) throws -> (UnixFSFileBuilder.Result, [CID: [UInt8]], [UInt8]) {
        var source = SeededBytes()
        let bytes = source.next(size)
        var blocks: [CID: [UInt8]] = [:]
        var builder = UnixFSFileBuilder(chunkSizeBytes: 4, maxLinksPerNode: 3) { blocks[$0.cid] = $0.bytes }
        for byte in bytes { try builder.append([byte]) }
        return (try builder.finish(), blocks, bytes)
    }

    func testSmallChunksRoundTripAtEveryLength() throws {
        for size in 0...60 {
            let (result, blocks, bytes) = try smallFile(size)
            XCTAssertEqual(try UnixFSFileReader.readAll(root: result.root) { blocks[$0] }, bytes, "\(size) bytes")
            XCTAssertEqual(result.root.codec, size <= 4 ? .raw : .dagPB, "\(size) bytes")
        }
    }

    /// Over verified blocks: the sizes from the DAG-PB nodes and leaf lengths alone, the same
    /// structural checks (a leaf of the wrong length is refused), a missing leaf named.
    func testSizesOverVerifiedBlocksReadOnlyTheNodes() throws {
        let (result, blocks, bytes) = try smallFile()
        var leavesRead = 0
        let lookup: (CID) -> [UInt8]? = { cid in
            if cid.codec == .raw { leavesRead += 1 }
            return blocks[cid]
        }
        let sizes = try UnixFSFileReader.sizes(verifiedRoot: result.root, lookup: lookup, rawLeafSize: { blocks[$0]?.count })
        XCTAssertEqual(sizes.fileSizeBytes, UInt64(bytes.count))
        XCTAssertEqual(sizes, try UnixFSFileReader.read(root: result.root, lookup: { blocks[$0] }, output: { _ in }))
        XCTAssertEqual(leavesRead, 0, "no raw leaf was read")
        let leaf = blocks.keys.first { $0.codec == .raw }!
        XCTAssertThrowsError(try UnixFSFileReader.sizes(verifiedRoot: result.root, lookup: lookup, rawLeafSize: { $0 == leaf ? 3 : blocks[$0]?.count }))
        XCTAssertThrowsError(try UnixFSFileReader.sizes(verifiedRoot: result.root, lookup: lookup, rawLeafSize: { $0 == leaf ? nil : blocks[$0]?.count })) { error in
            XCTAssertEqual(error as? ArchiveCodecError, .blockNotFound(leaf))
        }
        XCTAssertEqual(try UnixFSFileReader.read(verifiedRoot: result.root, lookup: { blocks[$0] }, output: { _ in }), sizes)
    }

    func testEveryLeafIsAtTheSameDepth() throws {
        let (result, blocks, _) = try smallFile()
        var leafDepths: Set<Int> = []
        func visit(_ cid: CID, _ depth: Int) throws {
            if cid.codec == .raw { leafDepths.insert(depth); return }
            let node = try DAGPBNode(decoding: blocks[cid]!)
            XCTAssertLessThanOrEqual(node.links.count, 3)
            for link in node.links { try visit(link.hash, depth + 1) }
        }
        try visit(result.root, 0)
        XCTAssertEqual(leafDepths, [3])  // 25 leaves need 3 levels of 3-way nodes (27 >= 25 > 9)
    }

    func testBlocksAreEmittedWhileStreaming() throws {
        var emitted = 0
        var builder = UnixFSFileBuilder(chunkSizeBytes: 1024) { _ in emitted += 1 }
        try builder.append([UInt8](repeating: 1, count: 10 * 1024 + 5))
        XCTAssertEqual(emitted, 10)  // ten full chunks out; the partial one waits for finish
        let result = try builder.finish()
        XCTAssertEqual(emitted, 12)
        XCTAssertEqual(result.blockCount, 12)
    }

    func testMissingBlockIsNamed() throws {
        var (result, blocks, _) = try smallFile()
        let leaf = blocks.keys.first { $0.codec == .raw }!
        blocks[leaf] = nil
        assertThrows(.blockNotFound(leaf)) { try UnixFSFileReader.readAll(root: result.root) { blocks[$0] } }
    }

    func testFlippedByteIsAHashMismatch() throws {
        var (result, blocks, _) = try smallFile()
        for cid in [blocks.keys.first { $0.codec == .raw }!, result.root] {
            let original = blocks[cid]!
            blocks[cid]![0] ^= 0x01
            assertThrows(.hashMismatch(cid)) { try UnixFSFileReader.readAll(root: result.root) { blocks[$0] } }
            blocks[cid] = original
        }
    }

    /// A node whose links are right but whose UnixFS sizes lie, hashed correctly, so only the
    /// size checks can catch it.
    func node(_ leaves: [[UInt8]], blockSizes: [UInt64], fileSize: UInt64?, tsizes: [UInt64?]? = nil,
              type: UnixFSType = .file) -> (CID, [CID: [UInt8]]) {
        var blocks: [CID: [UInt8]] = [:]
        var links: [DAGPBLink] = []
        for (i, leaf) in leaves.enumerated() {
            let cid = CID.compute(leaf, codec: .raw)
            blocks[cid] = leaf
            links.append(DAGPBLink(hash: cid, tsize: tsizes?[i] ?? UInt64(leaf.count)))
        }
        let data = UnixFSData(type: type, fileSizeBytes: fileSize, blockSizesBytes: blockSizes)
        let bytes = DAGPBNode(links: links, data: data.encoded()).encoded()
        let root = CID.compute(bytes, codec: .dagPB)
        blocks[root] = bytes
        return (root, blocks)
    }

    func testSizeLiesAreRefused() throws {
        let a: [UInt8] = [1, 2, 3, 4], b: [UInt8] = [5, 6, 7, 8]
        let cidA = CID.compute(a, codec: .raw), cidB = CID.compute(b, codec: .raw)
        var (root, blocks) = node([a, b], blockSizes: [4, 4], fileSize: 8)
        XCTAssertEqual(try UnixFSFileReader.readAll(root: root) { blocks[$0] }, a + b)

        (root, blocks) = node([a, b], blockSizes: [3, 5], fileSize: 8)
        assertThrows(.unixFS(root, reason: "blocksizes says 3 bytes under \(cidA), it holds 4")) {
            try UnixFSFileReader.readAll(root: root) { blocks[$0] }
        }
        (root, blocks) = node([a, b], blockSizes: [4, 4], fileSize: 9)
        assertThrows(.unixFS(root, reason: "filesize 9 but the node holds 8 bytes")) {
            try UnixFSFileReader.readAll(root: root) { blocks[$0] }
        }
        (root, blocks) = node([a, b], blockSizes: [4, 4], fileSize: 8, tsizes: [4, 40])
        assertThrows(.unixFS(root, reason: "Tsize of the link to \(cidB) is 40, its DAG is 4 bytes")) {
            try UnixFSFileReader.readAll(root: root) { blocks[$0] }
        }
        (root, blocks) = node([a, b], blockSizes: [4], fileSize: 8)
        assertThrows(.unixFS(root, reason: "2 links but 1 blocksizes")) {
            try UnixFSFileReader.readAll(root: root) { blocks[$0] }
        }
        (root, blocks) = node([a], blockSizes: [4], fileSize: 4, type: .directory)
        assertThrows(.unixFS(root, reason: "node type directory, not a file")) {
            try UnixFSFileReader.readAll(root: root) { blocks[$0] }
        }
    }

    func testForeignBlocksAreRefused() throws {
        let cbor = DAGCBOR.map(["a": .unsigned(1)]).encoded()
        let cborCID = CID.compute(cbor, codec: .dagCBOR)
        assertThrows(.unixFS(cborCID, reason: "a dag-cbor block is not part of a UnixFS file")) {
            try UnixFSFileReader.readAll(root: cborCID) { _ in cbor }
        }
        let garbage: [UInt8] = [0xFF, 0xFF]
        let garbageCID = CID.compute(garbage, codec: .dagPB)
        let error = codecError { try UnixFSFileReader.readAll(root: garbageCID) { _ in garbage } }
        guard case .inBlock(garbageCID, _)? = error else { return XCTFail("got \(String(describing: error))") }
        let noData = DAGPBNode(data: nil).encoded()
        let noDataCID = CID.compute(noData, codec: .dagPB)
        assertThrows(.unixFS(noDataCID, reason: "DAG-PB node without UnixFS Data")) {
            try UnixFSFileReader.readAll(root: noDataCID) { _ in noData }
        }
    }

    func testUnixFSDataBytes() throws {
        let data = UnixFSData(type: .file, fileSizeBytes: 262_145, blockSizesBytes: [262_144, 1])
        XCTAssertEqual(hexString(data.encoded()), "080218818010208080102001")
        XCTAssertEqual(try UnixFSData(decoding: data.encoded()), data)
        let leaf = UnixFSData(type: .file, data: [0xAB], fileSizeBytes: 1)
        XCTAssertEqual(hexString(leaf.encoded()), "08021201ab1801")
        // mode (field 7) is skipped; an unknown field 9 is refused; order is enforced.
        XCTAssertEqual(try UnixFSData(decoding: hex("0802 1801 38a403")).fileSizeBytes, 1)
        XCTAssertThrowsError(try UnixFSData(decoding: hex("0802 4801")))
        XCTAssertThrowsError(try UnixFSData(decoding: hex("1801 0802")))
        XCTAssertThrowsError(try UnixFSData(decoding: hex("1801")))
    }
}
