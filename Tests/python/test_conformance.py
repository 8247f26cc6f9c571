"""Issue 11, point by point: requests answered as Qdrant 1.19 answers them (status,
envelope, result), each checked against a running `hsdb serve`."""
import json

import httpx
import pytest

DIM = 4


@pytest.fixture()
def c(http):
    http.delete("/collections/conf")
    assert http.put("/collections/conf", json={"vectors": {"size": DIM, "distance": "Dot"}}).status_code == 200
    points = [{"id": i, "vector": [1, i, 0, 0], "payload": {"i": i}} for i in range(1, 6)]
    assert http.put("/collections/conf/points?wait=true", json={"points": points}).status_code == 200
    yield "conf"
    http.delete("/collections/conf")


@pytest.mark.parametrize("route", ["scroll", "retrieve"])
def test_with_vectors_is_an_alias_of_with_vector(http, c, route):
    """Item 7: scroll and retrieve take `with_vectors` as Qdrant's serde alias."""
    body = {"with_vectors": True, "limit": 10} if route == "scroll" else {"ids": [1, 2], "with_vectors": True}
    path = "/collections/conf/points/scroll" if route == "scroll" else "/collections/conf/points"
    r = http.post(path, json=body)
    assert r.status_code == 200, r.text
    result = r.json()["result"]
    points = result["points"] if route == "scroll" else result
    assert points and all(p["vector"] is not None and len(p["vector"]) == DIM for p in points)
    body["with_vectors"] = False
    r = http.post(path, json=body)
    points = r.json()["result"]["points"] if route == "scroll" else r.json()["result"]
    assert all(p.get("vector") is None for p in points)


@pytest.mark.parametrize("limit", [10_001, 2**63 - 1, 2**64 - 1])
def test_a_limit_beyond_the_collection_returns_every_point(http, c, limit):
    """Item 8: a limit larger than the collection, even 2^64-1, is 200 with all points, and
    nothing is allocated by the number asked."""
    r = http.post("/collections/conf/points/scroll", json={"limit": limit})
    assert r.status_code == 200, r.text
    assert [p["id"] for p in r.json()["result"]["points"]] == [1, 2, 3, 4, 5]
    assert r.json()["result"]["next_page_offset"] is None
    r = http.post("/collections/conf/points/query", json={"query": [1, 0, 0, 0], "limit": limit})
    assert r.status_code == 200, r.text
    assert len(r.json()["result"]["points"]) == 5
    r = http.post("/collections/conf/points/search", json={"vector": [1, 0, 0, 0], "limit": limit, "offset": 3})
    assert r.status_code == 200, r.text
    assert len(r.json()["result"]) == 2


def test_score_threshold_without_a_query_is_refused_as_qdrant_does(server, c):
    """Item 8: `score_threshold` without `query` is 400 with Qdrant's text (its own openapi
    test checks the same), through the real client; with a query it filters as usual."""
    from qdrant_client import QdrantClient
    from qdrant_client.http.exceptions import UnexpectedResponse
    client = QdrantClient(url=server.url)
    with pytest.raises(UnexpectedResponse) as refused:
        client.query_points("conf", score_threshold=10)
    assert refused.value.status_code == 400
    assert json.loads(refused.value.content)["status"]["error"] == (
        "Bad request: A query is needed to use the score_threshold. Can't have score_threshold without defining a query.")
    hits = client.query_points("conf", query=[1, 0, 0, 0], score_threshold=0.99).points
    assert hits and all(h.score >= 0.99 for h in hits)
    client.close()


def test_negative_or_fractional_limits_are_refused(http, c):
    for bad in [-1, 1.5, "10"]:
        r = http.post("/collections/conf/points/scroll", json={"limit": bad})
        assert r.status_code == 400, (bad, r.text)
        assert "limit" in r.json()["status"]["error"]


