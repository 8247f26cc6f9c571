"""The unmodified qdrant-client against a real `hsdb serve`: every endpoint hsdb supports,
through the client's own methods, with results compared to what Qdrant answers."""
import math
import random
import uuid
import warnings

import pytest
from qdrant_client import QdrantClient, models
from refusals import refused

DIM = 8


def unit(v):
    n = math.sqrt(sum(x * x for x in v))
    return [x / n for x in v]


def random_vectors(n, dim=DIM, seed=7):
    rng = random.Random(seed)
    return [[rng.uniform(-1, 1) for _ in range(dim)] for _ in range(n)]


@pytest.fixture()
def collection(client, request):
    name = request.node.name.replace("[", "_").replace("]", "")[:60]
    client.create_collection(name, vectors_config=models.VectorParams(size=DIM, distance=models.Distance.COSINE))
    yield name
    client.delete_collection(name)


def test_version_check_passes_without_warning(server):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        c = QdrantClient(url=server.url, check_compatibility=False)
        c._client._check_compatibility(c._client.rest_uri, c._client._rest_headers, None, 5)
        c.close()
    assert [str(w.message) for w in caught] == []


def test_collections_lifecycle(client):
    assert not client.collection_exists("lifecycle")
    assert client.create_collection(
        "lifecycle",
        vectors_config=models.VectorParams(size=4, distance=models.Distance.DOT),
        hnsw_config=models.HnswConfigDiff(m=8, ef_construct=64),
        quantization_config=models.BinaryQuantization(binary=models.BinaryQuantizationConfig(always_ram=True)),
    )
    assert client.collection_exists("lifecycle")
    info = client.get_collection("lifecycle")
    assert info.status == models.CollectionStatus.GREEN
    assert info.points_count == 0
    assert info.config.params.vectors.size == 4
    assert info.config.params.vectors.distance == models.Distance.DOT
    assert info.config.hnsw_config.m == 8 and info.config.hnsw_config.ef_construct == 64
    assert isinstance(info.config.quantization_config, models.BinaryQuantization)
    assert "lifecycle" in [c.name for c in client.get_collections().collections]
    with refused() as e:
        client.create_collection("lifecycle", vectors_config=models.VectorParams(size=4, distance=models.Distance.DOT))
    assert e.value.status_code == 409
    assert client.delete_collection("lifecycle") is True
    assert client.delete_collection("lifecycle") is False
    assert not client.collection_exists("lifecycle")
    with refused() as e:
        client.get_collection("lifecycle")
    assert e.value.status_code == 404


def test_named_empty_vector_config_round_trips(client):
    client.create_collection("named", vectors_config={"": models.VectorParams(size=3, distance=models.Distance.EUCLID)})
    try:
        vectors = client.get_collection("named").config.params.vectors
        assert isinstance(vectors, dict) and vectors[""].size == 3 and vectors[""].distance == models.Distance.EUCLID
        client.upsert("named", [models.PointStruct(id=1, vector={"": [0.0, 0.0, 1.0]}), models.PointStruct(id=2, vector={"": [3.0, 4.0, 0.0]})])
        hits = client.query_points("named", query=[0.0, 0.0, 0.0], using="").points
        # Euclid: distances, ascending.
        assert [h.id for h in hits] == [1, 2]
        assert hits[0].score == pytest.approx(1.0) and hits[1].score == pytest.approx(5.0)
    finally:
        client.delete_collection("named")


def test_upsert_forms_and_ids(client, collection):
    vecs = random_vectors(6)
    u1, u2 = uuid.uuid4(), uuid.uuid4()
    r = client.upsert(collection, [
        models.PointStruct(id=1, vector=vecs[0], payload={"k": "a", "n": 1}),
        models.PointStruct(id=str(u1), vector=vecs[1], payload={"k": "b", "n": 2}),
    ], wait=True)
    assert r.status == models.UpdateStatus.COMPLETED and r.operation_id > 0
    r = client.upsert(collection, models.Batch(ids=[2, u2.hex], vectors=vecs[2:4], payloads=[{"k": "c"}, {"k": "d"}]), wait=False)
    assert r.status == models.UpdateStatus.ACKNOWLEDGED
    assert client.count(collection).count == 4
    got = {p.id: p for p in client.retrieve(collection, [1, str(u1), 2, u2.hex, 999], with_vectors=True)}
    # UUIDs come back hyphenated, whatever form they went in.
    assert set(got) == {1, 2, str(u1), str(u2)}
    assert got[1].payload == {"k": "a", "n": 1}
    assert got[1].vector == pytest.approx(unit(vecs[0]), abs=1e-6)  # cosine stores normalised vectors
    # Upsert replaces vector and payload entirely.
    client.upsert(collection, [models.PointStruct(id=1, vector=vecs[5], payload={"z": True})])
    assert client.retrieve(collection, [1])[0].payload == {"z": True}


