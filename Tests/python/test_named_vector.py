"""A collection whose one dense vector has a name (`vectors_config={"name": ...}`), as
mcp-server-qdrant and LangChain's `vector_name` create it, through the unmodified qdrant-client;
and the bool, uuid and datetime payload indexes."""
import math
import random

import pytest
from qdrant_client import QdrantClient, models
from refusals import refused

NAME = "fast-bge-small-en"
DIM = 8


def unit(v):
    n = math.sqrt(sum(x * x for x in v))
    return [x / n for x in v]


def vectors(n, seed=11):
    rng = random.Random(seed)
    return [[rng.uniform(-1, 1) for _ in range(DIM)] for _ in range(n)]


@pytest.fixture()
def named(client, request):
    name = request.node.name[:60]
    client.create_collection(name, vectors_config={NAME: models.VectorParams(size=DIM, distance=models.Distance.COSINE)})
    yield name
    client.delete_collection(name)


def refusal(call):
    with refused() as e:
        call()
    return e.value.status_code, e.value.content.decode()


def test_config_reports_the_name(client, named):
    params = client.get_collection(named).config.params.vectors
    assert list(params) == [NAME]
    assert params[NAME].size == DIM and params[NAME].distance == models.Distance.COSINE


def test_points_are_written_searched_and_read_under_the_name(client, named):
    vs = vectors(40)
    client.upsert(named, [models.PointStruct(id=i, vector={NAME: v}, payload={"i": i}) for i, v in enumerate(vs[:30])])
    client.upsert(named, models.Batch(ids=list(range(30, 40)), vectors={NAME: vs[30:]}))
    assert client.count(named).count == 40
    hits = client.query_points(named, query=vs[33], using=NAME, limit=3, with_vectors=True).points
    assert hits[0].id == 33 and hits[0].score == pytest.approx(1.0, abs=1e-5)
    assert list(hits[0].vector) == [NAME] and hits[0].vector[NAME] == pytest.approx(unit(vs[33]), abs=1e-6)
    # By point id, under the name; the point itself is left out, as Qdrant does.
    assert client.query_points(named, query=7, using=NAME, limit=1).points[0].id != 7
    got = client.retrieve(named, [5], with_vectors=[NAME])[0]
    assert got.vector[NAME] == pytest.approx(unit(vs[5]), abs=1e-6) and got.payload == {"i": 5}
    page, _ = client.scroll(named, limit=2, with_vectors=True)
    assert [list(p.vector) for p in page] == [[NAME], [NAME]]


def test_legacy_search_takes_a_named_vector(client, named, http):
    vs = vectors(10, seed=3)
    client.upsert(named, [models.PointStruct(id=i, vector={NAME: v}) for i, v in enumerate(vs)], wait=True)
    r = http.post(f"/collections/{named}/points/search", json={"vector": {"name": NAME, "vector": vs[4]}, "limit": 1})
    assert r.status_code == 200 and r.json()["result"][0]["id"] == 4
    r = http.post(f"/collections/{named}/points/search", json={"vector": {"name": "other", "vector": vs[4]}, "limit": 1})
    assert r.status_code == 400
    assert r.json()["status"]["error"] == "Wrong input: Not existing vector name error: other"


def test_update_vectors_by_name(client, named):
    client.upsert(named, [models.PointStruct(id=1, vector={NAME: [1.0] + [0.0] * (DIM - 1)}, payload={"k": "v"})])
    client.update_vectors(named, [models.PointVectors(id=1, vector={NAME: [0.0, 2.0] + [0.0] * (DIM - 2)})])
    got = client.retrieve(named, [1], with_vectors=True)[0]
    assert got.vector[NAME] == pytest.approx([0.0, 1.0] + [0.0] * (DIM - 2)) and got.payload == {"k": "v"}


def test_wrong_names_are_refused_as_qdrant_refuses_them(client, named):
    v = vectors(1)[0]
    status, text = refusal(lambda: client.upsert(named, [models.PointStruct(id=1, vector={"other": v})]))
    assert status == 400 and "Not existing vector name error: other" in text
    status, text = refusal(lambda: client.upsert(named, [models.PointStruct(id=1, vector=v)]))
    assert status == 400 and "Not existing vector name error: " in text
    status, text = refusal(lambda: client.query_points(named, query=v))  # no `using`: the default vector ""
    assert status == 400 and "Not existing vector name error: " in text
    status, text = refusal(lambda: client.query_points(named, query=v, using="other"))
    assert status == 400 and "Not existing vector name error: other" in text
    assert client.count(named).count == 0


def test_the_name_survives_a_restart(fresh_server):
    s = fresh_server()
    c = QdrantClient(url=s.url, check_compatibility=False)
    c.create_collection("kept", vectors_config={NAME: models.VectorParams(size=DIM, distance=models.Distance.DOT)})
    c.upsert("kept", [models.PointStruct(id=1, vector={NAME: vectors(1)[0]})], wait=True)
    c.close()
    assert s.stop() == 0
    s2 = fresh_server(data=s.data_dir)
    c = QdrantClient(url=s2.url, check_compatibility=False)
    assert list(c.get_collection("kept").config.params.vectors) == [NAME]
    assert list(c.retrieve("kept", [1], with_vectors=True)[0].vector) == [NAME]
    c.close()


