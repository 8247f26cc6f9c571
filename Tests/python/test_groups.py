"""Grouped search (Qdrant's query/groups, search/groups, recommend/groups) through the
unmodified qdrant-client against a real `hsdb serve`: every group checked against an exact
grouping computed here (dot products by hand), array-valued and mixed-type group fields,
`with_lookup` from a second collection, and Qdrant's refusals."""
import random

import pytest
from qdrant_client import models
from refusals import refused

DIM = 6


@pytest.fixture()
def docs(client):
    """300 chunks of 40 documents (`doc` an integer, 3 to 12 chunks each), some chunks in two
    shelves (`shelf`: a list of strings), and a lookup collection holding each document."""
    rng = random.Random(5)
    client.create_collection("chunks", vectors_config=models.VectorParams(size=DIM, distance=models.Distance.DOT))
    client.create_collection("docs", vectors_config=models.VectorParams(size=2, distance=models.Distance.DOT))
    chunks = []
    for i in range(300):
        doc = rng.randrange(40)
        shelves = sorted({f"s{rng.randrange(5)}" for _ in range(rng.randint(1, 2))})
        chunks.append((i, [round(rng.uniform(-1, 1), 3) for _ in range(DIM)], {"doc": doc, "shelf": shelves, "i": i}))
    client.upsert("chunks", [models.PointStruct(id=i, vector=v, payload=p) for i, v, p in chunks], wait=True)
    client.upsert("docs", [models.PointStruct(id=d, vector=[1, 0], payload={"title": f"document {d}"}) for d in range(40)], wait=True)
    yield chunks
    client.delete_collection("chunks")
    client.delete_collection("docs")


def exact_groups(chunks, query, key, size, limit):
    """Groups by each value of `key`, in order of their best chunk, each of its best `size`."""
    scored = sorted(((sum(a * b for a, b in zip(query, v)), i, p) for i, v, p in chunks), key=lambda t: (-t[0], t[1]))
    groups = {}
    for score, i, p in scored:
        values = p[key] if isinstance(p[key], list) else [p[key]]
        for value in values:
            if value not in groups:
                if len(groups) == limit:
                    continue
                groups[value] = []
            if len(groups[value]) < size:
                groups[value].append((i, score))
    return groups


@pytest.mark.parametrize("key,size,limit", [("doc", 3, 10), ("doc", 1, 40), ("shelf", 4, 5), ("doc", 12, 3)])
def test_query_groups_match_an_exact_grouping(client, docs, key, size, limit):
    rng = random.Random(size * limit)
    for _ in range(3):
        query = [rng.uniform(-1, 1) for _ in range(DIM)]
        got = client.query_points_groups("chunks", query=query, group_by=key, group_size=size, limit=limit,
                                         search_params=models.SearchParams(exact=True), with_payload=True).groups
        want = exact_groups(docs, query, key, size, limit)
        assert [g.id for g in got] == list(want)
        for g in got:
            assert [h.id for h in g.hits] == [i for i, _ in want[g.id]]
            assert [h.score for h in g.hits] == pytest.approx([s for _, s in want[g.id]], abs=1e-4)
            assert all(g.id == h.payload[key] or g.id in h.payload[key] for h in g.hits)


def test_search_and_recommend_groups_and_lookup(client, http, docs):
    """The legacy routes (the pinned client no longer has them) answer as query/groups does."""
    query = [0.5, -0.2, 0.1, 0.9, 0.0, -0.4]
    r = http.post("/collections/chunks/points/search/groups", json={
        "vector": query, "group_by": "doc", "group_size": 2, "limit": 4,
        "with_lookup": {"collection": "docs", "with_payload": True, "with_vectors": True}})
    assert r.status_code == 200, r.text
    legacy = r.json()["result"]["groups"]
    want = exact_groups(docs, query, "doc", 2, 4)
    assert [g["id"] for g in legacy] == list(want)
    for g in legacy:
        assert [h["id"] for h in g["hits"]] == [i for i, _ in want[g["id"]]]
        assert g["lookup"] == {"id": g["id"], "payload": {"title": f"document {g['id']}"}, "vector": [1.0, 0.0]}
        assert "payload" not in g["hits"][0]
    by_name = client.query_points_groups("chunks", query=query, group_by="doc", group_size=2, limit=4, with_lookup="docs")
    assert all(g.lookup.payload and g.lookup.vector is None for g in by_name.groups)
    r = http.post("/collections/chunks/points/recommend/groups", json={
        "positive": [1, 2], "negative": [3], "group_by": "doc", "group_size": 2, "limit": 5, "with_payload": True})
    assert r.status_code == 200, r.text
    reco = r.json()["result"]["groups"]
    assert len(reco) == 5 and all(1 <= len(g["hits"]) <= 2 for g in reco)
    assert all(h["id"] not in (1, 2, 3) and h["payload"]["doc"] == g["id"] for g in reco for h in g["hits"])
    nested = client.query_points_groups("chunks", query=query, group_by="shelf[]", group_size=1, limit=5)
    assert sorted(g.id for g in nested.groups) == [f"s{i}" for i in range(5)]
    assert client.query_points_groups("chunks", query=query, group_by="missing", group_size=2, limit=4).groups == []


def test_group_refusals(http, docs):
    body = {"query": [0] * DIM, "group_by": "doc", "limit": 3}
    r = http.post("/collections/chunks/points/query/groups", json={**body, "with_lookup": {"collection": "nowhere"}})
    assert r.status_code == 404 and "Collection nowhere not found" in r.json()["status"]["error"]
    r = http.post("/collections/chunks/points/query/groups", json={**body, "lookup_from": {"collection": "absent"}})
    assert r.status_code == 404 and "absent" in r.json()["status"]["error"]
    r = http.post("/collections/chunks/points/query/groups", json={"query": [0] * DIM, "limit": 3})
    assert r.status_code == 400 and "group_by" in r.json()["status"]["error"]
    r = http.post("/collections/chunks/points/query/groups", json={**body, "group_size": 0})
    assert r.status_code == 422
