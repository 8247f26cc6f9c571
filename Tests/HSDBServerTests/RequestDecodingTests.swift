import HSDB
import HSDBCore
@testable import HSDBServer
import XCTest

/// The request decoders on their own (the HTTP round trips are in Tests/python).
final class RequestDecodingTests: XCTestCase {
    func fields(_ json: String) throws -> JSONFields { try JSONFields(try JSONParser.parse(json), path: "") }

    func testPointIDsInEveryAcceptedForm() throws {
        let hyphenated = "550e8400-e29b-41d4-a716-446655440000"
        for form in [hyphenated, "550E8400E29B41D4A716446655440000", "{\(hyphenated)}", "urn:uuid:\(hyphenated)"] {
            XCTAssertEqual(try PointDecoding.id(.string(form), path: "id").description, hyphenated)
        }
        XCTAssertEqual(try PointDecoding.id(.int(42), path: "id"), .integer(42))
        for bad: JSONValue in [.int(-1), .double(1.5), .string("42"), .string("550e8400-e29b-41d4-a716-44665544000g"), .bool(true), .null] {
            XCTAssertThrowsError(try PointDecoding.id(bad, path: "id"), "\(bad)")
        }
    }

    func testFilterGrammarMapsToEngineConditions() throws {
        let f = try FilterDecoding.filter(try JSONParser.parse("""
            {"must": {"key": "a", "match": {"value": "x"}},
             "should": [{"key": "n", "range": {"gte": 1, "lt": 2.5}}, {"has_id": [1, "550e8400e29b41d4a716446655440000"]}],
             "must_not": [{"is_empty": {"key": "e"}}, {"key": "z", "is_null": true}, {"must": [{"key": "t", "match": {"text": "w"}}]}],
             "min_should": {"conditions": [{"nested": {"key": "arr", "filter": {"must": [{"key": "v", "values_count": {"gt": 0}}]}}}], "min_count": 1}}
            """), path: "filter")
        XCTAssertEqual(f.must, [.match(key: "a", value: "x")])
        XCTAssertEqual(f.should.count, 2)
        XCTAssertEqual(f.should[0], .range(key: "n", NumericRange(gte: 1, lt: 2.5)))
        XCTAssertEqual(f.mustNot[0], .isEmpty(key: "e"))
        XCTAssertEqual(f.mustNot[1], .isNull(key: "z"))
        XCTAssertEqual(f.mustNot[2], .filter(Filter(must: [.matchText(key: "t", text: "w")])))
        XCTAssertEqual(f.minShould?.minCount, 1)
    }

