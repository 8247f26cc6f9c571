import Foundation
@testable import HSDB
import HSDBCore
import HSDBTestSupport
import XCTest

/// The formula evaluator (`Formula.score`): each operation against values computed by hand,
/// defaults, missing or mistyped variables and non-finite results answered as Qdrant answers
/// them; and one formula query through `Collection.query`.
final class FormulaTests: XCTestCase {
    let payload: Payload = [
        "price": .double(2.5), "count": .int(4), "one": .array([.double(1.5)]), "many": .array([.int(1), .int(2)]),
        "name": .string("x"), "gone": .null,
        "at": .string("2025-03-18T00:00:00Z"), "place": .object(["lat": .double(25.628482424190565), "lon": .double(-100.23881855976)]),
    ]

    func score(_ e: Formula.Expression, scores: [Float?] = [0.5, 2], defaults: [Formula.Variable: JSONValue] = [:]) throws -> Float {
        try Formula(e, defaults: defaults).score(Formula.Inputs(scores: scores, payload: payload) { c in c == .match(key: "name", value: .string("x")) })
    }

    func assertFails(_ e: Formula.Expression, _ expected: FormulaError, defaults: [Formula.Variable: JSONValue] = [:], line: UInt = #line) {
        XCTAssertThrowsError(try score(e, defaults: defaults), line: line) { XCTAssertEqual($0 as? FormulaError, expected, line: line) }
    }

    func testConstantsScoresAndPayloadVariables() throws {
        XCTAssertEqual(try score(.constant(5)), 5)
        XCTAssertEqual(try score(.variable(.score(0))), 0.5)
        XCTAssertEqual(try score(.variable(.score(1))), 2)
        XCTAssertEqual(try score(.variable(.payload("price"))), 2.5)
        XCTAssertEqual(try score(.variable(.payload("count"))), 4)
        XCTAssertEqual(try score(.variable(.payload("one"))), 1.5, "an array of one number is that number")
        XCTAssertEqual(try score(.condition(.match(key: "name", value: .string("x")))), 1)
        XCTAssertEqual(try score(.condition(.match(key: "name", value: .string("y")))), 0)
    }

    func testArithmetic() throws {
        XCTAssertEqual(try score(.sum([.constant(1), .variable(.score(0)), .variable(.payload("price"))])), 4)
        XCTAssertEqual(try score(.mult([.constant(2), .variable(.score(1)), .variable(.payload("count"))])), 16)
        XCTAssertEqual(try score(.neg(.constant(3))), -3)
        XCTAssertEqual(try score(.abs(.constant(-3))), 3)
        XCTAssertEqual(try score(.div(left: .constant(10), right: .constant(4), byZero: nil)), 2.5)
        XCTAssertEqual(try score(.sqrt(.constant(16))), 4)
        XCTAssertEqual(try score(.pow(base: .constant(2), exponent: .constant(10))), 1024)
        XCTAssertEqual(try score(.exp(.constant(1))), Float(M_E), accuracy: 1e-6)
        XCTAssertEqual(try score(.log10(.constant(1000))), 3, accuracy: 1e-6)
        XCTAssertEqual(try score(.ln(.constant(Float(M_E)))), 1, accuracy: 1e-6)
        // The test's own formula from Qdrant's suite: score + price / (1 + |price|).
        let sigmoid = Formula.Expression.sum([
            .variable(.score(0)), .div(left: .variable(.payload("price")), right: .sum([.constant(1), .abs(.variable(.payload("price")))]), byZero: nil),
        ])
        XCTAssertEqual(try score(sigmoid), Float(0.5 + 2.5 / 3.5), accuracy: 1e-6)
    }

    func testDivisionByZero() throws {
        XCTAssertEqual(try score(.div(left: .constant(1), right: .constant(0), byZero: 7)), 7)
        XCTAssertEqual(try score(.div(left: .constant(0), right: .variable(.payload("missing")), byZero: nil)), 0, "a zero numerator skips the denominator")
        assertFails(.div(left: .constant(1), right: .constant(0), byZero: nil), .nonFinite(expression: "1/0 = inf"))
        XCTAssertEqual(try score(.mult([.constant(0), .variable(.payload("missing"))])), 0, "a product stops at 0")
    }

    func testNonFiniteResults() {
        assertFails(.sqrt(.constant(-3)), .nonFinite(expression: "√-3 = NaN"))
        assertFails(.pow(base: .constant(-1), exponent: .constant(0.5)), .nonFinite(expression: "-1^0.5 = NaN"))
        assertFails(.log10(.constant(0)), .nonFinite(expression: "log10(0) = -inf"))
        assertFails(.ln(.constant(0)), .nonFinite(expression: "ln(0) = -inf"))
        assertFails(.exp(.constant(1000)), .nonFinite(expression: "exp(1000) = inf"))
        // Finite as a double, too large for the Float a score is.
        XCTAssertThrowsError(try score(.pow(base: .constant(10), exponent: .constant(300)))) {
            guard case .nonFinite(let shown)? = $0 as? FormulaError else { return XCTFail("\($0)") }
            XCTAssertTrue(shown.hasSuffix(" as f32 = inf"), shown)
        }
    }

