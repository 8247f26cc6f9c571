"""Geo conditions (radius, bounding box, polygon with holes) and the geo index through the
unmodified qdrant-client against a real `hsdb serve`, each checked against a haversine and
point-in-ring computed here; invalid polygons refused as Qdrant refuses them."""
import math
import random

import pytest
from qdrant_client import models
from refusals import refused

R = 6371008.8


def haversine(a, b):
    p1, p2 = math.radians(a[1]), math.radians(b[1])
    dp, dl = p2 - p1, math.radians(b[0] - a[0])
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * R * math.asin(min(1, math.sqrt(h)))


def in_ring(p, ring):
    inside, j = False, len(ring) - 1
    for i in range(len(ring)):
        a, b = ring[i], ring[j]
        if (a[1] > p[1]) != (b[1] > p[1]) and p[0] < (b[0] - a[0]) * (p[1] - a[1]) / (b[1] - a[1]) + a[0]:
            inside = not inside
        j = i
    return inside


@pytest.fixture()
def places(client):
    rng = random.Random(4)
    client.create_collection("places", vectors_config=models.VectorParams(size=2, distance=models.Distance.DOT))
    points = {}
    for i in range(300):
        where = [(rng.uniform(-180, 180), rng.uniform(-80, 80)) for _ in range(rng.choice([1, 1, 2]))]
        points[i] = where
        loc = [{"lon": lon, "lat": lat} for lon, lat in where]
        client.upsert("places", [models.PointStruct(id=i, vector=[1, 0], payload={"loc": loc[0] if len(loc) == 1 else loc})], wait=False)
    client.upsert("places", [models.PointStruct(id=999, vector=[1, 0], payload={"other": 1})], wait=True)
    yield points
    client.delete_collection("places")


def ids(client, condition):
    page, _ = client.scroll("places", scroll_filter=models.Filter(must=[condition]), limit=1000)
    return sorted(p.id for p in page)


@pytest.mark.parametrize("indexed", [False, True])
def test_geo_conditions_match_a_reference(client, places, indexed):
    if indexed:
        client.create_payload_index("places", "loc", field_schema=models.PayloadSchemaType.GEO, wait=True)
        assert client.get_collection("places").payload_schema["loc"].data_type == models.PayloadSchemaType.GEO
    centre, radius = (10.0, 20.0), 3_000_000
    got = ids(client, models.FieldCondition(key="loc", geo_radius=models.GeoRadius(center=models.GeoPoint(lon=10, lat=20), radius=radius)))
    assert got == sorted(i for i, w in places.items() if any(haversine(p, centre) <= radius for p in w))
    box = models.GeoBoundingBox(top_left=models.GeoPoint(lon=150, lat=40), bottom_right=models.GeoPoint(lon=-150, lat=-10))
    got = ids(client, models.FieldCondition(key="loc", geo_bounding_box=box))
    assert got == sorted(i for i, w in places.items() if any(-10 <= lat <= 40 and (lon >= 150 or lon <= -150) for lon, lat in w))
    outer = [(-60, -40), (60, -40), (60, 40), (-60, 40), (-60, -40)]
    hole = [(-20, -20), (20, -20), (20, 20), (-20, 20), (-20, -20)]
    ring = lambda r: models.GeoLineString(points=[models.GeoPoint(lon=x, lat=y) for x, y in r])
    got = ids(client, models.FieldCondition(key="loc", geo_polygon=models.GeoPolygon(exterior=ring(outer), interiors=[ring(hole)])))
    want = sorted(i for i, w in places.items() if any(in_ring(p, outer) and not in_ring(p, hole) for p in w))
    assert got == want and want


def test_invalid_polygons_are_refused(http, places):
    for points in ([[-180, -90], [180, -90], [180, 90], [-180, 90]], [[-180, -90], [180, -90], [-180, -90]]):
        r = http.post("/collections/places/points/scroll", json={"filter": {"must": [{"key": "loc", "geo_polygon": {
            "exterior": {"points": [{"lon": x, "lat": y} for x, y in points]}}}]}})
        assert r.status_code == 422 and "polygon invalid" in r.json()["status"]["error"], r.text