def test_snapshot_delete_without_waiting_answers_202(http, c):
    """Item 9: DELETE of a snapshot with wait=false answers 202, as Qdrant does."""
    name = http.post("/collections/conf/snapshots").json()["result"]["name"]
    r = http.delete(f"/collections/conf/snapshots/{name}", params={"wait": "false"})
    assert r.status_code == 202, r.text
    assert r.json()["status"] == "accepted" and "time" in r.json()
    assert http.get("/collections/conf/snapshots").json()["result"] == []
    r = http.delete(f"/collections/conf/snapshots/{name}", params={"wait": "false"})
    assert r.status_code == 404


def test_collection_info_has_qdrant_defaults(http, c):
    """Item 6: ef_construct 100 unless set, quantization_config null when none, update_queue."""
    info = http.get("/collections/conf").json()["result"]
    assert info["config"]["hnsw_config"]["ef_construct"] == 100
    assert "quantization_config" in info["config"] and info["config"]["quantization_config"] is None
    assert info["update_queue"] == {"length": 0}
    http.delete("/collections/conf2")
    assert http.put("/collections/conf2", json={"vectors": {"size": DIM, "distance": "Dot"}, "hnsw_config": {"ef_construct": 64},
                                                "quantization_config": {"binary": {"always_ram": True}}}).status_code == 200
    info = http.get("/collections/conf2").json()["result"]
    assert info["config"]["hnsw_config"]["ef_construct"] == 64
    assert info["config"]["quantization_config"] == {"binary": {"always_ram": True}}
    http.delete("/collections/conf2")


def test_root_reports_a_commit(http):
    """Item 6: `GET /` carries `commit` beside title and version, without an envelope."""
    body = http.get("/").json()
    assert set(body) == {"title", "version", "commit"} and isinstance(body["commit"], str) and body["commit"]


def qdrant(server):
    from qdrant_client import QdrantClient
    return QdrantClient(url=server.url, timeout=30)


def test_batch_update_points_with_the_real_client(server, http, c):
    """Item 5: `batch_update_points` runs each operation in order and answers one
    UpdateResult per operation."""
    from qdrant_client import models
    client = qdrant(server)
    results = client.batch_update_points("conf", [
        models.UpsertOperation(upsert=models.PointsList(points=[models.PointStruct(id=10, vector=[0, 0, 1, 0], payload={"k": "a"})])),
        models.SetPayloadOperation(set_payload=models.SetPayload(payload={"extra": 1}, points=[10, 1])),
        models.OverwritePayloadOperation(overwrite_payload=models.SetPayload(payload={"only": True}, points=[2])),
        models.DeletePayloadOperation(delete_payload=models.DeletePayload(keys=["i"], points=[3])),
        models.ClearPayloadOperation(clear_payload=models.PointIdsList(points=[4])),
        models.UpdateVectorsOperation(update_vectors=models.UpdateVectors(points=[models.PointVectors(id=5, vector=[0, 0, 0, 1])])),
        models.DeleteOperation(delete=models.PointIdsList(points=[1])),
    ], wait=True)
    assert len(results) == 7 and all(r.status == models.UpdateStatus.COMPLETED for r in results)
    assert [r.operation_id for r in results] == sorted(r.operation_id for r in results)
    got = {p.id: p for p in client.retrieve("conf", [1, 2, 3, 4, 5, 10], with_vectors=True)}
    assert set(got) == {2, 3, 4, 5, 10}
    assert got[10].payload == {"k": "a", "extra": 1}
    assert got[2].payload == {"only": True}
    assert got[3].payload == {} and got[4].payload == {}
    assert got[5].vector == [0, 0, 0, 1] and got[5].payload == {"i": 5}


def test_a_malformed_batch_operation_changes_nothing(http, c):
    before = http.post("/collections/conf/points/scroll", json={"limit": 100, "with_vector": True}).json()["result"]
    r = http.post("/collections/conf/points/batch", json={"operations": [
        {"upsert": {"points": [{"id": 20, "vector": [1, 1, 1, 1]}]}},
        {"set_payload": {"points": [1]}},  # no payload
    ]})
    assert r.status_code == 400 and "operations[1].set_payload.payload" in r.json()["status"]["error"], r.text
    r = http.post("/collections/conf/points/batch", json={"operations": [{"frobnicate": {}}]})
    assert r.status_code == 400 and "unknown operation `frobnicate`" in r.json()["status"]["error"], r.text
    after = http.post("/collections/conf/points/scroll", json={"limit": 100, "with_vector": True}).json()["result"]
    assert after == before


