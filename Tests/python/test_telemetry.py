"""`GET /telemetry` and `GET /metrics` as Qdrant answers them: per-route response statistics
(globally and per collection), and telemetry's sections at each details level, read through
qdrant-client's own models (which refuse a wrong shape) and raw HTTP.

Each test runs on a fresh server, so the counts it asserts are exactly the requests it made.
"""
import re
from datetime import datetime, timedelta, timezone

import httpx
import pytest
from qdrant_client import QdrantClient, models

UPSERT = "PUT /collections/{collection_name}/points"


@pytest.fixture()
def node(fresh_server):
    s = fresh_server()
    client = QdrantClient(url=s.url, timeout=30, check_compatibility=False)
    with httpx.Client(base_url=s.url, timeout=30) as http:
        yield http, client
    client.close()


def create(http, name, size=4):
    r = http.put(f"/collections/{name}", json={"vectors": {"size": size, "distance": "Dot"}})
    assert r.status_code == 200, r.text


def upsert(http, name, point_id):
    r = http.put(f"/collections/{name}/points?wait=true",
                 json={"points": [{"id": point_id, "vector": [0.1, 0.2, 0.3, 0.4], "payload": {"n": point_id}}]})
    assert r.status_code == 200, r.text


def telemetry(http, **params):
    r = http.get("/telemetry", params=params)
    assert r.status_code == 200, r.text
    return r.json()["result"]


def metric_lines(http, **params):
    r = http.get("/metrics", params=params)
    assert r.status_code == 200, r.text
    return [line for line in r.text.splitlines() if not line.startswith("#")]


def value(lines, name, **labels):
    """The value of the one line of `name` carrying exactly `labels`."""
    want = {k: str(v) for k, v in labels.items()}
    found = []
    for line in lines:
        m = re.fullmatch(r"(\w+)\{(.*)\} (\S+)", line)
        if m and m.group(1) == name and dict(re.findall(r'(\w+)="([^"]*)"', m.group(2))) == want:
            found.append(float(m.group(3)))
    assert len(found) == 1, f"{name}{want}: {found}"
    return found[0]


def test_responses_are_counted_by_route_and_status(node):
    http, _ = node
    create(http, "a")
    for i in range(3):
        upsert(http, "a", i)
    assert http.get("/collections/missing").status_code == 404

    rest = telemetry(http)["requests"]["rest"]
    upserts = rest["responses"][UPSERT]["200"]
    assert upserts["count"] == 3
    assert 0 < upserts["min_duration_micros"] <= upserts["avg_duration_micros"] <= upserts["max_duration_micros"]
    assert upserts["total_duration_micros"] >= upserts["max_duration_micros"] - 1
    responded = datetime.fromisoformat(upserts["last_responded"].replace("Z", "+00:00"))
    assert abs(datetime.now(timezone.utc) - responded) < timedelta(minutes=1)
    assert rest["responses"]["GET /collections/{collection_name}"]["404"]["count"] == 1
    assert rest["responses"]["PUT /collections/{collection_name}"]["200"]["count"] == 1
    assert "per_collection_responses" not in rest


def three_upserts_into_two_collections(http):
    """Collections a and b; two upserts into a, one into b."""
    create(http, "a")
    create(http, "b")
    upsert(http, "a", 1)
    upsert(http, "a", 2)
    upsert(http, "b", 1)


def test_per_collection_responses_add_up_to_the_route(node):
    http, _ = node
    three_upserts_into_two_collections(http)

    rest = telemetry(http, per_collection="true")["requests"]["rest"]
    per = rest["per_collection_responses"]
    assert per["a"][UPSERT]["200"]["count"] == 2
    assert per["b"][UPSERT]["200"]["count"] == 1
    assert rest["responses"][UPSERT]["200"]["count"] == 3
    # Routes that name no collection are not in any collection's figures.
    assert all("GET /telemetry" not in endpoints for endpoints in per.values())


