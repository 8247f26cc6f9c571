"""Strict mode through the unmodified qdrant-client against a real `hsdb serve`: set at
creation and changed by PATCH (kept across a restart), its limits enforced with Qdrant's
texts, the limits hsdb does not enforce refused; the read and write rate limits counted per
request as Qdrant counts them."""
import uuid

import pytest
from qdrant_client import QdrantClient, models
from qdrant_client.http.exceptions import UnexpectedResponse


def refused(call):
    with pytest.raises(UnexpectedResponse) as e:
        call()
    return e.value.status_code, e.value.content.decode()


def test_strict_mode_limits_requests_and_survives_a_restart(fresh_server):
    s = fresh_server()
    c = QdrantClient(url=s.url, check_compatibility=False)
    c.create_collection("strict", vectors_config=models.VectorParams(size=2, distance=models.Distance.DOT),
                        strict_mode_config=models.StrictModeConfig(enabled=True, max_query_limit=5, upsert_max_batchsize=3))
    c.upsert("strict", [models.PointStruct(id=i, vector=[1, i], payload={"city": "Berlin" if i % 2 else "Rome", "n": i})
                        for i in range(3)])
    assert len(c.query_points("strict", query=[1, 0], limit=5).points) == 3
    status, text = refused(lambda: c.query_points("strict", query=[1, 0], limit=6))
    assert status == 400 and 'Limit exceeded 6 > 5 for \\"limit\\"' in text and "Help: Reduce" in text
    status, text = refused(lambda: c.upsert("strict", [models.PointStruct(id=10 + i, vector=[0, 1]) for i in range(4)]))
    assert status == 400 and 'for \\"upsert limit\\"' in text
    assert c.count("strict").count == 3
    # PATCH: more limits over the ones set; the collection reports them all.
    c.update_collection("strict", strict_mode_config=models.StrictModeConfig(
        unindexed_filtering_retrieve=False, search_allow_exact=False, max_points_count=4))
    reported = c.get_collection("strict").config.strict_mode_config
    assert reported.enabled and reported.max_query_limit == 5 and reported.unindexed_filtering_retrieve is False
    city = models.Filter(must=[models.FieldCondition(key="city", match=models.MatchValue(value="Rome"))])
    status, text = refused(lambda: c.query_points("strict", query=[1, 0], query_filter=city, limit=3))
    assert status == 400 and 'Index required but not found for \\"city\\" of one of the following types: [keyword]' in text
    status, text = refused(lambda: c.scroll("strict", scroll_filter=city, limit=3))
    assert status == 400 and "city" in text
    c.create_payload_index("strict", "city", models.PayloadSchemaType.KEYWORD)
    assert [p.id for p in c.query_points("strict", query=[1, 0], query_filter=city, limit=3).points] == [0, 2]
    status, text = refused(lambda: c.query_points("strict", query=[1, 0], search_params=models.SearchParams(exact=True), limit=3))
    assert status == 400 and "Exact search disabled!" in text
    c.upsert("strict", [models.PointStruct(id=3, vector=[1, 1])])
    status, text = refused(lambda: c.upsert("strict", [models.PointStruct(id=4, vector=[1, 1])]))
    assert status == 400 and "Max points count limit of 4 reached!" in text
    # Limits hsdb does not enforce are refused, not ignored.
    status, text = refused(lambda: c.update_collection("strict", strict_mode_config=models.StrictModeConfig(
        max_collection_payload_size_bytes=1000)))
    assert status == 400 and "max_collection_payload_size_bytes" in text and "not supported" in text
    c.close()
    assert s.stop() == 0
    s2 = fresh_server(data=s.data_dir)
    c = QdrantClient(url=s2.url, check_compatibility=False)
    assert c.get_collection("strict").config.strict_mode_config.max_points_count == 4
    status, _ = refused(lambda: c.query_points("strict", query=[1, 0], limit=6))
    assert status == 400
    # Turned off: nothing is limited.
    c.update_collection("strict", strict_mode_config=models.StrictModeConfig(enabled=False))
    assert len(c.query_points("strict", query=[1, 0], limit=6).points) == 4
    c.close()


def patch_strict(http, name, config):
    r = http.patch(f"/collections/{name}", json={"strict_mode_config": config})
    assert r.status_code == 200, r.text


def spend_until_refused(send, most=50):
    """Sends until the first refusal; returns how many passed and the refusal."""
    for passed in range(most):
        r = send()
        if r.status_code != 200:
            return passed, r
    raise AssertionError(f"{most} requests passed")


