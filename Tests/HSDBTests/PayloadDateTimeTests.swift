import HSDB
import XCTest

/// Datetimes as Qdrant reads them in payloads and datetime ranges.
final class PayloadDateTimeTests: XCTestCase {
    /// Expected seconds computed with Python's datetime.fromisoformat(...).timestamp().
    func testAcceptedFormats() {
        let cases: [(String, Double)] = [
            ("2023-02-08T10:49:00Z", 1_675_853_340), ("2023-02-08 10:49:00.123456+01:00", 1_675_849_740.123456),
            ("2024-02-29", 1_709_164_800), ("1969-12-31T23:59:59", -1), ("2000-03-01T00:00-0530", 951_888_600),
            ("1900-01-01", -2_208_988_800), ("2023-02-08T10:49:00.5z", 1_675_853_340.5),
        ]
        for (text, seconds) in cases {
            guard let got = PayloadDateTime.seconds(text) else { return XCTFail("\(text) refused") }
            XCTAssertEqual(got, seconds, accuracy: 1e-6, text)
        }
    }

    func testRefusedTexts() {
        for text in [
            "", "x", "2023-2-08", "2023-02-30", "2023-13-01", "2023-02-08T", "2023-02-08T25:00", "2023-02-08T10:61",
            "2023-02-08T10:49:00.", "2023-02-08T10:49:00+1", "2023-02-08T10:49:00Zjunk", "2023-02-08 ", "2023-02-08T10:49:00 +01:00",
        ] {
            XCTAssertNil(PayloadDateTime.seconds(text), text)
        }
    }

    func testDatetimeRangeCondition() {
        let payload: Payload = ["at": "2024-05-01T12:00:00Z", "many": .array(["1999-01-01", "2030-01-01T00:00:00+02:00"]), "n": 5]
        func holds(_ key: String, _ r: NumericRange) -> Bool {
            Filter(must: [.datetimeRange(key: key, r)]).matches(id: 1, payload: payload)
        }
        let may = PayloadDateTime.seconds("2024-05-01")!
        XCTAssertTrue(holds("at", NumericRange(gt: may)))
        XCTAssertFalse(holds("at", NumericRange(lt: may)))
        XCTAssertTrue(holds("at", NumericRange(gte: may + 43_200, lte: may + 43_200)), "bounds are inclusive with gte/lte")
        XCTAssertTrue(holds("many", NumericRange(gt: PayloadDateTime.seconds("2029-12-31T21:00:00Z")!)), "any array element")
        XCTAssertFalse(holds("n", NumericRange(gt: 0)), "a number is not a datetime")
        XCTAssertFalse(holds("missing", NumericRange(gt: 0)))
    }
}
