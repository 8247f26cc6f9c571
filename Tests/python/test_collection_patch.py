"""Changing a live collection (`PATCH /collections/{c}`), collections of sparse vectors only,
and IDF over a corpus, through the unmodified qdrant-client (and plain HTTP where the client
checks a body itself) against a real `hsdb serve`, as Qdrant answers them."""
import math

import pytest
from qdrant_client import QdrantClient, models
from refusals import refused


# The session's server is shared: what a test made is dropped after it (conftest).
pytestmark = pytest.mark.usefixtures("drop_what_the_test_made")


def idf(n, df):
    return math.log((n - df + 0.5) / (df + 0.5) + 1.0)


def test_hnsw_quantization_and_params_change_and_are_reported(client):
    client.create_collection("patched", vectors_config={
        "image": models.VectorParams(size=4, distance=models.Distance.DOT),
        "text": models.VectorParams(size=8, distance=models.Distance.COSINE, hnsw_config=models.HnswConfigDiff(m=20))},
        hnsw_config=models.HnswConfigDiff(m=10, ef_construct=80))
    assert client.update_collection(
        "patched",
        vectors_config={"image": models.VectorParamsDiff(
            hnsw_config=models.HnswConfigDiff(m=32),
            quantization_config=models.ScalarQuantization(scalar=models.ScalarQuantizationConfig(type="int8", quantile=0.8)),
            on_disk=True)},
        hnsw_config=models.HnswConfigDiff(ef_construct=123),
        collection_params=models.CollectionParamsDiff(on_disk_payload=False, write_consistency_factor=1))
    config = client.get_collection("patched").config
    assert config.params.vectors["image"].hnsw_config.m == 32
    assert config.params.vectors["image"].quantization_config.scalar.quantile == pytest.approx(0.8)  # a float32 over gRPC
    assert config.params.vectors["image"].on_disk is True
    assert config.params.vectors["text"].hnsw_config.m == 20
    assert (config.hnsw_config.m, config.hnsw_config.ef_construct) == (10, 123)
    assert config.params.on_disk_payload is False
    # `Disabled` removes a vector's quantization; `{}` its own HNSW parameters.
    client.update_collection("patched", vectors_config={"image": models.VectorParamsDiff(
        quantization_config=models.Disabled.DISABLED, hnsw_config=models.HnswConfigDiff())})
    image = client.get_collection("patched").config.params.vectors["image"]
    assert image.quantization_config is None and image.hnsw_config is None
    # Points still go in and come out.
    client.upsert("patched", [models.PointStruct(id=1, vector={"image": [1, 0, 0, 0]})], wait=True)
    assert client.query_points("patched", query=[1, 0, 0, 0], using="image").points[0].id == 1


def test_bad_changes_are_refused_and_change_nothing(client, http):
    client.create_collection("refused", vectors_config=models.VectorParams(size=4, distance=models.Distance.DOT))
    before = http.get("/collections/refused").json()["result"]["config"]
    r = http.patch("/collections/refused", json={"vectors": {"nope": {"hnsw_config": {"m": 32}}}})
    assert r.status_code == 400
    assert r.json()["status"]["error"] == "Wrong input: Not existing vector name error: nope"
    r = http.patch("/collections/refused", json={"vectors": {"": {"memory": "pinned"}}, "hnsw_config": {"m": 40}})
    assert r.status_code == 422
    assert "`pinned` memory placement is not supported for dense vector storage" in r.json()["status"]["error"]
    r = http.patch("/collections/refused", json={"hnsw_config": {"ef_construct": 2}})
    assert r.status_code == 422
    r = http.patch("/collections/refused", json={"params": {"replication_factor": 3}})
    assert r.status_code == 400 and "not supported by hsdb" in r.json()["status"]["error"]
    r = http.patch("/collections/refused", json={"vectors": {"": {"size": 8}}})
    assert r.status_code == 400 and "size" in r.json()["status"]["error"]
    assert http.get("/collections/refused").json()["result"]["config"] == before
    # `memory` is a placement hint, kept and reported; `pinned` payload storage is refused.
    assert http.patch("/collections/refused", json={"vectors": {"": {"memory": "cold"}}, "params": {"payload": {"memory": "cached"}}}).is_success
    params = http.get("/collections/refused").json()["result"]["config"]["params"]
    assert params["vectors"]["memory"] == "cold" and params["payload"] == {"memory": "cached"}
    r = http.put("/collections/pinned_payload", json={"vectors": {"size": 4, "distance": "Dot"}, "payload": {"memory": "pinned"}})
    assert r.status_code == 422