@pytest.mark.parametrize("schema,values,match,expected", [
    (models.PayloadSchemaType.BOOL, [True, False, True, None], models.MatchValue(value=True), 2),
    (models.PayloadSchemaType.UUID, ["7c9e6679-7425-40de-944b-e07fc1f90ae7", "16fd2706-8baf-433b-82eb-8c7fada847da", "x", None],
     models.MatchValue(value="16fd2706-8baf-433b-82eb-8c7fada847da"), 1),
    (models.PayloadSchemaType.DATETIME, ["2026-12-01T10:00:00Z", "2026-12-03T10:00:00+02:00", "2026-12-05T00:00:00Z", "later"],
     models.DatetimeRange(gte="2026-12-02T00:00:00Z", lt="2026-12-04T00:00:00Z"), 1),
])
def test_bool_uuid_and_datetime_indexes(client, named, schema, values, match, expected):
    points = [models.PointStruct(id=i, vector={NAME: v}, payload={} if values[i] is None else {"f": values[i]})
              for i, v in enumerate(vectors(len(values)))]
    client.upsert(named, points)
    assert client.create_payload_index(named, field_name="f", field_schema=schema).status == models.UpdateStatus.COMPLETED
    info = client.get_collection(named).payload_schema["f"]
    assert info.data_type == schema
    condition = models.FieldCondition(key="f", range=match) if isinstance(match, models.DatetimeRange) \
        else models.FieldCondition(key="f", match=match)
    assert client.count(named, count_filter=models.Filter(must=[condition])).count == expected
    hits = client.query_points(named, query=vectors(1, seed=5)[0], using=NAME, query_filter=models.Filter(must=[condition])).points
    assert len(hits) == expected


def test_scroll_order_by_an_indexed_field(client, named, http):
    points = [models.PointStruct(id=i, vector={NAME: v}, payload={"n": (i * 37) % 11, "at": f"2026-12-{1 + i % 9:02d}T00:00:00Z"})
              for i, v in enumerate(vectors(20))]
    client.upsert(named, points)
    status, text = refusal(lambda: client.scroll(named, order_by="n"))
    assert status == 400 and "No range index for `order_by` key `n`" in text
    client.create_payload_index(named, field_name="n", field_schema=models.PayloadSchemaType.INTEGER)
    client.create_payload_index(named, field_name="at", field_schema=models.PayloadSchemaType.DATETIME)
    records, offset = client.scroll(named, limit=6, order_by=models.OrderBy(key="n", direction=models.Direction.DESC, start_from=8))
    expected = sorted(((p.payload["n"], p.id) for p in points if p.payload["n"] <= 8), key=lambda t: (-t[0], t[1]))[:6]
    assert [(r.order_value, r.id) for r in records] == expected and offset is None
    records, _ = client.scroll(named, limit=3, order_by="at", scroll_filter=models.Filter(
        must=[models.FieldCondition(key="n", range=models.Range(gte=5))]))
    expected = sorted((p.payload["at"], p.id) for p in points if p.payload["n"] >= 5)[:3]
    assert [r.id for r in records] == [i for _, i in expected]
    r = http.post(f"/collections/{named}/points/scroll", json={"order_by": "n", "offset": 3})
    assert r.status_code == 400 and "offset" in r.json()["status"]["error"]


def test_recommend_by_average_vector(client, named, http):
    vs = vectors(30, seed=8)
    client.upsert(named, [models.PointStruct(id=i, vector={NAME: v}) for i, v in enumerate(vs)])
    u = [unit(v) for v in vs]  # cosine vectors are stored normalised
    target = [2 * (a + b) / 2 - c for a, b, c in zip(u[1], u[2], u[3])]
    expected = [h.id for h in client.query_points(named, query=target, using=NAME, limit=8).points if h.id not in (1, 2, 3)][:5]
    got = client.query_points(named, query=models.RecommendQuery(recommend=models.RecommendInput(positive=[1, 2], negative=[3])),
                              using=NAME, limit=5).points
    assert [h.id for h in got] == expected
    legacy = http.post(f"/collections/{named}/points/recommend", json={"positive": [1, 2], "negative": [3], "using": NAME, "limit": 5})
    assert legacy.status_code == 200 and [p["id"] for p in legacy.json()["result"]] == expected
    # A vector as an example, without negatives: the nearest to it.
    got = client.query_points(named, query=models.RecommendQuery(recommend=models.RecommendInput(positive=[vs[7]])), using=NAME, limit=1).points
    assert got[0].id == 7
    status, text = refusal(lambda: client.query_points(
        named, query=models.RecommendQuery(recommend=models.RecommendInput(positive=[999])), using=NAME))
    assert status == 404 and "999" in text


def test_full_text_index_changes_text_match_to_words(client, named):
    texts = ["The quick brown fox", "a brown dog sleeps", "brownish fox", "Quick thinking"]
    client.upsert(named, [models.PointStruct(id=i, vector={NAME: v}, payload={"t": texts[i % 4]}) for i, v in enumerate(vectors(8))])

    def count(match):
        return client.count(named, count_filter=models.Filter(must=[models.FieldCondition(key="t", match=match)])).count
    assert count(models.MatchText(text="brown")) == 6  # a substring without an index
    client.create_payload_index(named, field_name="t", field_schema=models.TextIndexParams(
        type=models.TextIndexType.TEXT, tokenizer=models.TokenizerType.WORD, lowercase=True))
    assert client.get_collection(named).payload_schema["t"].data_type == models.PayloadSchemaType.TEXT
    assert count(models.MatchText(text="brown")) == 4  # words, as Qdrant does with a text index
    assert count(models.MatchText(text="quick FOX")) == 2
    assert count(models.MatchTextAny(text_any="dog thinking")) == 4
    assert count(models.MatchPhrase(phrase="brown fox")) == 2
    with refused() as e:
        client.create_payload_index(named, field_name="u", field_schema=models.TextIndexParams(
            type=models.TextIndexType.TEXT, tokenizer=models.TokenizerType.PREFIX))
    assert e.value.status_code == 400 and "tokenizer" in e.value.content.decode()
