@testable import IPLD
import Foundation
import HSDBCore
import XCTest

final class CARTests: XCTestCase {
    let hello = Array("hello world".utf8)
    var helloCID: CID { CID.compute(hello, codec: .raw) }

    /// The bytes from car-and-cid-facts.md: header varint 0x3a = 58, the map
    /// {"roots": [CID], "version": 1}, then the one section (L = 36 + 11 = 0x2f).
    var helloCAR: [UInt8] {
        hex("3a a2 65726f6f7473 81 d82a 5825 00") + helloCID.bytes + hex("67 76657273696f6e 01")
            + hex("2f") + helloCID.bytes + hello
    }

    func write(roots: [CID], _ blocks: [Block]) throws -> [UInt8] {
        var out: [UInt8] = []
        var writer = try CARWriter(roots: roots) { out.append(contentsOf: $0) }
        for block in blocks { try writer.write(block) }
        XCTAssertEqual(writer.bytesWritten, Int64(out.count))
        return out
    }

    func readAll(_ bytes: [UInt8], verify: Bool = true) throws -> (CARHeader, [CARSection]) {
        var reader = try CARReader(bytes: bytes, name: "t.car", verifyBlocks: verify)
        var sections: [CARSection] = []
        while let section = try reader.next() { sections.append(section) }
        return (reader.header, sections)
    }

    func testHelloWorldGoldenBytes() throws {
        XCTAssertEqual(try write(roots: [helloCID], [Block(cid: helloCID, bytes: hello)]), helloCAR)
        XCTAssertEqual(helloCAR.count, 59 + 48)
        let (header, sections) = try readAll(helloCAR)
        XCTAssertEqual(header.roots, [helloCID])
        XCTAssertEqual(sections, [CARSection(offset: 59, cid: helloCID, bytes: hello)])
    }

    /// A UnixFS file (4-byte chunks, so several levels) through a CAR and back.
    func fileCAR() throws -> ([UInt8], [Block], CID, [UInt8]) {
        var source = SeededBytes()
        let content = source.next(50)
        var blocks: [Block] = []
        var builder = UnixFSFileBuilder(chunkSizeBytes: 4, maxLinksPerNode: 3) { blocks.append($0) }
        try builder.append(content)
        let root = try builder.finish().root
        return (try write(roots: [root], blocks), blocks, root, content)
    }

    func testRoundTripWithOffsets() throws {
        let (car, blocks, root, content) = try fileCAR()
        let (header, sections) = try readAll(car)
        XCTAssertEqual(header.roots, [root])
        XCTAssertEqual(sections.map(\.block), blocks)
        var offset = Int64(CARHeader(roots: [root]).encoded().count + 1)
        for section in sections {
            XCTAssertEqual(section.offset, offset)
            offset += Int64(Varint.size(of: UInt64(section.cid.bytes.count + section.bytes.count))
                + section.cid.bytes.count + section.bytes.count)
        }
        XCTAssertEqual(offset, Int64(car.count))
        let byCID = Dictionary(sections.map { ($0.cid, $0.bytes) }, uniquingKeysWith: { a, _ in a })
        XCTAssertEqual(try UnixFSFileReader.readAll(root: root) { byCID[$0] }, content)
    }

    func testFileRoundTrip() throws {
        let dir = NSTemporaryDirectory() + "hsdb-car-" + UUID().uuidString
        let fs = POSIXFileSystem()
        try fs.createDirectories(dir)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
        let (car, blocks, root, _) = try fileCAR()
        let file = try fs.open(dir + "/a.car", mode: .createNew)
        var writer = try CARWriter(roots: [root], file: file)
        for block in blocks { try writer.write(block) }
        try file.close()
        XCTAssertEqual(try fs.readFile(dir + "/a.car"), car)
        let input = try fs.open(dir + "/a.car", mode: .readOnly)
        defer { try? input.close() }
        var reader = try CARReader(file: input)
        XCTAssertEqual(reader.file, dir + "/a.car")
        var read: [Block] = []
        while let section = try reader.next() { read.append(section.block) }
        XCTAssertEqual(read, blocks)
    }

