import Foundation
@testable import HSDB
import HSDBCore
import HSDBTestSupport
import XCTest

/// Full-text conditions: `matchText` is a substring match without a text index and a
/// word match with one (as in Qdrant); `text_any` and phrases match words either way; the
/// index answers them without reading every payload.
final class TextIndexTests: XCTestCase {
    func testTokenizerAndModes() {
        XCTAssertEqual(TextTokens.words("Hello, World! x86_64 naïve-Café"), ["hello", "world", "x86", "64", "naïve", "café"])
        let field = TextTokens.words("the quick brown fox jumps")
        XCTAssertTrue(TextTokens.matches(field, ["fox", "quick"], .all))
        XCTAssertFalse(TextTokens.matches(field, ["fox", "cat"], .all))
        XCTAssertTrue(TextTokens.matches(field, ["fox", "cat"], .any))
        XCTAssertTrue(TextTokens.matches(field, ["brown", "fox"], .phrase))
        XCTAssertFalse(TextTokens.matches(field, ["fox", "brown"], .phrase))
    }

    func testTextConditionsWithAndWithoutAnIndex() async throws {
        var o = DatabaseOptions()
        o.compaction.enabled = false
        let db = try await Database.open(at: temporaryDatabasePath(self), options: o)
        let c = try await db.createCollection("c", config: CollectionConfig(dimension: 2))
        let texts = ["The quick brown fox", "a brown dog sleeps", "Quick thinking", "foxes are not fox", "brownish fox"]
        var points: [Point] = []
        for i in 0..<300 { points.append(Point(id: .integer(UInt64(i)), vector: [1, Float(i)], payload: ["t": .string(texts[i % 5])])) }
        try await c.upsert(Array(points[0..<200]))
        try await c.flush()
        try await c.upsert(Array(points[200...]))
        func count(_ condition: Condition) throws -> Int { try c.count(filter: Filter(must: [condition])) }
        // Without an index, `text` is a substring match: "brown" is in "brownish".
        XCTAssertEqual(try count(.matchText(key: "t", text: "brown")), 180)
        XCTAssertEqual(try count(.matchText(key: "t", text: "QUICK")), 0, "substring matching is case-sensitive")
        try await c.createPayloadIndex("t", type: .text)
        let before = c.statistics().payloadScans
        XCTAssertEqual(try count(.matchText(key: "t", text: "brown")), 120, "with the index: the word, not brownish")
        XCTAssertEqual(try count(.matchText(key: "t", text: "QUICK fox")), 60)
        XCTAssertEqual(try count(.textTokens(key: "t", tokens: ["dog", "thinking"], mode: .any)), 120)
        XCTAssertEqual(try count(.textTokens(key: "t", tokens: ["brown", "fox"], mode: .phrase)), 60)
        XCTAssertEqual(try count(.textTokens(key: "t", tokens: ["fox", "brown"], mode: .phrase)), 0)
        XCTAssertEqual(c.statistics().payloadScans, before, "the text index answered every condition")
        let hits = try c.search([1, 0], limit: 100, projection: .payloadOnly, filter: Filter(must: [.matchText(key: "t", text: "fox")]))
        XCTAssertEqual(Set(hits.compactMap { $0.payload?["t"] }), [.string(texts[0]), .string(texts[3]), .string(texts[4])])
        try await db.close()
    }
}