def test_update_vectors_with_the_real_client(server, c):
    """Item 5: `update_vectors` replaces vectors and keeps payloads; an unknown id is 404
    and nothing changes."""
    from qdrant_client import models
    from qdrant_client.http.exceptions import UnexpectedResponse
    client = qdrant(server)
    client.update_vectors("conf", [models.PointVectors(id=1, vector=[0, 1, 0, 0]), models.PointVectors(id=2, vector=[0, 0, 2, 0])])
    got = {p.id: p for p in client.retrieve("conf", [1, 2], with_vectors=True)}
    assert got[1].vector == [0, 1, 0, 0] and got[1].payload == {"i": 1}
    assert got[2].vector == [0, 0, 2, 0] and got[2].payload == {"i": 2}
    with pytest.raises(UnexpectedResponse) as e:
        client.update_vectors("conf", [models.PointVectors(id=3, vector=[9, 9, 9, 9]), models.PointVectors(id=99, vector=[1, 1, 1, 1])])
    assert e.value.status_code == 404 and "No point with id 99 found" in str(e.value)
    assert client.retrieve("conf", [3], with_vectors=True)[0].vector == [1, 3, 0, 0]


def test_delete_vectors_takes_the_dense_vector_away(server, c):
    from qdrant_client import models
    client = qdrant(server)
    client.delete_vectors("conf", vectors=[""], points=models.PointIdsList(points=[1]))
    got = client.retrieve("conf", [1], with_vectors=True)[0]
    assert got.vector == {} and got.payload is not None
    assert 1 not in [h.id for h in client.query_points("conf", query=[0.0, 1.0, 0.0, 0.0], limit=100).points]


def test_metrics_carry_qdrant_families(server, http, c):
    """Item 10: Qdrant's metric families beside hsdb's own, as dashboards built for Qdrant
    read them."""
    http.post("/collections/conf/points/scroll", json={"limit": 2})
    http.get("/collections/missing")
    text = http.get("/metrics").text
    lines = text.splitlines()

    def sample(prefix):
        found = [float(l.rsplit(" ", 1)[1]) for l in lines if l.startswith(prefix)]
        assert found, f"no metric line starts with {prefix}"
        return found[0]

    assert sample('app_info{name="hsdb",version="') == 1
    names = [n["name"] for n in http.get("/collections").json()["result"]["collections"]]
    assert sample("collections_total ") == len(names)
    assert sample('collection_points{id="conf"}') == 5
    assert sample("collections_vector_total ") >= 5
    scroll = 'rest_responses_total{method="POST",endpoint="/collections/{collection_name}/points/scroll",status="200"}'
    assert sample(scroll) >= 1
    assert sample('rest_responses_total{method="GET",endpoint="/collections/{collection_name}",status="404"}') >= 1
    assert sample('rest_responses_duration_seconds_count{method="POST",endpoint="/collections/{collection_name}/points/scroll",status="200"}') >= 1
    assert "# TYPE rest_responses_duration_seconds histogram" in text
    missing = 'rest_responses_fail_total{method="GET",endpoint="/collections/{collection_name}",status="404"}'
    assert sample(missing) >= 1
    assert not any(l.startswith('rest_responses_fail_total{method="POST",endpoint="/collections/{collection_name}/points/scroll",status="200"}') for l in lines)
    low = sample('rest_responses_min_duration_seconds{method="POST",endpoint="/collections/{collection_name}/points/scroll",status="200"}')
    avg = sample('rest_responses_avg_duration_seconds{method="POST",endpoint="/collections/{collection_name}/points/scroll",status="200"}')
    high = sample('rest_responses_max_duration_seconds{method="POST",endpoint="/collections/{collection_name}/points/scroll",status="200"}')
    assert 0 < low <= avg <= high < 10
    http.delete("/collections/conf")
    assert 'collection_points{id="conf"}' not in http.get("/metrics").text, "a dropped collection leaves no stale line"