    func testFiltersNestedTooDeeplyAreRefused() throws {
        var json = #"{"key": "a", "match": {"value": 1}}"#
        for _ in 0..<20 { json = #"{"must": [\#(json)]}"# }
        XCTAssertThrowsError(try FilterDecoding.filter(try JSONParser.parse(json), path: "filter")) { error in
            XCTAssertTrue("\(error)".contains("nest deeper"), "\(error)")
        }
    }

    func testPayloadSelectorsIncludeAndExcludeDottedPaths() throws {
        let payload: Payload = ["a": 1, "m": ["x": 1, "y": 2], "b": "s"]
        XCTAssertEqual(try PayloadSelector(.array(["a", "m.y"]), path: "p", default: false).apply(payload), ["a": 1, "m": ["y": 2]])
        XCTAssertEqual(try PayloadSelector(.object(["exclude": ["m.x", "b"]]), path: "p", default: false).apply(payload), ["a": 1, "m": ["y": 2]])
        XCTAssertEqual(try PayloadSelector(nil, path: "p", default: true), .all)
        XCTAssertEqual(try PayloadSelector(.bool(false), path: "p", default: true), .none)
    }

    func testUpsertBatchAndListAgree() throws {
        let list = try PointDecoding.upsert(try fields(#"{"points": [{"id": 1, "vector": [1, 2], "payload": {"k": "v"}}, {"id": 2, "vector": {"": [3, 4]}}]}"#), naming: .unnamed, limit: 10)
        let batch = try PointDecoding.upsert(try fields(#"{"batch": {"ids": [1, 2], "vectors": [[1, 2], [3, 4]], "payloads": [{"k": "v"}, null]}}"#), naming: .unnamed, limit: 10)
        XCTAssertEqual(list, batch)
        XCTAssertThrowsError(try PointDecoding.upsert(try fields(#"{"points": [{"id": 1, "vector": [1, 2]}, {"id": 2, "vector": [1, 2]}]}"#), naming: .unnamed, limit: 1))
    }

    func testOneNamedVectorIsReadUnderItsNameOnly() throws {
        let named = VectorNaming(name: "fast-bge")
        let list = try PointDecoding.upsert(try fields(#"{"points": [{"id": 1, "vector": {"fast-bge": [1, 2]}}]}"#), naming: named, limit: 10)
        let batch = try PointDecoding.upsert(try fields(#"{"batch": {"ids": [1], "vectors": {"fast-bge": [[1, 2]]}}}"#), naming: named, limit: 10)
        XCTAssertEqual(list, [Point(id: .integer(1), vector: [1, 2])])
        XCTAssertEqual(list, batch)
        func refusal(_ json: String) -> String? {
            do { _ = try PointDecoding.upsert(try fields(json), naming: named, limit: 10); return nil } catch let e as APIError {
                return e.message
            } catch { return "\(error)" }
        }
        XCTAssertEqual(refusal(#"{"points": [{"id": 1, "vector": [1, 2]}]}"#), "Wrong input: Not existing vector name error: ")
        XCTAssertEqual(refusal(#"{"points": [{"id": 1, "vector": {"other": [1, 2]}}]}"#), "Wrong input: Not existing vector name error: other")
        XCTAssertEqual(refusal(#"{"batch": {"ids": [1], "vectors": [[1, 2]]}}"#), "Wrong input: Not existing vector name error: ")
        XCTAssertNil(refusal(#"{"points": [{"id": 1, "vector": {}}]}"#), "a point may carry no vector")
        XCTAssertNil(try PointDecoding.upsert(try fields(#"{"points": [{"id": 1, "vector": {}}]}"#), naming: named, limit: 10)[0].vector)
        // The query names the vector with `using`; the legacy search with a NamedVector.
        let query = try QueryRequest.query(try fields(#"{"query": {"nearest": [1, 0]}, "using": "fast-bge"}"#), naming: named, maxResults: 10, available: { 5 })
        guard case .vector(let v) = query.target else { return XCTFail() }
        XCTAssertEqual(v, [1, 0])
        XCTAssertThrowsError(try QueryRequest.query(try fields(#"{"query": [1, 0]}"#), naming: named, maxResults: 10, available: { 5 }))
        XCTAssertThrowsError(try QueryRequest.query(try fields(#"{"query": [1, 0], "using": "x"}"#), naming: named, maxResults: 10, available: { 5 }))
        let search = try QueryRequest.search(
            try fields(#"{"vector": {"name": "fast-bge", "vector": [0, 1]}, "with_vector": ["fast-bge"]}"#), naming: named, maxResults: 10, available: { 5 })
        guard case .vector(let s) = search.target else { return XCTFail() }
        XCTAssertEqual(s, [0, 1])
        XCTAssertEqual(search.withVector, VectorNaming.Selection(dense: true))
        XCTAssertThrowsError(try QueryRequest.search(try fields(#"{"vector": [0, 1]}"#), naming: named, maxResults: 10, available: { 5 }))
        XCTAssertThrowsError(try named.selection(.array([.string("other")]), path: "with_vector"))  // as Qdrant: 400
        var w = JSONTextWriter()
        w.beginObject(); named.write(dense: [0.5], sparse: nil, named.everything, to: &w); w.endObject()
        XCTAssertEqual(String(decoding: w.bytes, as: UTF8.self), #"{"vector":{"fast-bge":[0.5]}}"#)
    }

    func testSparseVectorsAndHybridQueriesDecode() throws {
        let naming = VectorNaming(name: "", sparseNames: ["text"])
        let points = try PointDecoding.upsert(try fields(
            #"{"points": [{"id": 1, "vector": {"": [1, 0], "text": {"indices": [9, 2], "values": [0.5, 1]}}}]}"#), naming: naming, limit: 10)
        XCTAssertEqual(points, [Point(id: 1, vector: [1, 0], sparse: ["text": SparseVector(indices: [2, 9], values: [1, 0.5])])])
        let batch = try PointDecoding.upsert(try fields(
            #"{"batch": {"ids": [1], "vectors": {"": [[1, 0]], "text": [{"indices": [9, 2], "values": [0.5, 1]}]}}}"#), naming: naming, limit: 10)
        XCTAssertEqual(batch, points)
        func refusal(_ json: String) -> String? {
            do { _ = try PointDecoding.upsert(try fields(json), naming: naming, limit: 10); return nil } catch let e as APIError {
                return e.message
            } catch { return "\(error)" }
        }
        XCTAssertEqual(refusal(#"{"points": [{"id": 1, "vector": {"": [1, 0], "text": {"indices": [1, 1], "values": [1, 2]}}}]}"#),
                       "Validation error in JSON body: [points[0].vector.?.indices: Validation error: must be unique [{}]]")
        XCTAssertEqual(refusal(#"{"points": [{"id": 1, "vector": {"": [1, 0], "text": {"indices": [1], "values": [1, 2]}}}]}"#),
                       "Validation error in JSON body: [points[0].vector.?.values: Validation error: must be the same length as indices [{}]]")
        XCTAssertNil(refusal(#"{"points": [{"id": 1, "vector": {"text": {"indices": [1], "values": [1]}}}]}"#), "the dense vector is optional")
        let q = try QueryRequest.query(try fields(#"""
            {"prefetch": [{"query": [1, 0], "limit": 20}, {"query": {"indices": [2], "values": [1]}, "using": "text",
             "prefetch": {"query": [0, 1]}}], "query": {"fusion": "rrf"}, "limit": 5, "with_vector": ["text"]}
            """#), naming: naming, maxResults: 100, available: { 50 })
        guard case .fusion(.rrf(k: 2, weights: nil)) = q.target else { return XCTFail("\(q.target)") }  // Qdrant's default k
        let weighted = try QueryRequest.query(
            try fields(#"{"prefetch": [{"query": [1, 0]}, {"query": [0, 1]}], "query": {"rrf": {"k": 5, "weights": [3, 1.5]}}}"#),
            naming: naming, maxResults: 100, available: { 50 })
        guard case .fusion(.rrf(k: 5, weights: [3, 1.5]?)) = weighted.target else { return XCTFail("\(weighted.target)") }
        XCTAssertEqual(q.prefetch.count, 2)
        XCTAssertEqual(q.prefetch[0].limit, 20)
        XCTAssertEqual(q.prefetch[1].using, .sparse("text"))
        guard case .sparse(let v) = q.prefetch[1].target else { return XCTFail() }
        XCTAssertEqual(v, SparseVector(indices: [2], values: [1]))
        XCTAssertEqual(q.prefetch[1].prefetch.count, 1)
        XCTAssertEqual(q.withVector, VectorNaming.Selection(dense: false, sparse: ["text"]))
        let dbsf = try QueryRequest.query(try fields(#"{"prefetch": {"query": [1, 0]}, "query": {"fusion": "dbsf"}}"#), naming: naming, maxResults: 100, available: { 50 })
        XCTAssertEqual({ if case .fusion(.dbsf) = dbsf.target { true } else { false } }(), true)
        for bad in [
            #"{"query": {"fusion": "rrf"}}"#,  // nothing to fuse
            #"{"query": [1, 0], "using": "text"}"#,  // dense query for a sparse vector
            #"{"query": {"indices": [1], "values": [1]}}"#,  // sparse query for the dense vector
            #"{"prefetch": {"query": [1, 0]}}"#,  // prefetch without a query over it
            #"{"prefetch": {"prefetch": {"query": [1, 0]}}, "query": [1, 0]}"#,  // a prefetch's prefetch with nothing over it
        ] {
            XCTAssertThrowsError(try QueryRequest.query(try fields(bad), naming: naming, maxResults: 100, available: { 50 }), bad)
        }
        // A prefetch with neither query nor prefetches: the first points by id, for the query above.
        let firstPoints = try QueryRequest.query(
            try fields(#"{"prefetch": {"limit": 3}, "query": {"fusion": "rrf"}}"#), naming: naming, maxResults: 100, available: { 50 })
        XCTAssertEqual(firstPoints.prefetch.count, 1)
        XCTAssertEqual({ if case .none = firstPoints.prefetch[0].target { true } else { false } }(), true)
        var w = JSONTextWriter()
        w.beginObject()
        naming.write(dense: [0.5], sparse: ["text": SparseVector(indices: [2], values: [1])], naming.everything, to: &w)
        w.endObject()
        XCTAssertEqual(String(decoding: w.bytes, as: UTF8.self), #"{"vector":{"":[0.5],"text":{"indices":[2],"values":[1.0]}}}"#)
    }

    func testQueryForms() throws {
        let byVector = try QueryRequest.query(try fields(#"{"query": {"nearest": [1, 0], "mmr": {"diversity": 0.3}}, "limit": 3, "params": {"hnsw_ef": 99, "quantization": {"oversampling": 2.5}}}"#), naming: .unnamed, maxResults: 100, available: { 1_000 })
        guard case .vector(let v) = byVector.target else { return XCTFail() }
        XCTAssertEqual(v, [1, 0])
        XCTAssertEqual(byVector.mmr?.diversity, 0.3)
        XCTAssertEqual(byVector.parameters, SearchParameters(ef: 99, binaryOversampling: 3))
        guard case .point(let id) = try QueryRequest.query(try fields(#"{"query": "550e8400e29b41d4a716446655440000"}"#), naming: .unnamed, maxResults: 100, available: { 1_000 }).target else { return XCTFail() }
        XCTAssertEqual(id.description, "550e8400-e29b-41d4-a716-446655440000")
        XCTAssertThrowsError(try QueryRequest.query(try fields(#"{"query": [1], "limit": 90, "offset": 20}"#), naming: .unnamed, maxResults: 100, available: { 1_000 }))
        XCTAssertThrowsError(try QueryRequest.query(try fields(#"{"query": {"fusion": "rrf"}}"#), naming: .unnamed, maxResults: 100, available: { 1_000 }))
    }

    func testPathNamesArePercentDecodedAndChecked() throws {
        XCTAssertEqual(try API.pathName("my%20docs", kind: "collection"), "my docs")
        for bad in ["a%2Fb", "%2e%2E", "a%00", "%zz", "a%C3", "x%5Cy", ""] {
            XCTAssertThrowsError(try API.pathName(bad, kind: "collection"), bad)
        }
    }
}
