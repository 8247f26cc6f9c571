@testable import IPLD
import XCTest

final class DAGCBORTests: XCTestCase {
    func testIntegersTakeTheirShortestForm() {
        let cases: [(DAGCBOR, String)] = [
            (.unsigned(0), "00"), (.unsigned(23), "17"), (.unsigned(24), "1818"), (.unsigned(255), "18ff"),
            (.unsigned(256), "190100"), (.unsigned(65_535), "19ffff"), (.unsigned(65_536), "1a00010000"),
            (.unsigned(0xFFFF_FFFF), "1affffffff"), (.unsigned(1 << 32), "1b0000000100000000"),
            (.unsigned(.max), "1bffffffffffffffff"), (.int(-1), "20"), (.int(-24), "37"), (.int(-25), "3818"),
            (.int(.min), "3b7fffffffffffffff"),
        ]
        for (value, expected) in cases {
            XCTAssertEqual(hexString(value.encoded()), expected, "\(value)")
            XCTAssertEqual(try DAGCBOR(decoding: hex(expected)), value, expected)
        }
    }

    /// From car-and-cid-facts.md: `{"a": 1.5}`, floats always 64-bit.
    func testFloatGolden() throws {
        let bytes = hex("a1 61 61 fb 3ff8000000000000")
        XCTAssertEqual(DAGCBOR.map(["a": .float(1.5)]).encoded(), bytes)
        XCTAssertEqual(try DAGCBOR(decoding: bytes), .map(["a": .float(1.5)]))
    }

    func testMapKeysSortLengthFirstThenBytewise() {
        let value = DAGCBOR.map(["version": .unsigned(1), "b": .null, "aa": .bool(true), "a": .bool(false), "roots": .array([])])
        XCTAssertEqual(hexString(value.encoded()),
                       "a5" + "6161f4" + "6162f6" + "626161f5" + "65726f6f747380" + "6776657273696f6e01")
    }

    func testLinkIsTag42WithTheIdentityPrefix() throws {
        let cid = CID.compute(Array("hello world".utf8), codec: .raw)
        let bytes = DAGCBOR.link(cid).encoded()
        XCTAssertEqual(Array(bytes.prefix(5)), [0xD8, 0x2A, 0x58, 0x25, 0x00])
        XCTAssertEqual(Array(bytes.dropFirst(5)), cid.bytes)
        XCTAssertEqual(try DAGCBOR(decoding: bytes), .link(cid))
    }

    func testNestedRoundTrip() throws {
        let cid = CID.compute([1, 2, 3], codec: .dagCBOR)
        let value = DAGCBOR.map([
            "segments": .array([.link(cid), .map(["size": .unsigned(262_144), "name": .text("héllo")])]),
            "bytes": .bytes(Array(0..<30)), "neg": .int(-1000), "none": .null, "pi": .float(3.25),
            "empty": .map([:]), "": .text(""),
        ])
        let bytes = value.encoded()
        XCTAssertEqual(try DAGCBOR(decoding: bytes), value)
        XCTAssertEqual(try DAGCBOR(decoding: bytes).encoded(), bytes)
    }

    func testRefusesNonCanonicalAndUnsupportedInput() {
        let cases: [(String, ArchiveCodecError)] = [
            ("1817", .nonCanonical(.dagCBOR, offset: 0, reason: "integer or length not in its shortest form")),
            ("190017", .nonCanonical(.dagCBOR, offset: 0, reason: "integer or length not in its shortest form")),
            ("5800", .nonCanonical(.dagCBOR, offset: 0, reason: "integer or length not in its shortest form")),
            ("a2616201616102", .nonCanonical(.dagCBOR, offset: 4, reason: "map keys out of canonical order")),
            ("a2626161016162", .nonCanonical(.dagCBOR, offset: 5, reason: "map keys out of canonical order")),
            ("a2616101616102", .nonCanonical(.dagCBOR, offset: 4, reason: "duplicate map key")),
            ("9fff", .nonCanonical(.dagCBOR, offset: 0, reason: "indefinite-length item")),
            ("fa3fc00000", .nonCanonical(.dagCBOR, offset: 0, reason: "float narrower than 64 bits")),
            ("f93e00", .nonCanonical(.dagCBOR, offset: 0, reason: "float narrower than 64 bits")),
            ("fb7ff8000000000000", .unsupported(.dagCBOR, reason: "NaN or Infinity at offset 0")),
            ("fb7ff0000000000000", .unsupported(.dagCBOR, reason: "NaN or Infinity at offset 0")),
            ("f7", .unsupported(.dagCBOR, reason: "simple value 23 at offset 0")),
            ("c100", .unsupported(.dagCBOR, reason: "tag 1 at offset 0 (only 42 is allowed)")),
            ("a10102", .malformed(.dagCBOR, offset: 1, reason: "map key is not a text string")),
            ("0101", .malformed(.dagCBOR, offset: 1, reason: "bytes after the top-level item")),
            ("6261", .malformed(.dagCBOR, offset: 0, reason: "length 2 overruns the input")),
            ("61ff", .malformed(.dagCBOR, offset: 0, reason: "text is not valid UTF-8")),
            ("5affffffff", .malformed(.dagCBOR, offset: 0, reason: "length 4294967295 overruns the input")),
            ("9a7fffffff00", .malformed(.dagCBOR, offset: 0, reason: "array of 2147483647 items overruns the input")),
            ("1c", .malformed(.dagCBOR, offset: 0, reason: "reserved additional information 28")),
            ("", .malformed(.dagCBOR, offset: 0, reason: "input ends inside an item")),
            ("d82a4101", .malformed(.dagCBOR, offset: 2, reason: "CID bytes lack the 0x00 multibase prefix")),
            ("d82a6100", .malformed(.dagCBOR, offset: 2, reason: "tag 42 content is not a byte string")),
        ]
        for (input, expected) in cases {
            assertThrows(expected) { try DAGCBOR(decoding: hex(input)) }
        }
    }

    func testRefusesDeepNesting() {
        let deep = [UInt8](repeating: 0x81, count: 100) + [0x00]
        assertThrows(.unsupported(.dagCBOR, reason: "nesting deeper than 64 at offset 65")) { try DAGCBOR(decoding: deep) }
        let ok = [UInt8](repeating: 0x81, count: 64) + [0x00]
        XCTAssertNoThrow(try DAGCBOR(decoding: ok))
    }
}
