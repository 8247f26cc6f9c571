@testable import HSDBServer
import XCTest

/// The REST response record behind `/telemetry`'s `requests` and `/metrics`' `rest_responses_*`:
/// responses are kept per collection and added up per route when read, so the two views
/// must agree, and the text exposition must say the same numbers.
final class RouteStatisticsTests: XCTestCase {
    let upsert = "PUT /collections/{collection_name}/points"

    func testMergedFiguresAreTheSumOfTheParts() {
        let routes = RouteStatistics()
        routes.record(method: "PUT", route: "/collections/{collection}/points", status: 200, collection: "a", nanoseconds: 3_000, respondedAt: 10)
        routes.record(method: "PUT", route: "/collections/{collection}/points", status: 200, collection: "b", nanoseconds: 1_000, respondedAt: 30)
        routes.record(method: "PUT", route: "/collections/{collection}/points", status: 200, collection: "a", nanoseconds: 8_000, respondedAt: 20)
        routes.record(method: "PUT", route: "/collections/{collection}/points", status: 400, collection: "a", nanoseconds: 500, respondedAt: 40)

        let ok = routes.byEndpoint()[upsert]![200]!
        XCTAssertEqual(ok.count, 3)
        XCTAssertEqual(ok.totalMicros, 12)
        XCTAssertEqual(ok.minMicros, 1)
        XCTAssertEqual(ok.maxMicros, 8)
        XCTAssertEqual(ok.averageMicros, 4)
        XCTAssertEqual(ok.lastResponded, 30)
        XCTAssertEqual(routes.byEndpoint()[upsert]![400]!.count, 1)

        let a = routes.byCollection()["a"]![upsert]![200]!
        XCTAssertEqual(a.count, 2)
        XCTAssertEqual(a.minMicros, 3)
        XCTAssertEqual(a.lastResponded, 20)
        XCTAssertEqual(routes.byCollection()["b"]![upsert]![200]!.count, 1)
    }

    func testRoutesWithoutACollectionAreOnlyGlobal() {
        let routes = RouteStatistics()
        routes.record(method: "GET", route: "/telemetry", status: 200, collection: nil, nanoseconds: 1, respondedAt: 1)
        XCTAssertEqual(routes.byEndpoint()["GET /telemetry"]?[200]?.count, 1)
        XCTAssertTrue(routes.byCollection().isEmpty)
    }

    func testQdrantParameterNames() {
        XCTAssertEqual(RouteStatistics.qdrantPattern("/collections/{collection}/index/{field}"), "/collections/{collection_name}/index/{field_name}")
        XCTAssertEqual(RouteStatistics.qdrantPattern("/collections/{collection}/snapshots/{snapshot}"), "/collections/{collection_name}/snapshots/{snapshot_name}")
        XCTAssertEqual(RouteStatistics.qdrantPattern("/collections/{collection}/points/{id}"), "/collections/{collection_name}/points/{id}")
    }

    /// Names past the cap come from requests to collections that may not exist: their
    /// responses still count for the route, without a collection of their own.
    func testCollectionNamesAreCapped() {
        let routes = RouteStatistics()
        for i in 0...RouteStatistics.maxCollections {
            routes.record(method: "GET", route: "/collections/{collection}", status: 404, collection: "c\(i)", nanoseconds: 1, respondedAt: 1)
        }
        XCTAssertEqual(routes.byCollection().count, RouteStatistics.maxCollections)
        XCTAssertEqual(routes.byEndpoint()["GET /collections/{collection_name}"]?[404]?.count, RouteStatistics.maxCollections + 1)
    }

    func testHistogramBucketsAreCumulative() {
        var s = ResponseStatistics()
        s.add(nanoseconds: 50_000, respondedAt: 1)  // 50 µs: the first bucket (100 µs)
        s.add(nanoseconds: 2_000_000, respondedAt: 1)  // 2 ms: the 2.5 ms bucket
        s.add(nanoseconds: 60_000_000_000, respondedAt: 1)  // a minute: only +Inf
        let c = s.cumulativeBuckets
        XCTAssertEqual(c.first, 1)
        XCTAssertEqual(c[ResponseStatistics.bucketBoundsSeconds.firstIndex(of: 0.0025)!], 2)
        XCTAssertEqual(c.last, 2)
        XCTAssertEqual(s.count, 3)
    }

    func testExpositionLabelsPerCollectionOnlyWhenAsked() {
        let routes = RouteStatistics()
        routes.record(method: "PUT", route: "/collections/{collection}/points", status: 200, collection: "a", nanoseconds: 2_000, respondedAt: 1)
        routes.record(method: "PUT", route: "/collections/{collection}/points", status: 200, collection: "b", nanoseconds: 2_000, respondedAt: 1)
        var global = PrometheusText()
        global.restResponses(routes, perCollection: false)
        XCTAssertTrue(global.text.contains("rest_responses_total{method=\"PUT\",endpoint=\"/collections/{collection_name}/points\",status=\"200\"} 2\n"))
        XCTAssertFalse(global.text.contains("collection="))
        var per = PrometheusText()
        per.restResponses(routes, perCollection: true)
        XCTAssertTrue(per.text.contains("rest_responses_total{method=\"PUT\",endpoint=\"/collections/{collection_name}/points\",status=\"200\",collection=\"a\"} 1\n"))
        XCTAssertTrue(per.text.contains("rest_responses_duration_seconds_count{method=\"PUT\",endpoint=\"/collections/{collection_name}/points\",status=\"200\",collection=\"b\"} 1\n"))
    }

    func testProcessMemoryFromProcStatus() {
        let m = ProcessMemory.parse("Name:\thsdb\nVmSize:\t  2048 kB\nVmRSS:\t   512 kB\nVmData:\t 1024 kB\n")
        XCTAssertEqual(m, ProcessMemory(residentBytes: 512 * 1024, virtualBytes: 2048 * 1024, dataBytes: 1024 * 1024))
    }
}