@pytest.mark.parametrize("size, status, text", [
    (65537, 422, "Validation error in JSON body: [vectors.size: value 65537 invalid, must be from 1 to 65536]"),
    (0, 422, "Validation error in JSON body: [vectors.size: value 0 invalid, must be from 1 to 65536]"),
    (-1, 400, "vectors.size: expected a non-negative integer"),
    ("4", 400, "vectors.size: expected a non-negative integer"),
])
def test_a_vector_size_out_of_range_is_a_422_validation_error(http, size, status, text):
    """Item 3 (vector size): Qdrant answers a value that parses but is out of range with 422
    and its validation text; a value of the wrong type stays a 400 format error."""
    r = http.put("/collections/badsize", json={"vectors": {"size": size, "distance": "Dot"}})
    assert r.status_code == status, r.text
    assert text in r.json()["status"]["error"], r.text
    assert http.get("/collections/badsize").status_code == 404


@pytest.mark.parametrize("extra, status, text", [
    ({"hnsw_config": {"ef_construct": 0}}, 422, "Validation error in JSON body: [hnsw_config.ef_construct: value 0 invalid, must be 4 or larger]"),
    ({"hnsw_config": {"ef_construct": 3}}, 422, "Validation error in JSON body: [hnsw_config.ef_construct: value 3 invalid, must be 4 or larger]"),
    ({"shard_number": 0}, 422, "Validation error in JSON body: [shard_number: value 0 invalid, must be 1 or larger]"),
    ({"replication_factor": 0}, 422, "Validation error in JSON body: [replication_factor: value 0 invalid, must be 1 or larger]"),
    ({"write_consistency_factor": 0}, 422, "Validation error in JSON body: [write_consistency_factor: value 0 invalid, must be 1 or larger]"),
    ({"shard_number": -1}, 400, "shard_number: expected a positive integer"),
    ({"replication_factor": -2}, 400, "replication_factor: expected a positive integer"),
])
def test_collection_parameters_out_of_range_are_422_validation_errors(http, extra, status, text):
    """Item 3: Qdrant's `range(min = ...)` validators on collection creation answer 422 with
    `value N invalid, must be M or larger`; a negative value does not parse as a u32 (400)."""
    r = http.put("/collections/badparams", json={"vectors": {"size": 4, "distance": "Dot"}, **extra})
    assert r.status_code == status, r.text
    assert text in r.json()["status"]["error"], r.text
    assert http.get("/collections/badparams").status_code == 404


@pytest.mark.parametrize("method, path, body, status, text", [
    ("POST", "/collections/conf/points/query", {"query": [0.1] * DIM, "filter": {"must": [{"key": "city"}]}}, 422,
     "Validation error in JSON body: [filter.must[0].condition_one_of: At least one field condition must be specified]"),
    ("POST", "/collections/conf/points/search", {"vector": [0.1] * DIM, "limit": 3, "filter": {"should": [{"key": "a"}]}}, 422,
     "At least one field condition must be specified"),
    ("POST", "/collections/conf/points/query", {"query": [0.1] * DIM, "params": {"hnsw_ef": 0}}, 422,
     "Validation error in JSON body: [params.hnsw_ef: value 0 invalid, must be 1 or larger]"),
    ("POST", "/collections/conf/points/search", {"vector": [0.1] * DIM, "limit": 3, "params": {"hnsw_ef": 0}}, 422,
     "Validation error in JSON body: [params.hnsw_ef: value 0 invalid, must be 1 or larger]"),
    ("POST", "/collections/conf/points/query?timeout=0", {"query": [0.1] * DIM}, 422,
     "Validation error in query parameters: [timeout: value 0 invalid, must be 1 or larger]"),
    ("POST", "/collections/conf/points/query?timeout=soon", {"query": [0.1] * DIM}, 400,
     "Query deserialize error: invalid digit found in string"),
    ("PUT", "/collections/" + "n" * 256, {"vectors": {"size": DIM, "distance": "Dot"}}, 422,
     'Validation error in path parameters: [name: value "' + "n" * 256 + '" invalid, must be from 1 to 255 characters]'),
])
def test_request_validation_failures_are_422_as_in_qdrant(http, c, method, path, body, status, text):
    """Item 3: a request that parses but fails Qdrant's validators is 422 with its text (body,
    path or query parameters); a query parameter that does not parse stays 400."""
    r = http.request(method, path, json=body)
    assert r.status_code == status, r.text
    assert text in r.json()["status"]["error"], r.text
    assert http.get("/collections/" + "n" * 256).status_code in (404, 422)