def test_upload_points_and_scroll_to_exhaustion(client, collection):
    vecs = random_vectors(57, seed=3)
    ids = list(range(0, 50)) + [str(uuid.UUID(int=i + 1)) for i in range(7)]
    client.upload_points(collection, [models.PointStruct(id=i, vector=v, payload={"i": n}) for n, (i, v) in enumerate(zip(ids, vecs))],
                         batch_size=10, wait=True)
    seen = []
    offset = None
    while True:
        points, offset = client.scroll(collection, limit=8, offset=offset)
        seen += [p.id for p in points]
        if offset is None:
            break
    # Integer ids ascending, then UUIDs.
    assert seen == list(range(0, 50)) + sorted(str(uuid.UUID(int=i + 1)) for i in range(7))
    points, nxt = client.scroll(collection, limit=3, offset=10, with_payload=False)
    assert [p.id for p in points] == [10, 11, 12] and nxt == 13 and not points[0].payload  # None over REST, {} over gRPC (as Qdrant)


def test_query_points_with_filters_threshold_and_params(client, collection):
    vecs = random_vectors(40, seed=11)
    client.upsert(collection, [models.PointStruct(id=i, vector=v, payload={"color": ["red", "blue"][i % 2], "n": i}) for i, v in enumerate(vecs)])
    q = vecs[5]
    res = client.query_points(collection, query=q, limit=5, with_payload=True)
    assert res.points[0].id == 5 and res.points[0].score == pytest.approx(1.0, abs=1e-5)
    assert all(p.version >= 1 for p in res.points)
    assert [p.score for p in res.points] == sorted((p.score for p in res.points), reverse=True)
    # Exact scores match a brute-force cosine ranking.
    expected = sorted(range(40), key=lambda i: -sum(a * b for a, b in zip(unit(q), unit(vecs[i]))))[:5]
    assert [p.id for p in res.points] == expected
    red = client.query_points(collection, query=q, limit=40, query_filter=models.Filter(
        must=[models.FieldCondition(key="color", match=models.MatchValue(value="red"))]))
    assert {p.id for p in red.points} == {i for i in range(40) if i % 2 == 0}
    ranged = client.query_points(collection, query=q, limit=40, query_filter=models.Filter(
        must=[models.FieldCondition(key="n", range=models.Range(gte=10, lt=20))],
        must_not=[models.HasIdCondition(has_id=[11, 12])]))
    assert {p.id for p in ranged.points} == set(range(10, 20)) - {11, 12}
    thresholded = client.query_points(collection, query=q, limit=40, score_threshold=0.5)
    assert thresholded.points and all(p.score >= 0.5 for p in thresholded.points)
    tuned = client.query_points(collection, query=q, limit=3, search_params=models.SearchParams(
        hnsw_ef=64, quantization=models.QuantizationSearchParams(rescore=True, oversampling=2.0)))
    assert tuned.points[0].id == 5
    paged = client.query_points(collection, query=q, limit=2, offset=1)
    assert [p.id for p in paged.points] == expected[1:3]
    by_id = client.query_points(collection, query=5, limit=3)
    assert 5 not in [p.id for p in by_id.points] and [p.id for p in by_id.points] == expected[1:4]
    with_vec = client.query_points(collection, query=q, limit=1, with_vectors=True, with_payload=["n"])
    assert with_vec.points[0].payload == {"n": 5} and len(with_vec.points[0].vector) == DIM