def test_inline_storage_without_quantization_warns(http):
    body = {"vectors": {"v": {"size": 4, "distance": "Dot", "hnsw_config": {"inline_storage": True}}}}
    assert http.put("/collections/warned", json=body).is_success
    warnings = http.get("/collections/warned").json()["result"]["warnings"]
    assert warnings == [{"message": "The `hnsw_config.inline_storage` option for vector 'v' requires quantization "
                                    "to be enabled. This option will be ignored."}]
    assert http.patch("/collections/warned", json={"quantization_config": {"scalar": {"type": "int8"}}}).is_success
    assert "warnings" not in http.get("/collections/warned").json()["result"]


def sparse_points():
    # Terms 0 and 1 in every point; term 2 in point 3 only.
    return [models.PointStruct(id=i, vector={"words": models.SparseVector(indices=terms, values=[1.0] * len(terms))},
                               payload={"tenant": "a" if i < 2 else "b"})
            for i, terms in enumerate([[0, 1], [0], [1], [0, 1, 2]])]


def test_sparse_only_collection_and_modifier_change_survive_a_restart(fresh_server):
    s = fresh_server()
    c = QdrantClient(url=s.url, check_compatibility=False)
    c.create_collection("words_only", vectors_config={}, sparse_vectors_config={"words": models.SparseVectorParams()})
    assert c.get_collection("words_only").config.params.vectors == {}
    c.upsert("words_only", sparse_points(), wait=True)
    query = models.SparseVector(indices=[0, 2], values=[1.0, 1.0])
    plain = {p.id: p.score for p in c.query_points("words_only", query=query, using="words").points}
    assert plain == {0: 1.0, 1: 1.0, 3: 2.0}
    with refused() as e:
        c.query_points("words_only", query=[1.0, 0.0])
    assert e.value.status_code == 400
    # The modifier changes the next query's scores, and stays changed after a restart.
    c.update_collection("words_only", sparse_vectors_config={"words": models.SparseVectorParams(modifier=models.Modifier.IDF)})
    weighted = {p.id: p.score for p in c.query_points("words_only", query=query, using="words").points}
    assert weighted[3] == pytest.approx(idf(4, 3) + idf(4, 1), rel=1e-5)
    c.close()
    assert s.stop() == 0
    s = fresh_server(data=s.data_dir)
    c = QdrantClient(url=s.url, check_compatibility=False)
    assert c.get_collection("words_only").config.params.sparse_vectors["words"].modifier == models.Modifier.IDF
    again = {p.id: p.score for p in c.query_points("words_only", query=query, using="words").points}
    assert again == pytest.approx(weighted, rel=1e-6)
    c.close()


def test_idf_over_a_corpus(client, http):
    client.create_collection("corpus", vectors_config={"dense": models.VectorParams(size=2, distance=models.Distance.DOT)},
                             sparse_vectors_config={"words": models.SparseVectorParams(modifier=models.Modifier.IDF)})
    client.upsert("corpus", sparse_points(), wait=True)
    query = {"indices": [0, 1, 2], "values": [1.0, 1.0, 1.0]}

    def scores(params, **extra):
        r = http.post("/collections/corpus/points/query", json={"query": query, "using": "words", "params": params, **extra})
        assert r.is_success, r.text
        return {p["id"]: p["score"] for p in r.json()["result"]["points"]}

    tenant_b = {"must": [{"key": "tenant", "match": {"value": "b"}}]}
    # Points 2 and 3: N = 2, df = 2, 1, 1 for terms 0, 1, 2 (counted in tenant b only).
    b = scores({"idf": {"corpus": tenant_b}})
    assert b[3] == pytest.approx(idf(2, 1) + idf(2, 2) + idf(2, 1), rel=1e-5)
    assert b[0] == pytest.approx(idf(2, 1) + idf(2, 2), rel=1e-5)
    # A filter restricts the results, not the statistics.
    assert scores({"idf": {"corpus": tenant_b}}, filter=tenant_b) == {k: v for k, v in b.items() if k in (2, 3)}
    assert scores({"idf": "global"}) == scores({})
    r = http.post("/collections/corpus/points/query", json={"query": [1, 0], "using": "dense", "params": {"idf": {"corpus": tenant_b}}})
    assert r.status_code == 400 and "idf" in r.json()["status"]["error"]