@pytest.fixture()
def small(http):
    """A collection of 10 points, 4 dimensions, payload {"city": ..., "n": i}."""
    name = f"strict_{uuid.uuid4().hex[:8]}"
    assert http.put(f"/collections/{name}", json={"vectors": {"size": 4, "distance": "Dot"}}).status_code == 200
    points = [{"id": i, "vector": [1, i, 0, 0], "payload": {"city": "Berlin" if i < 4 else "Rome", "n": i}} for i in range(10)]
    assert http.put(f"/collections/{name}/points?wait=true", json={"points": points}).status_code == 200
    yield name
    http.delete(f"/collections/{name}")


def test_read_rate_limit_counts_vectors_filter_conditions_and_ids(http, small):
    patch_strict(http, small, {"enabled": True, "read_rate_limit": 10})
    # A search costs one token: ten pass, the eleventh is refused until the bucket refills.
    passed, r = spend_until_refused(lambda: http.post(f"/collections/{small}/points/query", json={"query": [1, 0, 0, 0]}))
    assert passed == 10 and r.status_code == 429
    assert "Rate limiting exceeded: Read rate limit exceeded: Operation requires 1 tokens but only 0.0 were available" in r.json()["status"]["error"]
    assert 5 < int(r.headers["retry-after"]) <= 6  # 10 a minute: one token every 6 seconds
    # A PATCH makes a full bucket; a scroll costs 1 + its conditions, a retrieve one per id.
    patch_strict(http, small, {"read_rate_limit": 10})
    city = {"must": [{"key": "city", "match": {"value": "Rome"}}, {"key": "n", "range": {"gte": 1}}]}
    passed, r = spend_until_refused(lambda: http.post(f"/collections/{small}/points/scroll", json={"filter": city}))
    assert passed == 3 and "Operation requires 3 tokens but only 1.0 were available" in r.json()["status"]["error"]
    patch_strict(http, small, {"read_rate_limit": 4})
    r = http.post(f"/collections/{small}/points", json={"ids": [1, 2, 3, 4, 5]})
    assert r.status_code == 429 and "request larger than rate limiter capacity" in r.json()["status"]["error"]
    assert "retry-after" not in r.headers
    assert http.post(f"/collections/{small}/points", json={"ids": [1, 2, 3]}).status_code == 200
    # Recommending by best score compares every example: five cost more than the bucket holds.
    recommend = {"query": {"recommend": {"positive": [1, 2, 3, 4, 5], "strategy": "best_score"}}}
    r = http.post(f"/collections/{small}/points/query", json=recommend)
    assert r.status_code == 429 and "request larger than rate limiter capacity" in r.json()["status"]["error"]
    # Turned off, nothing is counted.
    patch_strict(http, small, {"enabled": False})
    assert all(http.post(f"/collections/{small}/points/query", json={"query": [1, 0, 0, 0]}).status_code == 200 for _ in range(12))


def test_write_rate_limit_counts_points_and_estimates_filters(http, small):
    patch_strict(http, small, {"enabled": True, "write_rate_limit": 10})
    upsert = lambda ids: http.put(f"/collections/{small}/points", json={"points": [{"id": i, "vector": [0, 1, 0, 0]} for i in ids]})
    r = upsert(range(100, 111))
    assert r.status_code == 429 and "Write rate limit exceeded, request larger than rate limiter capacity" in r.json()["status"]["error"]
    assert upsert(range(100, 107)).status_code == 200
    r = upsert(range(107, 111))
    assert r.status_code == 429 and "Operation requires 4 tokens but only 3.0 were available" in r.json()["status"]["error"]
    # A filter on an unindexed field is estimated at half the collection (Qdrant's guess: 8
    # of 17); one an index serves counts its matches (4 of Berlin).
    patch_strict(http, small, {"write_rate_limit": 8})
    set_payload = lambda: http.post(f"/collections/{small}/points/payload",
                                    json={"payload": {"x": 1}, "filter": {"must": [{"key": "city", "match": {"value": "Berlin"}}]}})
    passed, r = spend_until_refused(set_payload)
    assert passed == 1 and "Operation requires 8 tokens but only 0.0" in r.json()["status"]["error"]
    assert http.put(f"/collections/{small}/index?wait=true", json={"field_name": "city", "field_schema": "keyword"}).status_code == 200
    patch_strict(http, small, {"write_rate_limit": 8})
    passed, r = spend_until_refused(set_payload)
    assert passed == 2 and "Operation requires 4 tokens but only 0.0" in r.json()["status"]["error"]


