@testable import IPLD
import XCTest

final class DAGPBTests: XCTestCase {
    let cid = CID.compute(Array("hello world".utf8), codec: .raw)

    /// Links (field 2) before Data (field 1); a link is Hash, Name, Tsize; kubo's empty
    /// Name is present as `12 00`.
    func testKuboLinkAndNodeBytes() throws {
        let node = DAGPBNode(links: [DAGPBLink(hash: cid, name: "", tsize: 11)], data: [0x08, 0x02])
        let expected = hex("122a 0a24") + cid.bytes + hex("1200 180b") + hex("0a02 0802")
        XCTAssertEqual(node.encoded(), expected)
        XCTAssertEqual(try DAGPBNode(decoding: expected), node)
    }

    func testOptionalFieldsRoundTrip() throws {
        for node in [
            DAGPBNode(data: nil), DAGPBNode(data: []),
            DAGPBNode(links: [DAGPBLink(hash: cid, name: nil, tsize: nil)], data: nil),
            DAGPBNode(links: [DAGPBLink(hash: cid, name: "ä", tsize: 0), DAGPBLink(hash: cid, tsize: 1 << 40)], data: [1]),
        ] {
            XCTAssertEqual(try DAGPBNode(decoding: node.encoded()), node)
        }
        XCTAssertEqual(DAGPBNode(data: nil).encoded(), [])
    }

    func testRefusals() {
        let link = hex("0a24") + cid.bytes
        let linkField = hex("1226") + link
        // A link after Data.
        assertThrows(.nonCanonical(.dagPB, offset: 2, reason: "a link after Data")) {
            try DAGPBNode(decoding: hex("0a00") + linkField)
        }
        assertThrows(.malformed(.dagPB, offset: 2, reason: "Data twice")) { try DAGPBNode(decoding: hex("0a00 0a00")) }
        assertThrows(.malformed(.dagPB, offset: 0, reason: "unknown PBNode field 3")) { try DAGPBNode(decoding: hex("1a00")) }
        assertThrows(.malformed(.dagPB, offset: 0, reason: "PBNode field 1 has wire type 0")) { try DAGPBNode(decoding: hex("0800")) }
        assertThrows(.malformed(.dagPB, offset: 2, reason: "link without a Hash")) { try DAGPBNode(decoding: hex("1202 180b")) }
        // Tsize before Name.
        let swapped = hex("122a") + link + hex("180b 1200")
        assertThrows(.nonCanonical(.dagPB, offset: 2 + 38 + 2, reason: "PBLink field 2 out of order or repeated")) {
            try DAGPBNode(decoding: swapped)
        }
        assertThrows(.malformed(.dagPB, offset: 1, reason: "field length 5 overruns the input")) {
            try DAGPBNode(decoding: hex("0a05 0000"))
        }
    }
}
