"""Discovery and context search (Qdrant's `discover` and `context` queries, and the legacy
`points/discover` route) through the unmodified qdrant-client against a real `hsdb serve`,
every score checked against Qdrant's formulas computed here: discovery ranks by the number of
context pairs a point is on the positive side of (minus the negative sides) plus its target
similarity squashed into (0, 1); context sums sigmoid(min(sim(pos) - sim(neg) - eps, 0))."""
import random

import pytest
from qdrant_client import models

DIM = 5
EPS = 1.1920929e-07


def sigmoid(x):
    return x / (1 + abs(x))


@pytest.fixture()
def space(client):
    rng = random.Random(21)
    client.create_collection("space", vectors_config=models.VectorParams(size=DIM, distance=models.Distance.DOT))
    vectors = {i: [round(rng.uniform(-1, 1), 3) for _ in range(DIM)] for i in range(200)}
    client.upsert("space", [models.PointStruct(id=i, vector=v, payload={"odd": i % 2 == 1}) for i, v in vectors.items()], wait=True)
    yield vectors
    client.delete_collection("space")


def dot(a, b):
    return sum(x * y for x, y in zip(a, b))


def test_discover_matches_qdrants_formula(client, http, space):
    rng = random.Random(2)
    target = [rng.uniform(-1, 1) for _ in range(DIM)]
    pairs = [(4, 9), (space[17], 30)]
    vec = lambda e: space[e] if isinstance(e, int) else e

    def score(v):
        rank = sum((dot(vec(p), v) > dot(vec(n), v)) - (dot(vec(p), v) < dot(vec(n), v)) for p, n in pairs)
        return rank + 0.5 * (sigmoid(dot(target, v)) + 1)

    examples = {4, 9, 30}
    expected = sorted((score(v) for i, v in space.items() if i not in examples), reverse=True)[:15]
    context = [models.ContextPair(positive=p, negative=n) for p, n in pairs]
    hits = client.query_points("space", query=models.DiscoverQuery(discover=models.DiscoverInput(target=target, context=context)),
                               limit=15).points
    assert [h.score for h in hits] == pytest.approx(expected, abs=1e-4)
    assert all(h.id not in examples and h.score == pytest.approx(score(space[h.id]), abs=1e-4) for h in hits)
    legacy = http.post("/collections/space/points/discover", json={
        "target": target, "context": [{"positive": p, "negative": n} for p, n in pairs], "limit": 15}).json()["result"]
    assert [h["id"] for h in legacy] == [h.id for h in hits]
    # Without context: the nearest points, scored by the squashed similarity.
    plain = client.query_points("space", query=target, limit=5).points
    alone = client.query_points("space", query=models.DiscoverQuery(discover=models.DiscoverInput(target=target, context=[])), limit=5).points
    assert [h.id for h in alone] == [h.id for h in plain]
    assert [h.score for h in alone] == pytest.approx([0.5 * (sigmoid(h.score) + 1) for h in plain], abs=1e-5)


def test_context_matches_qdrants_formula(client, space):
    pairs = [(1, 2), (3, 8), (50, 60)]

    def score(v):
        return sum(sigmoid(min(dot(space[p], v) - dot(space[n], v) - EPS, 0)) for p, n in pairs)

    odd = models.Filter(must=[models.FieldCondition(key="odd", match=models.MatchValue(value=True))])
    hits = client.query_points("space", query=models.ContextQuery(context=[models.ContextPair(positive=p, negative=n) for p, n in pairs]),
                               query_filter=odd, limit=200).points
    examples = {1, 2, 3, 8, 50, 60}
    assert sorted(h.id for h in hits) == sorted(i for i in space if i % 2 == 1 and i not in examples)
    assert all(h.score <= 0 and h.score == pytest.approx(score(space[h.id]), abs=1e-4) for h in hits)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
