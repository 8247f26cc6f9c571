"""Strict mode through the unmodified qdrant-client against a real `hsdb serve`: set at
creation and changed by PATCH (kept across a restart), its limits enforced with Qdrant's
texts, the limits hsdb does not enforce refused."""
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
    assert status == 400 and 'Index required but not found for \\"city\\" of one of the following types: [keyword, uuid]' in text
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
    status, text = refused(lambda: c.update_collection("strict", strict_mode_config=models.StrictModeConfig(read_rate_limit=10)))
    assert status == 400 and "read_rate_limit" in text and "not supported" in text
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