def test_valid_timeouts_and_long_names_within_the_limit_are_accepted(http, c):
    r = http.post("/collections/conf/points/query?timeout=5", json={"query": [0.1] * DIM, "params": {"hnsw_ef": 1}})
    assert r.status_code == 200, r.text
    name = "n" * 255
    assert http.put("/collections/" + name, json={"vectors": {"size": DIM, "distance": "Dot"}}).status_code == 200
    assert http.delete("/collections/" + name + "?timeout=3").json()["result"] is True


def test_snapshot_recovery_refusals_carry_qdrant_statuses_and_no_absolute_path(http, c, server):
    """Item 9, in Qdrant's order and texts: 400 for a relative path or one on another host,
    400 for a missing file, 403 for one outside the snapshots directory, 404 for a file that
    is not a snapshot; no message names a server path the request did not give."""
    import os
    snapshots = os.path.join(server.data_dir, "snapshots")
    os.makedirs(os.path.join(snapshots, "conf"), exist_ok=True)
    stray = os.path.join(snapshots, "conf", "notes.txt")
    open(stray, "w").write("not a snapshot")
    invalid = "Bad request: Invalid snapshot URI, file path must be absolute or on localhost"
    cases = [
        ("file:relative/conf.snapshot", 400, invalid),
        ("file://elsewhere/x.snapshot", 400, invalid),
        ("file:///no/such/x.snapshot", 400, 'Bad request: Snapshot file "/no/such/x.snapshot" does not exist'),
        ("file://" + os.path.join(snapshots, "conf", "missing.snapshot"), 400, "does not exist"),
        ("file:///etc/passwd", 403, "Forbidden: Snapshot file path must be inside the snapshots directory"),
        ("file://" + stray, 404, "is not a snapshot"),
    ]
    for location, status, text in cases:
        r = http.put("/collections/conf/snapshots/recover", json={"location": location})
        assert r.status_code == status, (location, r.text)
        error = r.json()["status"]["error"]
        assert text in error, error
        assert server.data_dir not in error and snapshots not in error, error
    assert http.post("/collections/conf/points/count", json={}).json()["result"]["count"] == 5


CITIES = {"country": {"name": "Germany", "cities": [
    {"name": "Berlin", "population": 3.7, "sightseeing": ["Brandenburg Gate", "Reichstag"]},
    {"name": "Munich", "population": 1.5, "sightseeing": ["Marienplatz", "Olympiapark"]},
]}}


@pytest.fixture()
def nested(http):
    http.delete("/collections/nested")
    assert http.put("/collections/nested", json={"vectors": {"size": DIM, "distance": "Dot"}}).status_code == 200
    assert http.put("/collections/nested/points?wait=true", json={"points": [
        {"id": 1, "vector": [1, 0, 0, 0], "payload": CITIES},
        {"id": 2, "vector": [0, 1, 0, 0], "payload": {"country": {"name": "Japan", "cities": [{"name": "Tokyo", "population": 9.3}]}}},
    ]}).status_code == 200
    yield "nested"
    http.delete("/collections/nested")


def count(http, condition):
    r = http.post("/collections/nested/points/count", json={"filter": {"must": [condition]}, "exact": True})
    assert r.status_code == 200, r.text
    return r.json()["result"]["count"]


def test_filter_key_paths_enter_arrays_only_with_brackets(http, nested):
    """Item 1: a plain dotted key does not enter an array of objects; `[]` does, `[N]`
    selects one element."""
    assert count(http, {"key": "country.cities.population", "range": {"gte": 1}}) == 0
    assert count(http, {"key": "country.cities[].population", "range": {"gte": 9}}) == 1
    assert count(http, {"key": "country.cities[].population", "range": {"gte": 1}}) == 2
    assert count(http, {"key": "country.cities[0].name", "match": {"value": "Berlin"}}) == 1
    assert count(http, {"key": "country.cities[1].name", "match": {"value": "Berlin"}}) == 0
    assert count(http, {"key": "country.cities[].sightseeing[1]", "match": {"value": "Olympiapark"}}) == 1
    assert count(http, {"key": "country.cities[].sightseeing[0]", "match": {"value": "Olympiapark"}}) == 0


