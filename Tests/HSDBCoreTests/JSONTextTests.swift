import Foundation
import HSDBCore
import XCTest

final class JSONTextTests: XCTestCase {
    func testParsesEveryKindOfValue() throws {
        let v = try JSONParser.parse(#" {"a": [1, -2, 3.5, -0.25e2, true, false, null], "s": "x\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00", "o": {}} "#)
        XCTAssertEqual(v, .object([
            "a": [.int(1), .int(-2), .double(3.5), .double(-25), .bool(true), .bool(false), .null],
            "s": .string("x\"\\/\u{8}\u{c}\n\r\té😀"), "o": .object([:]),
        ]))
    }

    func testIntegersStayIntegersWithinInt64() throws {
        XCTAssertEqual(try JSONParser.parse("9223372036854775807"), .int(.max))
        XCTAssertEqual(try JSONParser.parse("-9223372036854775808"), .int(.min))
        XCTAssertEqual(try JSONParser.parse("9223372036854775808"), .double(9223372036854775808))
        XCTAssertEqual(try JSONParser.parse("1.0"), .double(1))
    }

    /// Every double the fast and slow paths produce equals the correctly rounded value.
    func testNumbersAreCorrectlyRounded() throws {
        var rng = SplitMix64(seed: 42)
        for _ in 0..<20_000 {
            let d = Double(bitPattern: rng.next() & 0x7FEF_FFFF_FFFF_FFFF) * (rng.next() & 1 == 0 ? 1 : -1)
            let f = Double(Float(bitPattern: UInt32(truncatingIfNeeded: rng.next()) & 0x7F7F_FFFF))
            for x in [d, f, Double(Float(f))] {
                for text in [x.description, String(format: "%.17g", x), String(format: "%.9e", x)] {
                    guard case .double(let parsed) = try JSONParser.parse(text) else {
                        if case .int(let i) = try JSONParser.parse(text) { XCTAssertEqual(Double(i), Double(text)!); continue }
                        return XCTFail(text)
                    }
                    XCTAssertEqual(parsed, Double(text)!, text)
                }
            }
        }
    }

    /// The texts clients send for embeddings: float32 values widened to double, printed with
    /// up to 17 significant digits (the checked-division path), and near-ties of every kind.
    func testSeventeenDigitFractionsAreCorrectlyRounded() throws {
        var rng = SplitMix64(seed: 9)
        for _ in 0..<100_000 {
            let f = Float(bitPattern: UInt32(truncatingIfNeeded: rng.next()) & 0x3FFF_FFFF)  // |f| < 2
            for text in [Double(f).description, String(format: "%.17f", Double(f)), String(format: "%.19f", Double(rng.next() % 1_000_000) / 1e6 + 1e-13)] {
                guard let expected = Double(text) else { continue }
                let parsed = try JSONParser.parse(text)
                switch parsed {
                case .double(let d): XCTAssertEqual(d.bitPattern, expected.bitPattern, text)
                case .int(let i): XCTAssertEqual(Double(i), expected, text)
                default: XCTFail(text)
                }
            }
        }
    }

    func testRejectsWhatJSONDoesNotAllow() {
        let bad = [
            "", "{", "[1,]", "{\"a\":1,}", "01", "1.", ".5", "-", "1e", "+1", "NaN", "Infinity", "nul", "tru",
            "\"unterminated", "\"\u{01}\"", "\"\\x\"", "\"\\ud800\"", "\"\\udc00x\"", "[1] 2", "{1: 2}", "1e400", "\"\\u12g4\"",
        ]
        for text in bad {
            XCTAssertThrowsError(try JSONParser.parse(text), text)
        }
        XCTAssertThrowsError(try JSONParser.parse([0x22, 0xC3, 0x28, 0x22]))  // invalid UTF-8
    }

    func testNestingIsBounded() {
        XCTAssertNoThrow(try JSONParser.parse(String(repeating: "[", count: 64) + String(repeating: "]", count: 64)))
        XCTAssertThrowsError(try JSONParser.parse(String(repeating: "[", count: 100_000))) { error in
            XCTAssertTrue("\(error)".contains("deeper than 64"), "\(error)")
        }
    }

    func testErrorsSayLineAndColumn() {
        XCTAssertThrowsError(try JSONParser.parse("{\n  \"a\": [1, 2,,]\n}")) { error in
            let e = error as! JSONParseError
            XCTAssertEqual(e.line, 2)
            XCTAssertEqual(e.column, 14)  // the second comma
        }
    }

    func testWriterOutputParsesBackToTheSameValue() throws {
        var rng = SplitMix64(seed: 7)
        for _ in 0..<500 {
            let value = randomValue(&rng, depth: 0)
            var w = JSONTextWriter()
            w.value(value)
            XCTAssertEqual(try JSONParser.parse(w.bytes), value)
            // And Foundation agrees that it is JSON.
            XCTAssertNoThrow(try JSONSerialization.jsonObject(with: Data(w.bytes), options: [.fragmentsAllowed]))
        }
    }

    func testWriterPlacesCommas() {
        var w = JSONTextWriter()
        w.beginObject()
        w.key("a"); w.int(1)
        w.key("b"); w.beginArray(); w.floats([1.5, 2]); w.string("q\"\n\u{1}"); w.null(); w.endArray()
        w.key("c"); w.beginObject(); w.endObject()
        w.endObject()
        XCTAssertEqual(String(decoding: w.bytes, as: UTF8.self), #"{"a":1,"b":[[1.5,2.0],"q\"\n\u0001",null],"c":{}}"#)
    }

    private func randomValue(_ rng: inout SplitMix64, depth: Int) -> JSONValue {
        switch rng.next() % (depth > 3 ? 5 : 7) {
        case 0: return .null
        case 1: return .bool(rng.next() & 1 == 0)
        case 2: return .int(Int64(bitPattern: rng.next()) >> (rng.next() % 64))
        case 3: return .double(Double(bitPattern: rng.next() & 0x7FEF_FFFF_FFFF_FFFF) * (rng.next() & 1 == 0 ? 1 : -1))
        case 4:
            let scalars = (0..<(rng.next() % 8)).compactMap { _ in Unicode.Scalar(UInt32(rng.next() % 0x2FF)) }
            return .string(String(String.UnicodeScalarView(scalars)))
        case 5: return .array((0..<(rng.next() % 4)).map { _ in randomValue(&rng, depth: depth + 1) })
        default:
            var o: [String: JSONValue] = [:]
            for i in 0..<(rng.next() % 4) { o["k\(i)\(rng.next() % 10)"] = randomValue(&rng, depth: depth + 1) }
            return .object(o)
        }
    }
}
