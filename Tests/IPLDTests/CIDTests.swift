@testable import IPLD
import XCTest

/// Golden values from shared/notes/car-and-cid-facts.md (checked there with multiformats and
/// libipld) and from kubo.
final class CIDTests: XCTestCase {
    static let helloWorld = Array("hello world".utf8)
    static let helloWorldCID = "bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e"
    static let helloWorldBytes = hex("01551220b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9")

    func testHelloWorldRawCID() throws {
        let cid = CID.compute(Self.helloWorld, codec: .raw)
        XCTAssertEqual(cid.bytes, Self.helloWorldBytes)
        XCTAssertEqual(cid.text, Self.helloWorldCID)
        XCTAssertEqual(try CID(text: Self.helloWorldCID), cid)
        XCTAssertEqual(try CID(bytes: Self.helloWorldBytes), cid)
        XCTAssertTrue(cid.matches(Self.helloWorld))
        XCTAssertFalse(cid.matches(Array("hello worle".utf8)))
    }

    func testTextPrefixesPerCodec() {
        let digest = [UInt8](repeating: 7, count: 32)
        XCTAssertTrue(CID(codec: .raw, digest: digest).text.hasPrefix("bafkrei"))
        XCTAssertTrue(CID(codec: .dagPB, digest: digest).text.hasPrefix("bafybei"))
        XCTAssertTrue(CID(codec: .dagCBOR, digest: digest).text.hasPrefix("bafyrei"))
    }

    /// kubo's CIDv0 of an empty file, `QmbFMke1…`, is the dag-pb node `0a 04 08 02 18 00`.
    func testCIDv0BinaryAndText() throws {
        let v0 = "QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH"
        let cid = CID.compute(hex("0a0408021800"), codec: .dagPB, version: .v0)
        XCTAssertEqual(cid.text, v0)
        XCTAssertEqual(cid.bytes.count, 34)
        XCTAssertEqual(Array(cid.bytes.prefix(2)), [0x12, 0x20])
        XCTAssertEqual(try CID(text: v0), cid)
        XCTAssertEqual(try CID(bytes: cid.bytes), cid)
        // The same digest as CIDv1 dag-pb is a different CID with a different text.
        let v1 = CID(codec: .dagPB, digest: cid.digest)
        XCTAssertNotEqual(v1, cid)
        XCTAssertEqual(try CID(text: v1.text), v1)
    }

    func testReadStopsAfterTheCID() throws {
        let bytes = Self.helloWorldBytes + Self.helloWorld
        var offset = 0
        XCTAssertEqual(try CID.read(bytes, at: &offset).text, Self.helloWorldCID)
        XCTAssertEqual(offset, 36)
        assertThrows(.malformed(.cid, offset: 36, reason: "11 bytes after the CID")) { try CID(bytes: bytes) }
    }

    func testRefusals() {
        var bytes = Self.helloWorldBytes
        bytes[1] = 0x72  // libp2p-key: not a codec hsdb reads
        assertThrows(.unsupported(.cid, reason: "codec 0x72 at offset 1")) { try CID(bytes: bytes) }
        bytes = Self.helloWorldBytes
        bytes[2] = 0x13  // sha2-512
        assertThrows(.unsupported(.cid, reason: "multihash 0x13 at offset 2")) { try CID(bytes: bytes) }
        bytes = Self.helloWorldBytes
        bytes[0] = 0x02
        assertThrows(.unsupported(.cid, reason: "CID version 2 at offset 0")) { try CID(bytes: bytes) }
        assertThrows(.malformed(.cid, offset: 4, reason: "digest cut short")) { try CID(bytes: Self.helloWorldBytes.dropLast()) }
        assertThrows(.malformed(.varint, offset: 0, reason: "ends after 0 bytes")) { try CID(bytes: [UInt8]()) }
    }

    func testTextRefusals() {
        XCTAssertThrowsError(try CID(text: "B" + Self.helloWorldCID.dropFirst().uppercased()))
        XCTAssertThrowsError(try CID(text: "bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5!"))
        XCTAssertThrowsError(try CID(text: ""))
        // A last character with non-zero unused bits spells the same bytes a second way.
        XCTAssertThrowsError(try CID(text: String(Self.helloWorldCID.dropLast()) + "f"))
    }

    func testBase32AgainstRFC4648() throws {
        let cases = [("", ""), ("f", "my"), ("fo", "mzxq"), ("foo", "mzxw6"), ("foob", "mzxw6yq"),
                     ("fooba", "mzxw6ytb"), ("foobar", "mzxw6ytboi")]
        for (plain, encoded) in cases {
            XCTAssertEqual(Base32.encode(Array(plain.utf8)), encoded)
            XCTAssertEqual(try Base32.decode(Substring(encoded)), Array(plain.utf8))
        }
    }
}