def test_payload_selectors_reach_through_arrays(server, nested):
    """Item 2: `include` of `country.cities[].name` keeps the shape of the payload."""
    from qdrant_client import models
    client = qdrant(server)
    got = client.retrieve("nested", [1], with_payload=models.PayloadSelectorInclude(include=["country.cities[].name"]))
    assert got[0].payload == {"country": {"cities": [{"name": "Berlin"}, {"name": "Munich"}]}}
    got = client.retrieve("nested", [1], with_payload=models.PayloadSelectorExclude(exclude=["country.cities[].sightseeing"]))
    assert got[0].payload == {"country": {"name": "Germany", "cities": [
        {"name": "Berlin", "population": 3.7}, {"name": "Munich", "population": 1.5}]}}
    got = client.retrieve("nested", [1], with_payload=["country.cities[0].name", "country.name"])
    assert got[0].payload == {"country": {"name": "Germany", "cities": [{"name": "Berlin"}]}}


@pytest.mark.parametrize("schema, status, text", [
    ({"type": "integer", "lookup": False, "range": False}, 422, "capabilities can't be both disabled"),
    ({"type": "keyword", "prefix": True}, 400, "unknown field `prefix` for a keyword index"),
    ({"type": "float", "lookup": True}, 400, "unknown field `lookup` for a float index"),
])
def test_index_parameters_hsdb_cannot_honour_are_refused(http, c, schema, status, text):
    """Item 4: a parameter is implemented or refused, never accepted and ignored."""
    r = http.put("/collections/conf/index", json={"field_name": "i", "field_schema": schema})
    assert r.status_code == status and text in r.json()["status"]["error"], r.text
    assert http.get("/collections/conf").json()["result"]["payload_schema"] == {}
    ok = http.put("/collections/conf/index?wait=true", json={"field_name": "i", "field_schema": {"type": "integer", "lookup": True, "range": True}})
    assert ok.status_code == 200, ok.text


def test_unknown_vector_parameters_are_refused(http):
    r = http.put("/collections/mem", json={"vectors": {"size": 4, "distance": "Dot", "colour": "red"}})
    assert r.status_code == 400 and "unknown field `colour`" in r.json()["status"]["error"], r.text
    assert http.get("/collections/mem").status_code == 404


@pytest.mark.parametrize("extra, text", [
    ({"memory": "pinned"}, "unknown field `memory`"),
    ({"optimizers_config": {"indexing_threshold": 0, "bogus": 1}}, "optimizers_config: unknown field `bogus`"),
    ({"optimizers_config": {"prevent_unoptimized": True}}, "prevent_unoptimized: true (hsdb serves new points before they are indexed) is not supported"),
    ({"optimizers_config": {"deleted_threshold": "x"}}, "optimizers_config.deleted_threshold"),
    ({"wal_config": {"wal_capacity_mb": -1}}, "wal_config.wal_capacity_mb"),
    ({"hnsw_config": {"m": 16, "ef": 5}}, "hnsw_config: unknown field `ef`"),
    ({"init_from": {"collection": "x"}}, "init_from is not supported"),
    ({"sharding_method": "custom"}, "sharding_method `custom` is not supported"),
    ({"strict_mode_config": {"enabled": True, "max_collection_payload_size_bytes": 5}},
     "strict mode `max_collection_payload_size_bytes` is not supported"),
    ({"strict_mode_config": {"enabled": True, "max_query_limit": -1}}, "strict_mode_config.max_query_limit"),
])
def test_collection_fields_hsdb_cannot_honour_are_refused(http, extra, text):
    """Item 4: every field of the create body is implemented, kept, or refused; none is
    accepted and ignored."""
    r = http.put("/collections/strict", json={"vectors": {"size": 4, "distance": "Dot"}, **extra})
    assert r.status_code == 400 and text in r.json()["status"]["error"], r.text
    assert http.get("/collections/strict").status_code == 404