    /// Cut anywhere: inside the header or a section it is an error naming the offset where
    /// the damaged part starts; exactly at a section boundary it reads as a shorter CAR (which
    /// is why the backup catalogue must record what to expect).
    func testTruncationAtEveryLength() throws {
        let (car, _, _, _) = try fileCAR()
        let (_, sections) = try readAll(car)
        let boundaries = Set(sections.map { Int($0.offset) } + [car.count])
        for length in 0..<car.count {
            let cut = Array(car.prefix(length))
            if boundaries.contains(length) {
                let (_, read) = try readAll(cut)
                XCTAssertEqual(read, sections.filter { $0.offset < Int64(length) }, "cut at \(length)")
                continue
            }
            guard case .car(let file, let offset, _, _)? = codecError({ try readAll(cut) }) else {
                XCTFail("cut at \(length): not a CAR error"); continue
            }
            XCTAssertEqual(file, "t.car")
            let start = sections.last { $0.offset <= Int64(length) }?.offset ?? 0
            XCTAssertEqual(offset, start, "cut at \(length)")
        }
    }

    /// Any one byte changed is refused or changes what is read; in a block it is a hash
    /// mismatch naming the section's offset and CID.
    func testEveryByteFlipIsDetected() throws {
        let (car, _, _, _) = try fileCAR()
        let original = try readAll(car)
        for index in car.indices {
            for mask: UInt8 in [0x01, 0x80] {
                var damaged = car
                damaged[index] ^= mask
                if let read = try? readAll(damaged) {
                    XCTAssertFalse(read.0 == original.0 && read.1.map(\.block) == original.1.map(\.block),
                                   "flip \(mask) at \(index) went unnoticed")
                }
            }
        }
        let section = original.1[3]
        var damaged = car
        damaged[Int(original.1[4].offset) - 1] ^= 0x01  // the last byte of section 3's block
        assertThrows(.car(file: "t.car", offset: section.offset, cid: section.cid, .hashMismatch(section.cid))) {
            try readAll(damaged)
        }
        XCTAssertNoThrow(try readAll(damaged, verify: false))
    }

    func testOversizeSectionIsRefusedBeforeReading() throws {
        let header = Array(helloCAR.prefix(59))
        let car = header + Varint.encode(UInt64(CARFormat.maxSectionBytes + 1))
        var requested = 0
        var reader = try CARReader(name: "big.car") { offset, count in
            requested = max(requested, count)
            let from = Int(min(offset, Int64(car.count)))
            return Array(car[from..<min(from + count, car.count)])
        }
        assertThrows(.car(file: "big.car", offset: 59, cid: nil,
                          .carFormat(reason: "section of 8388609 bytes, over the 8 MiB limit"))) { try reader.next() }
        XCTAssertLessThanOrEqual(requested, 1 << 20)
        var writer = try CARWriter(roots: [helloCID]) { _ in }
        let big = [UInt8](repeating: 0, count: CARFormat.maxSectionBytes)
        XCTAssertThrowsError(try writer.write(Block(codec: .raw, bytes: big)))
    }

    func testHeaderRefusals() {
        // The CARv2 pragma: {"version": 2}.
        assertThrows(.car(file: "t.car", offset: 0, cid: nil,
                          .carFormat(reason: "CAR version 2 (a CARv2 file; only CARv1 is read)"))) {
            try readAll(hex("0a a1 6776657273696f6e 02"))
        }
        let noRoots = DAGCBOR.map(["roots": .array([]), "version": .unsigned(1)]).encoded()
        assertThrows(.car(file: "t.car", offset: 0, cid: nil, .carFormat(reason: "header has no roots"))) {
            try readAll(Varint.encode(UInt64(noRoots.count)) + noRoots)
        }
        let extra = DAGCBOR.map(["roots": .array([.link(helloCID)]), "version": .unsigned(1), "x": .null]).encoded()
        assertThrows(.car(file: "t.car", offset: 0, cid: nil,
                          .carFormat(reason: "header must hold exactly 'roots' and 'version'"))) {
            try readAll(Varint.encode(UInt64(extra.count)) + extra)
        }
        assertThrows(.car(file: "t.car", offset: 0, cid: nil, .carFormat(reason: "empty file"))) { try readAll([]) }
        assertThrows(.car(file: "t.car", offset: 59, cid: nil, .carFormat(reason: "zero-length section"))) {
            try readAll(Array(helloCAR.prefix(59)) + [0x00])
        }
    }
}
