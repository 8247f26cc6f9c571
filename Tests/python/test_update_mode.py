"""Upsert's `update_mode` (insert_only, update_only) and `update_filter` (conditional
replacement) through the unmodified qdrant-client and raw HTTP against a real `hsdb serve`."""
import pytest
from qdrant_client import models


@pytest.fixture()
def versions(client):
    client.create_collection("versions", vectors_config=models.VectorParams(size=2, distance=models.Distance.DOT))
    client.upsert("versions", [models.PointStruct(id=i, vector=[1, 0], payload={"version": i}) for i in range(1, 6)], wait=True)
    yield "versions"
    client.delete_collection("versions")


def payloads(client):
    return {p.id: p.payload for p in client.scroll("versions", limit=100)[0]}


def test_insert_only_and_update_only(client, http, versions):
    new = lambda i, v: {"id": i, "vector": [0, 1], "payload": {"version": v}}
    r = http.put("/collections/versions/points?wait=true", json={"points": [new(1, 100), new(10, 100)], "update_mode": "insert_only"})
    assert r.status_code == 200, r.text
    assert payloads(client)[1] == {"version": 1} and payloads(client)[10] == {"version": 100}
    r = http.put("/collections/versions/points?wait=true", json={"points": [new(2, 200), new(11, 200)], "update_mode": "update_only"})
    assert r.status_code == 200, r.text
    got = payloads(client)
    assert got[2] == {"version": 200} and 11 not in got
    r = http.put("/collections/versions/points?wait=true", json={"points": [new(3, 1)], "update_mode": "sometimes"})
    assert r.status_code == 400 and "unknown variant `sometimes`" in r.text


def test_update_filter_replaces_only_matching_points(client, versions):
    client.upsert("versions", [models.PointStruct(id=i, vector=[0, 1], payload={"version": 50}) for i in (2, 4, 20)], wait=True,
                  update_filter=models.Filter(must=[models.FieldCondition(key="version", range=models.Range(lt=3))]))
    got = payloads(client)
    assert got[2] == {"version": 50} and got[4] == {"version": 4} and got[20] == {"version": 50}


def test_update_filter_on_vector_updates(client, http, versions):
    r = http.put("/collections/versions/points/vectors?wait=true", json={
        "points": [{"id": 1, "vector": [5, 5]}, {"id": 4, "vector": [5, 5]}],
        "update_filter": {"must": {"key": "version", "range": {"lt": 3}}}})
    assert r.status_code == 200, r.text
    got = {p.id: p.vector for p in client.retrieve("versions", [1, 4], with_vectors=True)}
    assert got == {1: [5.0, 5.0], 4: [1.0, 0.0]}
    r = http.put("/collections/versions/points/vectors?wait=true", json={
        "points": [{"id": 4, "vector": [6, 6]}], "update_filter": {"must": {"key": "version", "match": {"value": 99}}}})
    assert r.status_code == 200, r.text
    assert client.retrieve("versions", [4], with_vectors=True)[0].vector == [1.0, 0.0]