def test_optimizer_and_wal_settings_are_kept_and_reported(http):
    http.delete("/collections/kept")
    r = http.put("/collections/kept", json={"vectors": {"size": 4, "distance": "Dot"},
                                            "optimizers_config": {"indexing_threshold": 0, "prevent_unoptimized": False},
                                            "wal_config": {"wal_capacity_mb": 32}, "strict_mode_config": {"enabled": False}})
    assert r.status_code == 200, r.text
    config = http.get("/collections/kept").json()["result"]["config"]
    assert config["optimizer_config"]["indexing_threshold"] == 0
    assert config["optimizer_config"]["deleted_threshold"] == 0.2, "defaults stay beside what was given"
    assert config["wal_config"] == {"wal_capacity_mb": 32, "wal_segments_ahead": 0}
    http.delete("/collections/kept")


def test_no_grpc_turns_the_listener_off(fresh_server):
    s = fresh_server("--no-grpc")
    assert httpx.get(s.url + "/").status_code == 200
    assert s.stop() == 0
    assert "gRPC" not in s.output


def test_optimizations_report_flushes_and_merges_as_the_real_client_parses_them(fresh_server):
    """Small memtables: the writes cause flushes (and merges); each shows up finished in
    `completed`, parsed by the client's OptimizationsResponse; idle segments are listed."""
    import random
    import time
    from qdrant_client import models
    s = fresh_server("--memtable-mb", "1")
    client = qdrant(s)
    client.create_collection("opt", vectors_config=models.VectorParams(size=32, distance=models.Distance.COSINE))
    rng = random.Random(12)
    for batch in range(12):
        client.upsert("opt", points=[models.PointStruct(id=batch * 200 + i, vector=[rng.random() for _ in range(32)],
                                                      payload={"pad": "z" * 400}) for i in range(200)], wait=True)
    deadline = time.monotonic() + 60
    while True:
        got = client.get_optimizations("opt", with_=["completed", "queued", "idle_segments"])
        flushes = [o for o in got.completed if o.optimizer == "flush"]
        if flushes and not got.running:
            break
        assert time.monotonic() < deadline, got
        time.sleep(0.05)
    assert all(str(o.status.value if hasattr(o.status, "value") else o.status) == "done" for o in got.completed), got.completed
    assert all(o.progress.started_at is not None and o.progress.finished_at is not None for o in got.completed)
    assert sum(seg.points_count for o in flushes for seg in o.segments) > 0
    assert got.queued == [] and got.summary.queued_optimizations == 0
    assert got.summary.idle_segments == len(got.idle_segments) == client.get_collection("opt").segments_count
    limited = client.get_optimizations("opt", completed_limit=1)
    assert len(limited.completed) == 1
    with httpx.Client(base_url=s.url, timeout=30) as http:
        r = http.get("/collections/opt/optimizations", params={"with": "everything"})
        assert r.status_code == 400 and "with" in r.json()["status"]["error"], r.text


def test_telemetry_and_issues_with_the_real_client(server, http, c):
    """`GET /telemetry` parses as the client's TelemetryData (this node's id, hsdb's build,
    the number of collections); `GET /issues` is an empty list and `DELETE /issues` clears it."""
    client = qdrant(server)
    t = client.http.service_api.telemetry(details_level=2).result
    assert t.app.name == "hsdb" and t.app.startup is not None
    assert t.collections.number_of_collections == len(http.get("/collections").json()["result"]["collections"])
    assert t.id == http.get("/replication").json()["result"]["node_id"]
    assert http.get("/issues").json()["result"] == {"issues": []}
    assert client.http.beta_api.get_issues()["result"] == {"issues": []}  # untyped in the client
    assert client.http.beta_api.clear_issues().result is True