def test_filters_of_every_kind(client, collection):
    payloads = [
        {"city": "Berlin", "tags": ["a", "b"], "score": 1.5, "meta": {"lang": "de"}, "note": None, "items": [{"x": 1}, {"x": 5}]},
        {"city": "Paris", "tags": ["b"], "score": 3, "meta": {"lang": "fr"}, "text": "hello big world", "items": [{"x": 2}]},
        {"city": "Rome", "tags": [], "score": 7.25, "text": "small world"},
        {"city": "Oslo"},
    ]
    client.upsert(collection, [models.PointStruct(id=i + 1, vector=v, payload=p) for i, (v, p) in enumerate(zip(random_vectors(4), payloads))])

    def ids(f):
        return sorted(p.id for p in client.scroll(collection, scroll_filter=f, limit=100)[0])

    M = models
    assert ids(M.Filter(must=[M.FieldCondition(key="city", match=M.MatchAny(any=["Paris", "Rome"]))])) == [2, 3]
    assert ids(M.Filter(must=[M.FieldCondition(key="city", match=M.MatchExcept(**{"except": ["Paris"]}))])) == [1, 3, 4]
    assert ids(M.Filter(must=[M.FieldCondition(key="text", match=M.MatchText(text="world"))])) == [2, 3]
    assert ids(M.Filter(must=[M.FieldCondition(key="tags", match=M.MatchValue(value="b"))])) == [1, 2]
    assert ids(M.Filter(must=[M.FieldCondition(key="score", range=M.Range(gt=1.5, lte=7.25))])) == [2, 3]
    assert ids(M.Filter(must=[M.FieldCondition(key="tags", values_count=M.ValuesCount(gte=1))])) == [1, 2]
    assert ids(M.Filter(must=[M.IsEmptyCondition(is_empty=M.PayloadField(key="tags"))])) == [3, 4]
    assert ids(M.Filter(must=[M.IsNullCondition(is_null=M.PayloadField(key="note"))])) == [1]
    assert ids(M.Filter(must=[M.HasIdCondition(has_id=[1, 4, 99])])) == [1, 4]
    assert ids(M.Filter(must=[M.FieldCondition(key="meta.lang", match=M.MatchValue(value="fr"))])) == [2]
    assert ids(M.Filter(should=[M.FieldCondition(key="city", match=M.MatchValue(value="Oslo")),
                                M.FieldCondition(key="score", range=M.Range(gte=7))])) == [3, 4]
    assert ids(M.Filter(must_not=[M.FieldCondition(key="city", match=M.MatchValue(value="Oslo"))])) == [1, 2, 3]
    assert ids(M.Filter(min_should=M.MinShould(conditions=[
        M.FieldCondition(key="tags", match=M.MatchValue(value="b")),
        M.FieldCondition(key="score", range=M.Range(lt=2)),
        M.FieldCondition(key="meta.lang", match=M.MatchValue(value="de"))], min_count=2))) == [1]
    assert ids(M.Filter(must=[M.NestedCondition(nested=M.Nested(key="items", filter=M.Filter(
        must=[M.FieldCondition(key="x", range=M.Range(gte=2))])))])) == [1, 2]
    assert ids(M.Filter(must=[M.Filter(should=[M.HasIdCondition(has_id=[2]), M.HasIdCondition(has_id=[3])])])) == [2, 3]
    assert ids(M.Filter(must=[M.HasVectorCondition(has_vector="")])) == [1, 2, 3, 4]
    assert client.count(collection, count_filter=M.Filter(must=[M.FieldCondition(key="tags", match=M.MatchValue(value="b"))])).count == 2


def test_datetime_ranges(client, collection):
    """Qdrant's DatetimeRange over payload strings in its accepted formats (zones, no zone as
    UTC, a bare date as midnight), as Haystack filters ISO dates."""
    from datetime import datetime, timezone
    stamps = ["2023-02-08T10:49:00Z", "2023-02-08 12:00:00+01:00", "2024-01-31", ["2020-06-01T00:00:00", "2030-01-01"], 17, None]
    client.upsert(collection, [models.PointStruct(id=i + 1, vector=v, payload={"at": s})
                               for i, (v, s) in enumerate(zip(random_vectors(len(stamps)), stamps))])

    def ids(r):
        f = models.Filter(must=[models.FieldCondition(key="at", range=r)])
        return sorted(p.id for p in client.scroll(collection, scroll_filter=f, limit=100)[0])

    utc = timezone.utc
    assert ids(models.DatetimeRange(gt=datetime(2023, 2, 8, 10, 49, tzinfo=utc))) == [2, 3, 4]
    assert ids(models.DatetimeRange(gte=datetime(2023, 2, 8, 10, 49, tzinfo=utc), lte="2023-02-08T11:00:00Z")) == [1, 2]
    assert ids(models.DatetimeRange(lt="2021-01-01")) == [4]
    assert ids(models.DatetimeRange(gte=datetime(2024, 1, 31, tzinfo=utc), lt=datetime(2024, 1, 31, 0, 0, 1, tzinfo=utc))) == [3]
    # (a malformed datetime never leaves the client; test_bad_input sends one raw)


