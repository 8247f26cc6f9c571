"""Facets and the distance matrix (Qdrant's `/facet`, `/points/search/matrix/pairs` and
`/offsets`) through the unmodified qdrant-client against a real `hsdb serve`, checked against
counts and dot products computed here."""
import random
from collections import Counter

import pytest
from qdrant_client import models
from refusals import refused

DIM = 5


@pytest.fixture()
def shop(client):
    rng = random.Random(3)
    client.create_collection("shop", vectors_config=models.VectorParams(size=DIM, distance=models.Distance.DOT))
    points = []
    for i in range(120):
        payload = {"colour": rng.sample(["red", "green", "blue", "gold"], rng.randint(1, 2)), "size": rng.randrange(4),
                   "sale": rng.random() < 0.3}
        if i % 11 == 0:
            payload = {"other": 1}
        vector = [round(rng.uniform(-1, 1), 2) for _ in range(DIM)] if i % 9 else {}
        points.append((i, vector, payload))
    client.upsert("shop", [models.PointStruct(id=i, vector=v, payload=p) for i, v, p in points], wait=True)
    for field, schema in (("colour", "keyword"), ("size", "integer"), ("sale", "bool")):
        client.create_payload_index("shop", field, field_schema=schema, wait=True)
    yield points
    client.delete_collection("shop")


def expected_facet(points, key, keep=lambda p: True):
    counts = Counter()
    for _, _, p in points:
        if key in p and keep(p):
            values = p[key] if isinstance(p[key], list) else [p[key]]
            counts.update(set(values))
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))


@pytest.mark.parametrize("key", ["colour", "size", "sale"])
def test_facets_count_each_value_once_per_point(client, shop, key):
    got = client.facet("shop", key=key, limit=100).hits
    assert [(h.value, h.count) for h in got] == expected_facet(shop, key)
    top = client.facet("shop", key=key, limit=1).hits
    assert [(h.value, h.count) for h in top] == expected_facet(shop, key)[:1]
    on_sale = client.facet("shop", key=key, facet_filter=models.Filter(must=[
        models.FieldCondition(key="sale", match=models.MatchValue(value=True))]), limit=100).hits
    assert [(h.value, h.count) for h in on_sale] == expected_facet(shop, key, lambda p: p.get("sale") is True)


def test_facet_needs_an_index(client, shop):
    with refused() as e:
        client.facet("shop", key="other")
    assert e.value.status_code == 400 and "No appropriate index for faceting: `other`" in str(e.value)


def test_distance_matrix_pairs_and_offsets(client, shop):
    with_vectors = {i: v for i, v, _ in shop if isinstance(v, list)}
    pairs = client.search_matrix_pairs("shop", sample=1000, limit=3).pairs
    offsets = client.search_matrix_offsets("shop", sample=1000, limit=3)
    ids = sorted(with_vectors)
    assert offsets.ids == ids
    dot = lambda a, b: sum(x * y for x, y in zip(with_vectors[a], with_vectors[b]))
    expected = []
    for a in ids:
        nearest = sorted((b for b in ids if b != a), key=lambda b: (-dot(a, b), b))[:3]
        expected += [(a, b) for b in nearest]
    # Equal scores (to float32) may come in either order: compare the rows' scores, and each pair's.
    assert [p.a for p in pairs] == [a for a, _ in expected]
    assert [p.score for p in pairs] == pytest.approx([dot(a, b) for a, b in expected], abs=1e-4)
    assert all(p.score == pytest.approx(dot(p.a, p.b), abs=1e-4) and p.a != p.b for p in pairs)
    assert [(ids[r], ids[c]) for r, c in zip(offsets.offsets_row, offsets.offsets_col)] == [(p.a, p.b) for p in pairs]
    sampled = client.search_matrix_pairs("shop", sample=10, limit=2).pairs
    assert len({p.a for p in sampled}) == 10 and all(p.a in with_vectors and p.b in with_vectors for p in sampled)
    filtered = client.search_matrix_offsets("shop", sample=1000, limit=1, query_filter=models.Filter(must=[
        models.FieldCondition(key="size", match=models.MatchValue(value=2))]))
    assert filtered.ids == [i for i in ids if shop[i][2].get("size") == 2]
