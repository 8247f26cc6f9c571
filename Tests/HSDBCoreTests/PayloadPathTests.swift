import HSDBCore
import XCTest

/// Key paths as Qdrant reads them: dots through objects, `[]` and `[N]` into arrays.
final class PayloadPathTests: XCTestCase {
    let payload: Payload = [
        "country": .object([
            "name": "Germany",
            "cities": .array([
                .object(["name": "Berlin", "population": 3.7, "sightseeing": .array(["Brandenburg Gate", "Reichstag"])]),
                .object(["name": "Munich", "population": 1.5, "sightseeing": .array(["Marienplatz", "Olympiapark"])]),
            ]),
        ]),
        "tags": .array(["a", "b"]),
    ]

    func values(_ path: String) -> [JSONValue] { PayloadPath(path).values(in: payload) }

    func testStepsParse() {
        XCTAssertEqual(PayloadPath("a.b").steps, [.key("a"), .key("b")])
        XCTAssertEqual(PayloadPath("a[].b[2]").steps, [.key("a"), .everyElement, .key("b"), .element(2)])
        XCTAssertEqual(PayloadPath("a[x]").steps, [.key("a[x]")], "brackets that do not parse are part of the key")
        XCTAssertEqual(PayloadPath("a[-1]").steps, [.key("a[-1]")])
    }

    func testLookups() {
        XCTAssertEqual(values("country.name"), ["Germany"])
        XCTAssertEqual(values("country.cities.population"), [], "a plain dot does not enter an array")
        XCTAssertEqual(values("country.cities[].population"), [.double(3.7), .double(1.5)])
        XCTAssertEqual(values("country.cities[0].name"), ["Berlin"])
        XCTAssertEqual(values("country.cities[].sightseeing[1]"), ["Reichstag", "Olympiapark"])
        XCTAssertEqual(values("country.cities[5].name"), [])
        XCTAssertEqual(values("tags[1]"), ["b"])
        XCTAssertEqual(values("tags"), [.array(["a", "b"])], "a final array is one value as stored")
    }

    func testSelectionKeepsTheShape() {
        let names = PayloadPath("country.cities[].name").selected(from: payload)
        XCTAssertEqual(names, ["country": .object(["cities": .array([.object(["name": "Berlin"]), .object(["name": "Munich"])])])])
        let first = PayloadPath("country.cities[0].sightseeing").selected(from: payload)
        XCTAssertEqual(first, ["country": .object(["cities": .array([.object(["sightseeing": .array(["Brandenburg Gate", "Reichstag"])])])])])
        XCTAssertNil(PayloadPath("country.cities.name").selected(from: payload))
        // Two selections from one array merge element by element.
        let both = JSONValue.object(PayloadPath("country.cities[].name").selected(from: payload)!)
            .merged(with: .object(PayloadPath("country.cities[].population").selected(from: payload)!))
        XCTAssertEqual(both, .object(["country": .object(["cities": .array([
            .object(["name": "Berlin", "population": 3.7]), .object(["name": "Munich", "population": 1.5]),
        ])])]))
    }

    func testRemoval() {
        var p = payload
        PayloadPath("country.cities[].sightseeing").remove(from: &p)
        XCTAssertEqual(PayloadPath("country.cities[].sightseeing").values(in: p), [])
        XCTAssertEqual(PayloadPath("country.cities[].name").values(in: p), ["Berlin", "Munich"])
        PayloadPath("tags[0]").remove(from: &p)
        XCTAssertEqual(p["tags"], .array(["b"]))
        PayloadPath("country.cities.name").remove(from: &p)
        XCTAssertEqual(PayloadPath("country.cities[].name").values(in: p), ["Berlin", "Munich"], "a plain dot removes nothing inside an array")
        PayloadPath("nothing.here").remove(from: &p)
        PayloadPath("country").remove(from: &p)
        XCTAssertEqual(p, ["tags": .array(["b"])])
    }
}