def test_null_in_an_optional_field_is_absent_as_in_qdrant(http):
    """Qdrant reads `null` in any optional field as the field not given (its clients send
    every optional field, often null): in settings, vector parameters, queries and points."""
    http.delete("/collections/nulls")
    r = http.put("/collections/nulls", json={
        "vectors": {"size": DIM, "distance": "Dot", "hnsw_config": None, "quantization_config": None, "on_disk": None},
        "shard_number": None, "sharding_method": None, "replication_factor": None, "write_consistency_factor": None,
        "on_disk_payload": None, "hnsw_config": None, "quantization_config": None, "init_from": None, "metadata": None,
        "wal_config": {"wal_capacity_mb": None, "wal_segments_ahead": None},
        "optimizers_config": {"indexing_threshold": None, "deleted_threshold": None}, "strict_mode_config": None})
    assert r.status_code == 200, r.text
    config = http.get("/collections/nulls").json()["result"]["config"]
    assert config["wal_config"] == {"wal_capacity_mb": 64, "wal_segments_ahead": 0}, "null settings leave the defaults"
    assert config["optimizer_config"]["deleted_threshold"] == 0.2
    points = [{"id": 1, "vector": [1, 0, 0, 0], "payload": {"kept": None}}, {"id": 2, "vector": [0, 1, 0, 0], "payload": None}]
    assert http.put("/collections/nulls/points?wait=true", json={"points": points, "shard_key": None}).status_code == 200
    r = http.post("/collections/nulls/points/query", json={
        "query": [1, 0, 0, 0], "limit": None, "filter": None, "params": None, "score_threshold": None, "offset": None,
        "with_payload": None, "with_vector": None, "using": None, "prefetch": None, "lookup_from": None})
    assert r.status_code == 200, r.text
    hits = r.json()["result"]["points"]
    assert [h["id"] for h in hits] == [1, 2]
    assert hits[0].get("vector") is None, "with_vector null is the default: no vectors"
    # A payload value of null is data, not an absent field: it is kept.
    got = http.post("/collections/nulls/points", json={"ids": [1], "with_payload": True}).json()["result"]
    assert got[0]["payload"] == {"kept": None}
    http.delete("/collections/nulls")


def test_a_prefetch_without_query_takes_the_first_points(http, c):
    """A prefetch without `query` gives the first `limit` points by id; the query above
    re-scores them. Prefetches with nothing to merge them: Qdrant's 400; limit 0: its 422."""
    r = http.post("/collections/conf/points/query", json={"prefetch": {"limit": 3}, "query": [0, 1, 0, 0]})
    assert r.status_code == 200, r.text
    assert [(p["id"], p["score"]) for p in r.json()["result"]["points"]] == [(3, 3.0), (2, 2.0), (1, 1.0)]
    r = http.post("/collections/conf/points/query", json={"prefetch": {"limit": 3}})
    assert r.status_code == 400 and r.json()["status"]["error"] == \
        "Bad request: A query is needed to merge the prefetches. Can't have prefetches without defining a query."
    r = http.post("/collections/conf/points/query", json={"query": [0, 1, 0, 0], "limit": 0})
    assert r.status_code == 422 and "internal.limit: value 0 invalid" in r.json()["status"]["error"]


def test_indexing_threshold_flushes_an_idle_memtable_into_a_segment(http):
    """`optimizers_config.indexing_threshold` (KB of vectors): a memtable that idles with that
    much is flushed into a segment, so `indexed_vectors_count` rises as Qdrant's does."""
    import time
    http.delete("/collections/thresh")
    assert http.put("/collections/thresh", json={"vectors": {"size": 64, "distance": "Dot"},
                                                 "optimizers_config": {"indexing_threshold": 1}}).status_code == 200
    points = [{"id": i, "vector": [float(i % 7)] * 64} for i in range(8)]
    assert http.put("/collections/thresh/points?wait=true", json={"points": points}).status_code == 200
    deadline = time.monotonic() + 30
    while http.get("/collections/thresh").json()["result"]["indexed_vectors_count"] == 0:
        assert time.monotonic() < deadline, "the idle memtable was not flushed"
        time.sleep(0.2)
    assert http.get("/collections/thresh").json()["result"]["indexed_vectors_count"] == 8
    http.delete("/collections/thresh")
