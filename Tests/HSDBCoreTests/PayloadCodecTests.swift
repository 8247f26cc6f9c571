import Foundation
import HSDBCore
import XCTest

final class PayloadCodecTests: XCTestCase {
    let sample: Payload = [
        "title": "Sleeping cats", "year": 2024, "score": 0.5, "tags": ["a", "b", 3, nil, true],
        "nested": ["deep": ["deeper": [1, 2.5, false]]], "empty": [:], "neg": -9_223_372_036_854_775_808,
    ]

    func testRoundTrip() throws {
        let bytes = PayloadCodec.encode(sample)
        XCTAssertEqual(try PayloadCodec.decodePayload(bytes), sample)
    }

    func testEncodingIsDeterministicWhateverTheInsertionOrder() {
        var a: Payload = [:]
        var b: Payload = [:]
        for i in 0..<50 { a["k\(i)"] = .int(Int64(i)) }
        for i in (0..<50).reversed() { b["k\(i)"] = .int(Int64(i)) }
        XCTAssertEqual(PayloadCodec.encode(a), PayloadCodec.encode(b))
    }

    func testGoldenBytes() {
        // {"a": 1, "b": [true, null]}: see DESIGN.md, "Payload encoding".
        XCTAssertEqual(PayloadCodec.encode(["b": [true, nil], "a": 1]),
                       [7, 2, 1, 0x61, 3, 2, 1, 0x62, 6, 2, 2, 0])
    }

    func testHostileInputsAreRefused() {
        XCTAssertThrowsError(try PayloadCodec.decodePayload([]))
        XCTAssertThrowsError(try PayloadCodec.decodePayload([9]), "unknown tag")
        XCTAssertThrowsError(try PayloadCodec.decodePayload([5, 1, 0x61]), "a string is not an object")
        XCTAssertThrowsError(try PayloadCodec.decodePayload([7, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F]), "count larger than the input")
        XCTAssertThrowsError(try PayloadCodec.decodePayload([7, 0, 0]), "trailing bytes")
        let deep: [UInt8] = Array((0..<200).map { _ -> [UInt8] in [6, 1] }.joined()) + [0]
        XCTAssertThrowsError(try PayloadCodec.decodePayload([7, 1, 1, 0x61] + deep), "nesting beyond the limit")
    }

    func testTruncationAtEveryByteIsRefused() {
        let bytes = PayloadCodec.encode(sample)
        for n in 0..<bytes.count {
            XCTAssertThrowsError(try PayloadCodec.decodePayload(Array(bytes.prefix(n))), "prefix of \(n) bytes")
        }
    }

    func testJSONTextAndCodable() throws {
        let value: JSONValue = ["b": [1, 2.5, "x\n\"y\""], "a": nil]
        XCTAssertEqual(value.description, #"{"a":null,"b":[1,2.5,"x\n\"y\""]}"#)
        let decoded = try JSONDecoder().decode(JSONValue.self, from: Data(value.description.utf8))
        XCTAssertEqual(decoded, value)
    }
}
