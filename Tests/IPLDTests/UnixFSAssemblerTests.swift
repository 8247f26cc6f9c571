import Foundation
import HSDBCore
@testable import IPLD
import XCTest

/// The assembler lays files out exactly as the reader reads them, from blocks in pre-order or
/// asked for one by one, and refuses blocks that are not awaited, do not hash, or lie about sizes.
final class UnixFSAssemblerTests: XCTestCase {
    private var directory = ""

    override func setUpWithError() throws {
        directory = NSTemporaryDirectory() + "assembler-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDown() { try? FileManager.default.removeItem(atPath: directory) }

    /// A file cut into 4-byte chunks, 3 links per node, with a repeated stretch so some leaf
    /// is linked at several places.
    private func build(_ bytes: [UInt8]) throws -> (UnixFSFileBuilder.Result, [CID: [UInt8]]) {
        var blocks: [CID: [UInt8]] = [:]
        var builder = UnixFSFileBuilder(chunkSizeBytes: 4, maxLinksPerNode: 3) { blocks[$0.cid] = $0.bytes }
        try builder.append(bytes)
        return (try builder.finish(), blocks)
    }

    private func open(_ name: String) throws -> any File {
        try POSIXFileSystem().open(directory + "/" + name, mode: .createNew)
    }

    private func contents(_ name: String) throws -> [UInt8] { try POSIXFileSystem().readFile(directory + "/" + name) }

    func testFilesOfEveryLengthAreLaidOutAsTheReaderReadsThem() throws {
        var source = SeededBytes()
        for size in [0, 1, 4, 5, 12, 13, 36, 37, 100, 301] {
            var bytes = source.next(size)
            if size > 40 { bytes.replaceSubrange(20..<40, with: [UInt8](repeating: 7, count: 20)) }  // equal chunks
            let (result, blocks) = try build(bytes)
            let file = try open("f\(size)")
            var assembler = UnixFSAssembler([.init(root: result.root, bytes: UInt64(size), file: file)])
            var fetched = 0
            while let cid = assembler.nextAwaited() {
                XCTAssertTrue(try assembler.take(cid, blocks[cid]!))
                fetched += 1
            }
            try file.close()
            XCTAssertTrue(assembler.isComplete)
            XCTAssertEqual(try contents("f\(size)"), bytes, "\(size) bytes")
            XCTAssertEqual(try contents("f\(size)"), try UnixFSFileReader.readAll(root: result.root) { blocks[$0] })
            XCTAssertLessThanOrEqual(fetched, result.blockCount, "each distinct block fetched once")
        }
    }

    func testSeveralFilesFromOnePreorderStream() throws {
        var source = SeededBytes()
        let a = source.next(50), b = source.next(9)
        let (ra, ba) = try build(a)
        let (rb, bb) = try build(b)
        let blocks = ba.merging(bb) { x, _ in x }
        let fa = try open("a"), fb = try open("b")
        var assembler = UnixFSAssembler([.init(root: ra.root, bytes: 50, file: fa), .init(root: rb.root, bytes: 9, file: fb)])
        // Pre-order as a stream sends it: each node before its children.
        func send(_ cid: CID) throws {
            try assembler.take(cid, blocks[cid]!)
            if cid.codec == .dagPB { for link in try DAGPBNode(decoding: blocks[cid]!).links { try send(link.hash) } }
        }
        try send(ra.root)
        try send(rb.root)
        XCTAssertTrue(assembler.isComplete)
        try fa.close(); try fb.close()
        XCTAssertEqual(try contents("a"), a)
        XCTAssertEqual(try contents("b"), b)
    }

    /// Pre-order cut into batches: the same bytes; a damaged leaf in a batch is refused and
    /// neither it nor those after it are written, the leaves before it are.
    func testBatchesTakeAsSingleBlocksDo() throws {
        var source = SeededBytes()
        var bytes = source.next(301)
        bytes.replaceSubrange(100..<140, with: [UInt8](repeating: 3, count: 40))
        let (result, blocks) = try build(bytes)
        var order: [CID] = []
        func visit(_ cid: CID) throws {
            order.append(cid)
            if cid.codec == .dagPB { for link in try DAGPBNode(decoding: blocks[cid]!).links { try visit(link.hash) } }
        }
        try visit(result.root)
        for size in [1, 3, 7, order.count] {
            let file = try open("batch\(size)")
            var assembler = UnixFSAssembler([.init(root: result.root, bytes: 301, file: file)])
            for start in stride(from: 0, to: order.count, by: size) {
                let batch = order[start..<min(start + size, order.count)].map { ($0, blocks[$0]!) }
                _ = try assembler.take(batch: batch)
            }
            try file.close()
            XCTAssertTrue(assembler.isComplete, "batches of \(size)")
            XCTAssertEqual(try contents("batch\(size)"), bytes, "batches of \(size)")
        }
        let file = try open("damaged")
        var assembler = UnixFSAssembler([.init(root: result.root, bytes: 301, file: file)])
        let firstLeaf = order.firstIndex { $0.codec == .raw }!
        _ = try assembler.take(batch: order[..<firstLeaf].map { ($0, blocks[$0]!) })
        let leaves = order[firstLeaf...].prefix(3).map { ($0, blocks[$0]!) }
        var damaged = leaves
        damaged[1].1[0] ^= 1
        XCTAssertThrowsError(try assembler.take(batch: damaged)) { XCTAssertEqual($0 as? ArchiveCodecError, .hashMismatch(leaves[1].0)) }
        try file.close()
        // Chunk 0 is written; the damaged chunk 1 and what follows it in the batch are not.
        XCTAssertEqual(try contents("damaged"), Array(bytes[0..<4]))
    }

    func testBlocksNotAwaitedOrDamagedOrLyingAreRefused() throws {
        var source = SeededBytes()
        let bytes = source.next(40)
        let (result, blocks) = try build(bytes)
        let leaf = blocks.keys.first { $0.codec == .raw }!
        var assembler = UnixFSAssembler([.init(root: result.root, bytes: 40, file: try open("x"))])
        XCTAssertFalse(try assembler.take(leaf, blocks[leaf]!), "a leaf before the node linking it is not awaited")
        var damaged = blocks[result.root]!
        damaged[damaged.count - 1] ^= 1
        XCTAssertThrowsError(try assembler.take(result.root, damaged)) { XCTAssertEqual($0 as? ArchiveCodecError, .hashMismatch(result.root)) }
        // A root whose sizes do not add up to the file's.
        var wrongSize = UnixFSAssembler([.init(root: result.root, bytes: 41, file: try open("y"))])
        XCTAssertThrowsError(try wrongSize.take(result.root, blocks[result.root]!)) { error in
            guard case .unixFS(let cid, _)? = error as? ArchiveCodecError else { return XCTFail("\(error)") }
            XCTAssertEqual(cid, result.root)
        }
    }

    func testLeavesAlreadyHeldAreNotAwaited() throws {
        var source = SeededBytes()
        let bytes = source.next(40)
        let (result, blocks) = try build(bytes)
        var assembler = UnixFSAssembler([.init(root: result.root, bytes: 40, file: try open("z"))])
        var nodes = 0
        while let node = assembler.awaitedBlocks.first(where: { $0.cid.codec == .dagPB }) {  // every node, no leaf
            try assembler.take(node.cid, blocks[node.cid]!)
            nodes += 1
        }
        let leaves = assembler.awaitedBlocks.filter { $0.cid.codec == .raw }
        XCTAssertEqual(leaves.reduce(0) { $0 + $1.places.reduce(0) { $0 + $1.bytes } }, 40)
        for leaf in leaves.prefix(3) { assembler.alreadyHeld(leaf.cid) }
        XCTAssertEqual(assembler.leafBytesWritten, leaves.prefix(3).reduce(0) { $0 + $1.places.reduce(0) { $0 + $1.bytes } })
        XCTAssertEqual(assembler.awaitedBlocks.count, leaves.count - 3)
        XCTAssertGreaterThan(nodes, 1)
    }
}
