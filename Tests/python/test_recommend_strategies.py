"""Recommend's best_score and sum_scores strategies (query API and the legacy route) through
the unmodified qdrant-client against a real `hsdb serve`, every score checked against
Qdrant's formulas computed here: sim is the dot product (cosine: of unit vectors; euclid:
minus the squared distance), best_score squashes the best positive (or minus the best
negative) with 0.5 (x / (1 + |x|) + 1), sum_scores subtracts the negatives' sum."""
import math
import random

import pytest
from qdrant_client import models

DIM = 6


def unit(v):
    n = math.sqrt(sum(x * x for x in v))
    return [x / n for x in v]


def squash(x):
    return 0.5 * (x / (1 + abs(x)) + 1)


@pytest.mark.parametrize("distance", [models.Distance.COSINE, models.Distance.DOT, models.Distance.EUCLID])
@pytest.mark.parametrize("strategy", [models.RecommendStrategy.BEST_SCORE, models.RecommendStrategy.SUM_SCORES])
def test_strategies_match_qdrants_formulas(client, http, distance, strategy):
    name = f"reco-{distance.value}-{strategy.value}".lower()
    rng = random.Random(11)
    client.create_collection(name, vectors_config=models.VectorParams(size=DIM, distance=distance))
    vectors = {i: [rng.uniform(-1, 1) for _ in range(DIM)] for i in range(150)}
    client.upsert(name, [models.PointStruct(id=i, vector=v, payload={"even": i % 2 == 0}) for i, v in vectors.items()], wait=True)
    stored = {i: unit(v) if distance == models.Distance.COSINE else v for i, v in vectors.items()}
    extra = [rng.uniform(-1, 1) for _ in range(DIM)]

    def sim(a, b):
        if distance == models.Distance.EUCLID:
            return -sum((x - y) ** 2 for x, y in zip(a, b))
        return sum(x * y for x, y in zip(a, b))

    positive = [stored[3], stored[10], unit(extra) if distance == models.Distance.COSINE else extra]
    negative = [stored[7]]

    def score(v):
        if strategy == models.RecommendStrategy.SUM_SCORES:
            return sum(sim(p, v) for p in positive) - sum(sim(n, v) for n in negative)
        best, worst = max(sim(p, v) for p in positive), max(sim(n, v) for n in negative)
        return squash(best) if best > worst else -squash(worst)

    expected = sorted(((score(v), i) for i, v in stored.items() if i not in (3, 10, 7) and i % 2 == 0), key=lambda t: -t[0])[:10]
    even = models.Filter(must=[models.FieldCondition(key="even", match=models.MatchValue(value=True))])
    hits = client.query_points(name, query=models.RecommendQuery(recommend=models.RecommendInput(
        positive=[3, 10, extra], negative=[7], strategy=strategy)), query_filter=even, limit=10).points
    assert [h.score for h in hits] == pytest.approx([s for s, _ in expected], abs=1e-4)
    assert all(h.score == pytest.approx(score(stored[h.id]), abs=1e-4) and h.id % 2 == 0 for h in hits)
    legacy = http.post(f"/collections/{name}/points/recommend", json={
        "positive": [3, 10, extra], "negative": [7], "strategy": strategy.value, "filter": even.model_dump(exclude_none=True),
        "limit": 10}).json()["result"]
    assert [h["id"] for h in legacy] == [h.id for h in hits]
    # Negatives alone: the points least like them first.
    only_negative = client.query_points(name, query=models.RecommendQuery(recommend=models.RecommendInput(
        negative=[7], strategy=strategy)), limit=5).points
    assert len(only_negative) == 5 and 7 not in [h.id for h in only_negative]
    client.delete_collection(name)