def test_metrics_rest_families_global_and_per_collection(node):
    http, _ = node
    three_upserts_into_two_collections(http)
    route = {"method": "PUT", "endpoint": "/collections/{collection_name}/points", "status": 200}

    lines = metric_lines(http)
    assert value(lines, "rest_responses_total", **route) == 3
    assert value(lines, "rest_responses_duration_seconds_count", **route) == 3
    assert value(lines, "rest_responses_duration_seconds_bucket", **route, le="+Inf") == 3
    assert value(lines, "rest_responses_min_duration_seconds", **route) <= value(lines, "rest_responses_max_duration_seconds", **route)
    assert not [line for line in lines if line.startswith("rest_responses_") and "collection=" in line]
    assert "collections_total 2" in lines

    per = metric_lines(http, per_collection="true")
    assert value(per, "rest_responses_total", **route, collection="a") == 2
    assert value(per, "rest_responses_total", **route, collection="b") == 1
    assert value(per, "rest_responses_duration_seconds_count", **route, collection="a") == 2
    # As Qdrant: per-collection lines replace the global ones.
    assert not [line for line in per if line.startswith("rest_responses_") and "collection=" not in line]


def test_failures_are_counted_apart(node):
    http, _ = node
    assert http.get("/collections/missing").status_code == 404
    lines = metric_lines(http)
    labels = {"method": "GET", "endpoint": "/collections/{collection_name}", "status": 404}
    assert value(lines, "rest_responses_fail_total", **labels) == 1


@pytest.mark.parametrize("level", [0, 1, 2, 3, 4])
def test_every_level_reads_into_the_clients_models(node, level):
    http, client = node
    create(http, "a")
    upsert(http, "a", 1)
    data = client.http.service_api.telemetry(details_level=level).result
    assert isinstance(data, models.TelemetryData)
    assert data.app.name == "hsdb"
    assert data.collections.number_of_collections == 1
    assert (data.memory is not None) == (level >= 1)
    if level >= 1:
        assert data.memory.resident_bytes > 0


def test_level_sections(node):
    http, _ = node
    create(http, "a")
    upsert(http, "a", 1)
    upsert(http, "a", 2)

    assert set(telemetry(http, details_level=0)) == {"id", "app", "collections", "cluster", "requests", "quota"}
    brief = telemetry(http, details_level=1)["collections"]["collections"][0]
    assert brief == {"vectors": 2, "optimizers_status": "ok", "params": brief["params"]}
    assert brief["params"]["vectors"] == {"size": 4, "distance": "Dot"}
    full = telemetry(http, details_level=2)["collections"]["collections"][0]
    assert full["id"] == "a" and full["config"]["params"]["vectors"]["size"] == 4

    shard = telemetry(http, details_level=3)["collections"]["collections"][0]["shards"][0]
    assert shard["local"]["num_points"] == 2
    assert shard["local"]["num_vectors_by_name"] == {"": 2}
    assert "segments" not in shard["local"]
    assert list(shard["replicate_states"].values()) == ["Active"]

    local = telemetry(http, details_level=4)["collections"]["collections"][0]["shards"][0]["local"]
    assert sum(s["info"]["num_points"] for s in local["segments"]) == 2
    appendable = [s for s in local["segments"] if s["info"]["is_appendable"]]
    assert len(appendable) == 1
    assert appendable[0]["config"]["vector_data"][""]["size"] == 4


def test_op_num_counts_applied_writes(node):
    http, _ = node
    create(http, "a")

    def op_num():
        return telemetry(http, details_level=3)["collections"]["collections"][0]["shards"][0]["local"]["update_queue"]["op_num"]

    assert op_num() == 0
    upsert(http, "a", 1)
    assert op_num() == 1
    upsert(http, "a", 1)
    assert op_num() == 2


def test_bad_details_level_is_refused(node):
    http, _ = node
    assert http.get("/telemetry", params={"details_level": "-1"}).status_code == 400
    assert http.get("/telemetry", params={"details_level": "x"}).status_code == 400