    func testDefaultsAndMissingVariables() throws {
        XCTAssertEqual(try score(.variable(.payload("missing")), defaults: [.payload("missing"): .int(3)]), 3)
        XCTAssertEqual(try score(.variable(.payload("gone")), defaults: [.payload("gone"): .int(6)]), 6, "null counts as missing")
        XCTAssertEqual(try score(.variable(.payload("price")), defaults: [.payload("price"): .int(9)]), 2.5, "the payload wins")
        XCTAssertEqual(try score(.variable(.score(3)), defaults: [.score(3): .double(1.5)]), 1.5)
        XCTAssertEqual(try score(.variable(.score(3))), 0, "a score without a default is 0")
        XCTAssertEqual(try score(.variable(.score(0)), scores: [nil], defaults: [.score(0): .int(2)]), 2)
        assertFails(.variable(.payload("missing")), .variableType(path: "missing", expected: "number", reason: "No value found in a payload nor defaults"))
        assertFails(.variable(.payload("many")), .variableType(path: "many", expected: "number", reason: "Value is not a number"))
        assertFails(.variable(.payload("name")), .variableType(path: "name", expected: "number", reason: "Value is not a number"))
        XCTAssertEqual(
            FormulaError.variableType(path: "missing", expected: "number", reason: "No value found in a payload nor defaults").description,
            "Expected number value for missing in the payload and/or in the formula defaults. Error: No value found in a payload nor defaults")
    }

    func testGeoDistanceAndDatetimes() throws {
        // Qdrant's own case (formula_scorer.rs): 21926.494151786308 meters.
        let origin = GeoPoint(lon: -100.43383200156751, lat: 25.717877679163667)
        XCTAssertEqual(try score(.geoDistance(origin: origin, to: "place")), 21926.494, accuracy: 0.01)
        assertFails(.geoDistance(origin: origin, to: "price"), .variableType(path: "price", expected: "geo point", reason: "Value is not a geo point"))
        XCTAssertEqual(try score(.datetimeKey("at")), 1_742_256_000)
        XCTAssertEqual(try score(.datetime(1_742_256_000)), 1_742_256_000)
        assertFails(.datetimeKey("count"), .variableType(path: "count", expected: "datetime", reason: "Value is not a string"))
    }

    func testDecays() throws {
        // At |x - target| = scale each decay gives its midpoint.
        for kind in [Formula.Decay.Kind.linear, .exponential, .gaussian] {
            let d = try Formula.Decay(kind, midpoint: 0.25, scale: 2)
            XCTAssertEqual(try score(.decay(d, x: .constant(5), target: .constant(3))), 0.25, accuracy: 1e-6, "\(kind)")
            XCTAssertEqual(try score(.decay(d, x: .constant(3), target: .constant(3))), 1, accuracy: 1e-6, "\(kind)")
        }
        // Defaults (midpoint 0.5, scale 1, target 0): exp(ln 0.5 * 2) = 0.25; gauss exp(ln 0.5 * 4) = 0.0625; lin max(0, 1 - 0.5 * 2) = 0.
        XCTAssertEqual(try score(.decay(try Formula.Decay(.exponential), x: .constant(2), target: nil)), 0.25, accuracy: 1e-6)
        XCTAssertEqual(try score(.decay(try Formula.Decay(.gaussian), x: .constant(-2), target: nil)), 0.0625, accuracy: 1e-6)
        XCTAssertEqual(try score(.decay(try Formula.Decay(.linear), x: .constant(3), target: nil)), 0)
        XCTAssertThrowsError(try Formula.Decay(.exponential, midpoint: 1)) {
            XCTAssertEqual(($0 as? FormulaError)?.description, "Validation failed: Decay midpoint should be in the range (0.0, 1.0), got 1.")
        }
        XCTAssertThrowsError(try Formula.Decay(.linear, scale: 0)) {
            XCTAssertEqual(($0 as? FormulaError)?.description, "Validation failed: Decay scale should be non-zero positive, got 0.")
        }
    }

    func testVariableNames() throws {
        XCTAssertEqual(try Formula.Variable(parsing: "$score"), .score(0))
        XCTAssertEqual(try Formula.Variable(parsing: "$score[2]"), .score(2))
        XCTAssertEqual(try Formula.Variable(parsing: "a.b[0]"), .payload("a.b[0]"))
        for bad in ["$score.x", "$score[1][2]", "$score[]", "$other", ""] {
            XCTAssertThrowsError(try Formula.Variable(parsing: bad), bad)
        }
    }

    /// The prefetch's hits re-scored by score and price, a threshold applied, best first.
    func testFormulaQueryOverAPrefetch() async throws {
        let db = try await Database.open(at: temporaryDatabasePath(self))
        let c = try await db.createCollection("f", config: CollectionConfig(dimension: 2, metric: .dot))
        try await c.upsert((1...6).map { i in
            Point(id: .integer(UInt64(i)), vector: [Float(i), 1], payload: i == 6 ? [:] : ["price": .double(Double(i) / 10)])
        })
        // dot([i, 1], [1, 0]) = i, so 0.5 i + i / 10: 2.4 for point 4, 3 for 5, and 3 for 6 (price defaults to 0).
        let formula = Formula(.sum([.mult([.variable(.score(0)), .constant(0.5)]), .variable(.payload("price"))]), defaults: [.payload("price"): .int(0)])
        let prefetch = [Query(.vector([1, 0]), limit: 10)]
        let best = try c.query(Query(.formula(formula), limit: 3, prefetch: prefetch), projection: .idsOnly)
        XCTAssertEqual(best.map(\.id), [5, 6, 4].map { PointID.integer($0) }, "best first, ties in id order")
        XCTAssertEqual(best.map(\.score), [3, 3, 2.4], accuracy: 1e-6)
        let above = try c.query(Query(.formula(formula), limit: 10, scoreThreshold: 2.5, prefetch: prefetch), projection: .idsOnly)
        XCTAssertEqual(above.map(\.id), [5, 6].map { PointID.integer($0) })
        try await db.close()
    }
}

private func XCTAssertEqual(_ a: [Float], _ b: [Float], accuracy: Float, line: UInt = #line) {
    XCTAssertEqual(a.count, b.count, line: line)
    for (x, y) in zip(a, b) { XCTAssertEqual(x, y, accuracy: accuracy, line: line) }
}