def test_delete_by_ids_and_filter(client, collection):
    client.upsert(collection, [models.PointStruct(id=i, vector=v, payload={"g": i % 3}) for i, v in enumerate(random_vectors(12))])
    r = client.delete(collection, points_selector=models.PointIdsList(points=[0, 1, 500]))
    assert r.status == models.UpdateStatus.COMPLETED
    assert client.count(collection).count == 10
    client.delete(collection, points_selector=models.FilterSelector(filter=models.Filter(
        must=[models.FieldCondition(key="g", match=models.MatchValue(value=2))])))
    left = sorted(p.id for p in client.scroll(collection, limit=100)[0])
    assert left == [i for i in range(2, 12) if i % 3 != 2]


def test_payload_operations(client, collection):
    client.upsert(collection, [models.PointStruct(id=i, vector=v, payload={"a": i, "b": {"c": 1, "d": 2}}) for i, v in enumerate(random_vectors(3))])
    client.set_payload(collection, payload={"x": "new", "a": 100}, points=[0])
    assert client.retrieve(collection, [0])[0].payload == {"a": 100, "b": {"c": 1, "d": 2}, "x": "new"}
    client.overwrite_payload(collection, payload={"only": 1}, points=[1])
    assert client.retrieve(collection, [1])[0].payload == {"only": 1}
    client.delete_payload(collection, keys=["a", "b.c"], points=models.Filter(must=[models.HasIdCondition(has_id=[2])]))
    assert client.retrieve(collection, [2])[0].payload == {"b": {"d": 2}}
    client.clear_payload(collection, points_selector=models.PointIdsList(points=[0]))
    assert client.retrieve(collection, [0])[0].payload == {}
    # Vectors are untouched by payload changes.
    assert client.retrieve(collection, [1], with_vectors=True)[0].vector == pytest.approx(unit(random_vectors(3)[1]), abs=1e-6)


def test_payload_index_is_reported(client, collection):
    client.upsert(collection, [models.PointStruct(id=i, vector=v, payload={"src": f"s{i % 2}"} if i < 5 else {}) for i, v in enumerate(random_vectors(8))])
    r = client.create_payload_index(collection, field_name="src", field_schema=models.PayloadSchemaType.KEYWORD)
    assert r.status == models.UpdateStatus.COMPLETED
    schema = client.get_collection(collection).payload_schema
    assert schema["src"].data_type == models.PayloadSchemaType.KEYWORD and schema["src"].points == 5
    hits = client.count(collection, count_filter=models.Filter(must=[models.FieldCondition(key="src", match=models.MatchValue(value="s1"))]))
    assert hits.count == 2
    client.delete_payload_index(collection, "src")
    assert client.get_collection(collection).payload_schema == {}


def test_query_batch(client, collection):
    vecs = random_vectors(10, seed=5)
    client.upsert(collection, [models.PointStruct(id=i, vector=v) for i, v in enumerate(vecs)])
    results = client.query_batch_points(collection, [models.QueryRequest(query=vecs[3], limit=1), models.QueryRequest(query=vecs[7], limit=2)])
    assert [r.points[0].id for r in results] == [3, 7] and len(results[1].points) == 2


def test_points_survive_restart(fresh_server):
    s = fresh_server()
    c = QdrantClient(url=s.url, check_compatibility=False)  # the server stops before a background check could finish
    c.create_collection("durable", vectors_config=models.VectorParams(size=DIM, distance=models.Distance.DOT))
    c.upsert("durable", [models.PointStruct(id=i, vector=v, payload={"i": i}) for i, v in enumerate(random_vectors(20))], wait=True)
    c.close()
    assert s.stop() == 0
    s2 = fresh_server(data=s.data_dir)
    c = QdrantClient(url=s2.url, check_compatibility=False)
    assert c.count("durable").count == 20
    assert c.retrieve("durable", [7])[0].payload == {"i": 7}
    c.close()


