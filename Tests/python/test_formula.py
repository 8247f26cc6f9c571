"""Formula queries (Qdrant's score boosting) against a real `hsdb serve` through the unmodified
qdrant-client: each prefetch hit re-scored by a formula over its prefetch scores, payload
numbers, conditions, geo distances, datetimes and decays, every score checked against the same
formula computed here; defaults, a score threshold, and Qdrant's errors for a missing
variable, a division by zero and a formula without prefetches."""
import math
from datetime import datetime, timezone

import pytest
from qdrant_client import models
from refusals import refused

DIM = 4
ORIGIN = (13.4, 52.5)  # lon, lat (Berlin)


def haversine(lon1, lat1, lon2, lat2):
    """Meters, on the mean Earth radius Qdrant uses."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dlat, dlon = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dlat / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dlon / 2) ** 2
    return 2 * 6_371_008.8 * math.asin(min(1, math.sqrt(a)))


def f32(x):
    """A number as Qdrant reads a formula constant: a 32-bit float."""
    import struct
    return struct.unpack("f", struct.pack("f", x))[0]


@pytest.fixture()
def shop(client, request):
    name = request.node.name[:60]
    client.create_collection(name, vectors_config=models.VectorParams(size=DIM, distance=models.Distance.DOT))
    points = []
    for i in range(1, 21):
        payload = {
            "tag": "sale" if i % 3 == 0 else "regular",
            "place": {"lon": 13.0 + i / 10, "lat": 52.0 + i / 20},
            "at": f"2025-03-{i:02d}T12:00:00Z",
        }
        if i % 4:
            payload["price"] = i * 1.5
        points.append(models.PointStruct(id=i, vector=[i / 10, 1.0, (20 - i) / 10, 0.5], payload=payload))
    client.upsert(name, points, wait=True)
    yield name, {p.id: p.payload for p in points}
    client.delete_collection(name)


def prefetch_scores(client, name, vector, limit=20):
    hits = client.query_points(name, query=vector, limit=limit).points
    return {h.id: h.score for h in hits}


def check(client, name, payloads, formula, expected, defaults=None, threshold=None, limit=20, prefetch=None):
    """Runs the formula over two prefetches and compares every score with `expected(s0, s1, payload)`."""
    v0, v1 = [1.0, 0.0, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0]
    s0, s1 = prefetch_scores(client, name, v0, 10), prefetch_scores(client, name, v1, 10)
    got = client.query_points(
        name, prefetch=prefetch or [models.Prefetch(query=v0, limit=10), models.Prefetch(query=v1, limit=10)],
        query=models.FormulaQuery(formula=formula, defaults=defaults or {}), limit=limit, score_threshold=threshold).points
    want = {}
    for pid in set(s0) | set(s1):
        want[pid] = expected(s0.get(pid, 0.0), s1.get(pid, 0.0), payloads[pid])
    ranked = sorted(want.items(), key=lambda kv: (-kv[1], kv[0]))
    if threshold is not None:
        ranked = [kv for kv in ranked if kv[1] >= threshold]
    ranked = ranked[:limit]
    assert [p.id for p in got] == [pid for pid, _ in ranked] or \
        sorted(p.score for p in got) == pytest.approx(sorted(s for _, s in ranked), rel=1e-5)
    for p in got:
        assert p.score == pytest.approx(want[p.id], rel=1e-5, abs=1e-6), (p.id, p.score, want[p.id])
    assert [p.score for p in got] == sorted((p.score for p in got), reverse=True)
    return got


def test_sum_of_scores_and_price_with_default(client, shop):
    name, payloads = shop
    formula = models.SumExpression(sum=[
        models.MultExpression(mult=["$score", 0.4]), "$score[1]",
        models.MultExpression(mult=["price", 0.6])])
    got = check(client, name, payloads, formula, lambda s0, s1, p: f32(0.4) * s0 + s1 + f32(0.6) * p.get("price", 0.0),
                defaults={"price": 0.0})
    assert len(got) == 20


def test_condition_boosts_matching_points(client, shop):
    name, payloads = shop
    sale = models.FieldCondition(key="tag", match=models.MatchValue(value="sale"))
    formula = models.SumExpression(sum=["$score", models.MultExpression(mult=[10, sale])])
    got = check(client, name, payloads, formula, lambda s0, s1, p: s0 + (10 if p["tag"] == "sale" else 0))
    assert payloads[got[0].id]["tag"] == "sale"


def test_functions_and_division_default(client, shop):
    name, payloads = shop
    formula = models.SumExpression(sum=[
        models.SqrtExpression(sqrt=models.AbsExpression(abs="$score")),
        models.PowExpression(pow=models.PowParams(base="$score[1]", exponent=2)),
        models.LnExpression(ln=models.SumExpression(sum=[1, models.AbsExpression(abs="$score")])),
        models.Log10Expression(log10=10),
        models.ExpExpression(exp=models.NegExpression(neg=1)),
        models.DivExpression(div=models.DivParams(left=1, right="price", by_zero_default=-5)),
    ])

    def expected(s0, s1, p):
        price = p.get("price", 0.0)
        return (math.sqrt(abs(s0)) + s1 ** 2 + math.log(1 + abs(s0)) + 1 + math.exp(-1)
                + (1 / price if price else -5))
    check(client, name, payloads, formula, expected, defaults={"price": 0})


def test_geo_distance_datetime_and_decays(client, shop):
    name, payloads = shop
    lon, lat = ORIGIN
    midday = "2025-03-10T12:00:00Z"
    formula = models.SumExpression(sum=[
        models.ExpDecayExpression(exp_decay=models.DecayParamsExpression(
            x=models.GeoDistance(geo_distance=models.GeoDistanceParams(origin=models.GeoPoint(lon=lon, lat=lat), to="place")),
            scale=50_000)),
        models.GaussDecayExpression(gauss_decay=models.DecayParamsExpression(
            x=models.DatetimeKeyExpression(datetime_key="at"), target=models.DatetimeExpression(datetime=midday),
            scale=86_400 * 3, midpoint=0.3)),
        models.LinDecayExpression(lin_decay=models.DecayParamsExpression(x="$score", target=1, scale=2)),
    ])

    def seconds(text):
        return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(timezone.utc).timestamp()

    def expected(s0, s1, p):
        d = haversine(lon, lat, p["place"]["lon"], p["place"]["lat"])
        exp_decay = math.exp(math.log(0.5) / 50_000 * d)
        dt = seconds(p["at"]) - seconds(midday)
        gauss = math.exp(math.log(f32(0.3)) / (86_400 * 3) ** 2 * dt * dt)
        lin = max(0.0, 1 - 0.5 / 2 * abs(s0 - 1))
        return exp_decay + gauss + lin
    check(client, name, payloads, formula, expected)


def test_score_threshold_and_limit(client, shop):
    name, payloads = shop
    got = check(client, name, payloads, "price", lambda s0, s1, p: p.get("price", 0.0), defaults={"price": 0.0},
                threshold=12.0, limit=3)
    assert [p.id for p in got] == [19, 18, 17]


def test_missing_variable_is_an_error(client, shop):
    name, _ = shop
    with refused() as e:
        client.query_points(name, prefetch=models.Prefetch(query=[1.0, 0, 0, 0], limit=20),
                            query=models.FormulaQuery(formula="price"))
    assert e.value.status_code == 400
    assert "Expected number value for price in the payload and/or in the formula defaults" in str(e.value)


def test_division_by_zero_without_default_is_an_error(client, shop):
    name, _ = shop
    with refused() as e:
        client.query_points(name, prefetch=models.Prefetch(query=[1.0, 0, 0, 0], limit=5),
                            query=models.FormulaQuery(formula=models.DivExpression(div=models.DivParams(left=1, right=0))))
    assert e.value.status_code == 400
    assert "The expression 1/0 = inf produced a non-finite number" in str(e.value)


def test_formula_without_prefetch_and_bad_names(client, shop):
    name, _ = shop
    with refused() as e:
        client.query_points(name, query=models.FormulaQuery(formula="$score"))
    assert e.value.status_code == 400 and "cannot apply Formula without prefetches" in str(e.value)
    with refused() as e:
        client.query_points(name, prefetch=models.Prefetch(query=[1.0, 0, 0, 0]), query=models.FormulaQuery(formula="$bogus"))
    assert e.value.status_code == 400 and "Invalid reserved word: $bogus" in str(e.value)