def test_unset_limits_stay_and_zero_is_refused(http, small):
    patch_strict(http, small, {"enabled": True, "write_rate_limit": 1, "max_query_limit": 3})
    patch_strict(http, small, {"write_rate_limit": None, "max_query_limit": None, "read_rate_limit": 2})
    config = http.get(f"/collections/{small}").json()["result"]["config"]["strict_mode_config"]
    assert config["write_rate_limit"] == 1 and config["max_query_limit"] == 3 and config["read_rate_limit"] == 2
    r = http.patch(f"/collections/{small}", json={"strict_mode_config": {"read_rate_limit": 0}})
    assert r.status_code == 422 and "read_rate_limit" in r.text


def test_size_and_vector_length_limits(http):
    name = f"strict_{uuid.uuid4().hex[:8]}"
    assert http.put(f"/collections/{name}", json={
        "vectors": {"d": {"size": 4, "distance": "Dot"}, "m": {"size": 2, "distance": "Dot", "multivector_config": {"comparator": "max_sim"}}},
        "sparse_vectors": {"s": {}}}).status_code == 200
    try:
        patch_strict(http, name, {"enabled": True, "max_collection_vector_size_bytes": 5 * 24,
                                  "sparse_config": {"s": {"max_length": 2}}, "multivector_config": {"m": {"max_vectors": 2}}})
        point = lambda i, m=1, s=1: {"id": i, "vector": {"d": [1, 0, 0, 0], "m": [[1, 0]] * m,
                                                          "s": {"indices": list(range(s)), "values": [1.0] * s}}}
        r = http.put(f"/collections/{name}/points", json={"points": [point(1, m=3)]})
        assert r.status_code == 400 and "Multivector 'm' has a limit of 2 vectors, but 3 were provided!" in r.text
        r = http.put(f"/collections/{name}/points", json={"points": [point(1, s=3)]})
        assert r.status_code == 400 and "Sparse vector 's' has a limit of 2 indices, but 3 were provided!" in r.text
        # 24 bytes a point (4 + 2 dimensions of 4 bytes): the write that reaches 120 passes, the next is refused.
        assert http.put(f"/collections/{name}/points", json={"points": [point(i) for i in range(4)]}).status_code == 200
        assert http.put(f"/collections/{name}/points", json={"points": [point(i) for i in range(4, 8)]}).status_code == 200
        r = http.put(f"/collections/{name}/points", json={"points": [point(9)]})
        assert r.status_code == 400 and "Max vector storage size limit of" in r.text
    finally:
        http.delete(f"/collections/{name}")


def test_index_capabilities_groups_and_matrix(http, small):
    patch_strict(http, small, {"enabled": True, "unindexed_filtering_retrieve": False, "max_query_limit": 15})
    scroll = lambda f: http.post(f"/collections/{small}/points/scroll", json={"filter": f})
    # An integer index without `lookup` answers ranges, not matches; any index serves values_count.
    assert http.put(f"/collections/{small}/index?wait=true",
                    json={"field_name": "n", "field_schema": {"type": "integer", "lookup": False}}).status_code == 200
    assert scroll({"must": [{"key": "n", "range": {"gte": 1}}]}).status_code == 200
    assert scroll({"must": [{"key": "n", "values_count": {"gte": 1}}]}).status_code == 200
    r = scroll({"must": [{"key": "n", "match": {"value": 1}}]})
    assert r.status_code == 400 and 'for \\"n\\" of one of the following types: [integer]' in r.text
    assert scroll({"must": [{"key": "n", "match": {"any": []}}]}).status_code == 200  # matches nothing, needs nothing
    # Groups count limit x group_size, and want an index that answers `match` on the field.
    group = lambda: http.post(f"/collections/{small}/points/query/groups", json={"query": [1, 0, 0, 0], "group_by": "city", "limit": 2, "group_size": 3})
    r = group()
    assert r.status_code == 400 and 'Index required but not found for \\"city\\"' in r.text
    assert http.put(f"/collections/{small}/index?wait=true", json={"field_name": "city", "field_schema": "text"}).status_code == 200
    r = group()
    assert r.status_code == 400 and 'Index of type \\"Text\\" found for \\"city\\"' in r.text
    assert http.put(f"/collections/{small}/index?wait=true", json={"field_name": "city", "field_schema": "keyword"}).status_code == 200
    assert group().status_code == 200
    r = http.post(f"/collections/{small}/points/query/groups", json={"query": [1, 0, 0, 0], "group_by": "city", "limit": 4, "group_size": 4})
    assert r.status_code == 400 and 'Limit exceeded 16 > 15 for \\"limit\\"' in r.text
    r = http.post(f"/collections/{small}/points/search/matrix/pairs", json={"sample": 4, "limit": 4})
    assert r.status_code == 400 and 'Limit exceeded 16 > 15 for \\"limit\\"' in r.text