def test_api_key(fresh_server):
    s = fresh_server("--api-key", "s3cret")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the client warns that the key travels over plain http
        good = QdrantClient(url=s.url, api_key="s3cret", https=False, check_compatibility=False)
        bad = QdrantClient(url=s.url, api_key="wrong", https=False, check_compatibility=False)
    none = QdrantClient(url=s.url, check_compatibility=False)
    assert good.get_collections().collections == []
    for c, code in [(bad, 403), (none, 401)]:
        with refused() as e:
            c.get_collections()
        assert e.value.status_code == code
    import httpx
    assert httpx.get(s.url + "/healthz").status_code == 200
    assert httpx.get(s.url + "/collections", headers={"Authorization": "Bearer s3cret"}).status_code == 200


def test_snapshots_create_list_download_recover_delete(client, collection, server, tmp_path):
    import hashlib
    import httpx
    vecs = random_vectors(30, seed=21)
    client.upsert(collection, [models.PointStruct(id=i, vector=v, payload={"i": i}) for i, v in enumerate(vecs)])
    before = client.scroll(collection, limit=100, with_vectors=True)[0]
    snap = client.create_snapshot(collection)
    assert snap.name.endswith(".snapshot") and snap.size > 0 and len(snap.checksum) == 64
    assert [s.name for s in client.list_snapshots(collection)] == [snap.name]
    body = httpx.get(f"{server.url}/collections/{collection}/snapshots/{snap.name}").content
    assert len(body) == snap.size and hashlib.sha256(body).hexdigest() == snap.checksum
    # Change the collection, then recover: the snapshot's state comes back.
    client.delete(collection, points_selector=models.PointIdsList(points=list(range(10))))
    client.upsert(collection, [models.PointStruct(id=100, vector=vecs[0])])
    location = f"file://{server.data_dir}/snapshots/{collection}/{snap.name}"
    assert client.recover_snapshot(collection, location=location, checksum=snap.checksum)
    assert client.scroll(collection, limit=100, with_vectors=True)[0] == before
    # Into a new collection, too.
    assert client.recover_snapshot("recovered", location=location)
    assert client.count("recovered").count == 30
    client.delete_collection("recovered")
    with refused() as e:
        client.recover_snapshot(collection, location=location, checksum="0" * 64)
    assert e.value.status_code == 400 and "checksum mismatch" in str(e.value)
    with refused() as e:
        client.recover_snapshot(collection, location="file:///etc/passwd")
    assert e.value.status_code == 403
    with refused() as e:
        client.recover_snapshot(collection, location="http://127.0.0.1:1/x.snapshot")  # nothing listens: 400
    assert e.value.status_code == 400
    assert client.delete_snapshot(collection, snap.name)
    assert client.list_snapshots(collection) == []
    with refused() as e:
        client.delete_snapshot(collection, snap.name)
    assert e.value.status_code == 404


def test_metrics_in_prometheus_format(client, collection, server):
    import httpx
    client.upsert(collection, [models.PointStruct(id=i, vector=v) for i, v in enumerate(random_vectors(5))], wait=True)
    client.query_points(collection, query=random_vectors(1)[0], limit=2)
    r = httpx.get(server.url + "/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    lines = r.text.splitlines()

    def value(prefix):
        found = [float(l.rsplit(" ", 1)[1]) for l in lines if l.startswith(prefix)]
        assert found, f"no metric line starts with {prefix}"
        return found[0]

    assert value(f'hsdb_points{{collection="{collection}"}}') == 5
    assert value(f'hsdb_segments{{collection="{collection}"}}') == 0
    assert value("hsdb_wal_fsync_duration_count") >= 1
    assert value("hsdb_wal_group_commit_records_count") >= 1
    assert value(f'hsdb_wal_appends_total{{collection="{collection}"}}') >= 1
    query_route = 'http_server_request_duration_count{http_route="/collections/{collection}/points/query",http_request_method="POST",http_response_status_code="200"}'
    assert value(query_route) >= 1
    # Every sample line parses as `name{labels} value`.
    for l in lines:
        if l and not l.startswith("#"):
            float(l.rsplit(" ", 1)[1])
