@testable import IPLD
import XCTest

/// The streaming parser yields the sections the file reader reads, whatever the chunk sizes,
/// and says where a stream was cut.
final class CARStreamParserTests: XCTestCase {
    private func car() throws -> (bytes: [UInt8], blocks: [Block]) {
        var source = SeededBytes()
        let blocks = (0..<20).map { i in Block(codec: .raw, bytes: source.next(i * 97 + 1)) }
        var bytes: [UInt8] = []
        var writer = try CARWriter(roots: [blocks[0].cid]) { bytes.append(contentsOf: $0) }
        for b in blocks { try writer.write(b) }
        return (bytes, blocks)
    }

    func testChunksOfAnySizeGiveTheSectionsTheReaderReads() throws {
        let (bytes, _) = try car()
        var reader = try CARReader(bytes: bytes)
        var expected: [CARSection] = []
        while let s = try reader.next() { expected.append(s) }
        for chunk in [1, 2, 7, 100, 4096, bytes.count] {
            var parser = CARStreamParser(name: "stream")
            var got: [CARSection] = []
            for start in stride(from: 0, to: bytes.count, by: chunk) {
                got += try bytes[start..<min(start + chunk, bytes.count)].withUnsafeBytes { try parser.push($0) }
            }
            try parser.finish()
            XCTAssertEqual(got, expected, "chunks of \(chunk)")
            XCTAssertEqual(parser.header, reader.header)
        }
    }

    func testAStreamCutInsideASectionIsAnErrorAtItsEnd() throws {
        let (bytes, _) = try car()
        var parser = CARStreamParser(name: "stream")
        _ = try bytes.dropLast(5).withUnsafeBytes { try parser.push($0) }
        XCTAssertThrowsError(try parser.finish()) { error in
            guard case .car(let file, _, _, .carFormat(let reason))? = error as? ArchiveCodecError else { return XCTFail("\(error)") }
            XCTAssertEqual(file, "stream")
            XCTAssertTrue(reason.contains("ended inside a section"), reason)
        }
        var empty = CARStreamParser(name: "stream")
        XCTAssertThrowsError(try empty.finish())
        _ = try [UInt8]().withUnsafeBytes { try empty.push($0) }
    }

    func testAnOversizeSectionIsRefusedBeforeItsBytesArrive() throws {
        var bytes = CARWriter.header(roots: [Block(codec: .raw, bytes: [1]).cid])
        bytes += Varint.encode(UInt64(CARFormat.maxSectionBytes + 1))
        var parser = CARStreamParser(name: "stream")
        XCTAssertThrowsError(try bytes.withUnsafeBytes { try parser.push($0) }) { error in
            guard case .car(_, let offset, _, _)? = error as? ArchiveCodecError else { return XCTFail("\(error)") }
            XCTAssertEqual(offset, Int64(CARWriter.header(roots: [Block(codec: .raw, bytes: [1]).cid]).count))
        }
    }
}
