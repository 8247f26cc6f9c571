"""Several named dense vectors per point (each with its own size and distance) beside sparse
ones, through the unmodified qdrant-client against a real `hsdb serve`: the config reported,
points carrying any subset, search by each vector, vectors read back by name, one vector updated
or deleted leaving the others, `has_vector`, recommendations, and all of it after a restart."""
import math
import random

import pytest
from qdrant_client import QdrantClient, models
from refusals import refused

DOT, COSINE, EUCLID = models.Distance.DOT, models.Distance.COSINE, models.Distance.EUCLID


def unit(v):
    n = math.sqrt(sum(x * x for x in v))
    return [x / n for x in v]


def create(client, name):
    client.create_collection(name, vectors_config={
        "image": models.VectorParams(size=4, distance=DOT),
        "text": models.VectorParams(size=8, distance=COSINE, hnsw_config=models.HnswConfigDiff(m=12)),
        "audio": models.VectorParams(size=3, distance=EUCLID)},
        sparse_vectors_config={"words": models.SparseVectorParams()})


def points(n, seed=3):
    rng = random.Random(seed)
    out = []
    for i in range(n):
        vector = {}
        if i % 4 != 0:
            vector["image"] = [rng.uniform(-1, 1) for _ in range(4)]
        if i % 3 != 0:
            vector["text"] = [rng.uniform(-1, 1) for _ in range(8)]
        if i % 2 == 0:
            vector["audio"] = [rng.uniform(-1, 1) for _ in range(3)]
        if i % 5 == 0:
            vector["words"] = models.SparseVector(indices=[i % 7], values=[1.0])
        out.append(models.PointStruct(id=i, vector=vector, payload={"i": i}))
    return out


def nearest(stored, name, query, distance, k):
    def score(v):
        if distance == COSINE:
            return sum(a * b for a, b in zip(unit(query), v))
        if distance == DOT:
            return sum(a * b for a, b in zip(query, v))
        return -math.dist(query, v)
    ranked = sorted((p for p in stored if name in p.vector), key=lambda p: (-score(stored_vector(p, name)), p.id))
    return [p.id for p in ranked[:k]]


def stored_vector(p, name):
    v = p.vector[name]
    return unit(v) if name == "text" else v


def test_each_vector_is_searched_by_its_own_distance(client):
    create(client, "several")
    stored = points(60)
    client.upsert("several", stored, wait=True)
    params = client.get_collection("several").config.params
    assert set(params.vectors) == {"image", "text", "audio"}
    assert params.vectors["image"].size == 4 and params.vectors["text"].distance == COSINE
    assert params.vectors["audio"].distance == EUCLID and set(params.sparse_vectors) == {"words"}
    rng = random.Random(9)
    for name, size, distance in (("image", 4, DOT), ("text", 8, COSINE), ("audio", 3, EUCLID)):
        for _ in range(3):
            q = [rng.uniform(-1, 1) for _ in range(size)]
            hits = client.query_points("several", query=q, using=name, limit=5).points
            assert [h.id for h in hits] == nearest(stored, name, q, distance, 5), name
    # Read back by name: exactly the vectors each point carries.
    got = {p.id: p for p in client.retrieve("several", [0, 1, 2, 5], with_vectors=True)}
    assert set(got[0].vector) == {"audio", "words"}
    assert set(got[1].vector) == {"image", "text"}
    assert got[1].vector["text"] == pytest.approx(unit(stored[1].vector["text"]), abs=1e-6)
    assert got[2].vector["audio"] == pytest.approx(stored[2].vector["audio"], abs=1e-6)
    only = client.retrieve("several", [1], with_vectors=["image"])[0]
    assert set(only.vector) == {"image"}
    # has_vector on each name.
    for name in ("image", "text", "audio", "words"):
        count = client.count("several", count_filter=models.Filter(must=[models.HasVectorCondition(has_vector=name)])).count
        assert count == sum(1 for p in stored if name in p.vector), name
    client.delete_collection("several")


def test_one_vector_changes_and_the_others_stay(client):
    create(client, "change")
    stored = points(12)
    client.upsert("change", stored, wait=True)
    client.update_vectors("change", [models.PointVectors(id=1, vector={"image": [1.0, 2.0, 3.0, 4.0]})])
    got = client.retrieve("change", [1], with_vectors=True)[0]
    assert got.vector["image"] == pytest.approx([1.0, 2.0, 3.0, 4.0])
    assert got.vector["text"] == pytest.approx(unit(stored[1].vector["text"]), abs=1e-6) and got.payload == {"i": 1}
    client.delete_vectors("change", vectors=["text"], points=[1, 2])
    got = {p.id: p for p in client.retrieve("change", [1, 2], with_vectors=True)}
    assert set(got[1].vector) == {"image"} and set(got[2].vector) == {"image", "audio"}
    hits = client.query_points("change", query=[0.1] * 8, using="text", limit=20).points
    assert 1 not in [h.id for h in hits] and 2 not in [h.id for h in hits]
    client.set_payload("change", {"tag": "x"}, points=[1], wait=True)
    assert set(client.retrieve("change", [1], with_vectors=True)[0].vector) == {"image"}
    # A recommendation compares the examples' vectors of the name it uses.
    rec = client.query_points("change", query=models.RecommendQuery(recommend=models.RecommendInput(positive=[5])), using="image",
                              limit=3).points
    assert 5 not in [h.id for h in rec] and len(rec) == 3
    client.delete_collection("change")


def test_names_and_sizes_are_checked(client):
    create(client, "checked")
    with refused() as e:
        client.upsert("checked", [models.PointStruct(id=1, vector={"video": [1.0]})])
    assert e.value.status_code == 400 and "Not existing vector name error: video" in e.value.content.decode()
    with refused() as e:
        client.upsert("checked", [models.PointStruct(id=1, vector={"image": [1.0, 2.0]})])
    assert e.value.status_code == 400 and "dimension" in e.value.content.decode()
    with refused() as e:
        client.query_points("checked", query=[1.0] * 4, using="video")
    assert e.value.status_code == 400 and "Not existing vector name error: video" in e.value.content.decode()
    with refused() as e:
        client.query_points("checked", query=[1.0] * 8, using="image")
    assert e.value.status_code == 400 and "expected dim: 4, got 8" in e.value.content.decode()
    assert client.count("checked").count == 0
    client.delete_collection("checked")


def test_several_vectors_survive_a_restart(fresh_server):
    s = fresh_server()
    c = QdrantClient(url=s.url, check_compatibility=False)
    create(c, "kept")
    stored = points(30)
    c.upsert("kept", stored, wait=True)
    before = c.query_points("kept", query=[0.5, -0.2, 0.1], using="audio", limit=5).points
    c.close()
    assert s.stop() == 0
    s2 = fresh_server(data=s.data_dir)
    c = QdrantClient(url=s2.url, check_compatibility=False)
    assert set(c.get_collection("kept").config.params.vectors) == {"image", "text", "audio"}
    after = c.query_points("kept", query=[0.5, -0.2, 0.1], using="audio", limit=5).points
    assert [(h.id, h.score) for h in after] == [(h.id, h.score) for h in before]
    assert set(c.retrieve("kept", [1], with_vectors=True)[0].vector) == {"image", "text"}
    c.close()


def max_sim(query, rows, distance):
    def sim(a, b):
        if distance == COSINE:
            return sum(x * y for x, y in zip(unit(a), unit(b)))
        if distance == DOT:
            return sum(x * y for x, y in zip(a, b))
        return -sum((x - y) ** 2 for x, y in zip(a, b))
    return sum(max(sim(q, r) for r in rows) for q in query)


@pytest.mark.parametrize("distance", [COSINE, DOT, EUCLID])
def test_multivectors_are_scored_by_max_sim(client, distance):
    name = f"colbert-{distance.value.lower()}"
    client.create_collection(name, vectors_config={
        "dense": models.VectorParams(size=2, distance=DOT),
        "colbert": models.VectorParams(size=3, distance=distance, multivector_config=models.MultiVectorConfig(
            comparator=models.MultiVectorComparator.MAX_SIM))})
    assert client.get_collection(name).config.params.vectors["colbert"].multivector_config.comparator == "max_sim"
    rng = random.Random(4)
    stored = {}
    points = []
    for i in range(40):
        vector = {"dense": [rng.uniform(-1, 1), rng.uniform(-1, 1)]}
        if i % 5 != 0:
            stored[i] = [[rng.uniform(-1, 1) for _ in range(3)] for _ in range(1 + i % 4)]
            vector["colbert"] = stored[i]
        points.append(models.PointStruct(id=i, vector=vector))
    client.upsert(name, points, wait=True)
    query = [[rng.uniform(-1, 1) for _ in range(3)] for _ in range(3)]
    hits = client.query_points(name, query=query, using="colbert", limit=6).points
    expected = sorted(stored, key=lambda i: (-max_sim(query, stored[i], distance), i))[:6]
    assert [h.id for h in hits] == expected
    best = max_sim(query, stored[hits[0].id], distance)
    # A Euclid MaxSim is reported as Qdrant reports it: the square root of its magnitude.
    assert hits[0].score == pytest.approx(math.sqrt(-best) if distance == EUCLID else best, abs=1e-4)
    got = client.retrieve(name, [1, 5], with_vectors=True)
    rows = got[0].vector["colbert"]
    assert len(rows) == 2 and rows[1] == pytest.approx(unit(stored[1][1]) if distance == COSINE else stored[1][1], abs=1e-5)
    assert "colbert" not in got[1].vector
    # One vector as the query is a multivector of one.
    one = client.query_points(name, query=query[0], using="colbert", limit=3).points
    assert [h.id for h in one] == sorted(stored, key=lambda i: (-max_sim(query[:1], stored[i], distance), i))[:3]
    with refused() as e:
        client.upsert(name, [models.PointStruct(id=100, vector={"colbert": [[1.0, 2.0, 3.0], [1.0]]})])
    assert e.value.status_code in (400, 422)
    assert client.count(name).count == 40
    client.delete_collection(name)


def test_several_vectors_through_segments_a_snapshot_and_a_backup(fresh_server, tmp_path):
    """Flushed (segment format 4, with lanes and a multivector lane) and unflushed (WAL
    version 4) points come back from a collection snapshot and from a backup restored with
    the CLI, and every vector searches the same."""
    import time
    from conftest import backup_and_restore
    data = str(tmp_path / "data")
    s = fresh_server("--memtable-mb", "1", data=data)
    c = QdrantClient(url=s.url, check_compatibility=False)
    c.create_collection("lanes", vectors_config={
        "image": models.VectorParams(size=4, distance=DOT), "text": models.VectorParams(size=8, distance=COSINE),
        "colbert": models.VectorParams(size=3, distance=DOT, multivector_config=models.MultiVectorConfig(
            comparator=models.MultiVectorComparator.MAX_SIM))})
    rng = random.Random(6)
    for start in range(0, 3000, 300):
        batch = []
        for i in range(start, start + 300):
            vector = {"text": [rng.uniform(-1, 1) for _ in range(8)]}
            if i % 3:
                vector["image"] = [rng.uniform(-1, 1) for _ in range(4)]
            if i % 4 == 1:
                vector["colbert"] = [[rng.uniform(-1, 1) for _ in range(3)] for _ in range(1 + i % 3)]
            batch.append(models.PointStruct(id=i, vector=vector, payload={"pad": "z" * 300}))
        c.upsert("lanes", batch, wait=True)
    deadline = time.monotonic() + 30
    while c.get_collection("lanes").segments_count == 0:  # the flush runs in the background
        assert time.monotonic() < deadline, "no flush"
        time.sleep(0.1)
    queries = [([0.2, -0.4, 0.6, 0.1], "image"), ([0.1] * 8, "text"), ([[0.3, -0.2, 0.5], [0.1, 0.1, -0.7]], "colbert")]

    def answers(client, name):
        return [[(h.id, round(h.score, 4)) for h in client.query_points(name, query=q, using=u, limit=15).points] for q, u in queries]

    want = answers(c, "lanes")
    assert all(len(a) == 15 for a in want)
    snap = c.create_snapshot("lanes")
    assert c.recover_snapshot("lanes-copy", location=f"file://{data}/snapshots/lanes/{snap.name}")
    assert answers(c, "lanes-copy") == want
    c.close()
    assert s.stop() == 0
    restored = backup_and_restore(data, tmp_path)
    s2 = fresh_server(data=restored)
    c = QdrantClient(url=s2.url, check_compatibility=False)
    assert answers(c, "lanes") == want
    assert set(c.retrieve("lanes", [1], with_vectors=True)[0].vector) == {"image", "text", "colbert"}
    c.close()


def test_an_unnamed_multivector_collection(client):
    """A collection whose one vector is an unnamed multivector (as Qdrant's
    `vectors: {"size": ..., "multivector_config": ...}` creates it): points and queries give
    lists of vectors, records return them the same way, recommendations work."""
    client.create_collection("mv-only", vectors_config=models.VectorParams(
        size=2, distance=DOT, multivector_config=models.MultiVectorConfig(comparator=models.MultiVectorComparator.MAX_SIM)))
    params = client.get_collection("mv-only").config.params.vectors
    assert params.size == 2 and params.multivector_config.comparator == "max_sim"
    rows = {1: [[1.0, 0.0]], 2: [[0.0, 1.0], [0.5, 0.5]], 3: [[-1.0, 0.0], [0.2, 0.1]]}
    client.upsert("mv-only", [models.PointStruct(id=i, vector=v) for i, v in rows.items()], wait=True)
    hits = client.query_points("mv-only", query=[[1.0, 0.0], [0.0, 1.0]], limit=3).points
    expected = sorted(rows, key=lambda i: (-max_sim([[1.0, 0.0], [0.0, 1.0]], rows[i], DOT), i))
    assert [h.id for h in hits] == expected
    assert client.retrieve("mv-only", [2], with_vectors=True)[0].vector == [[0.0, 1.0], [0.5, 0.5]]
    rec = client.query_points("mv-only", query=models.RecommendQuery(recommend=models.RecommendInput(positive=[1])), limit=2).points
    assert 1 not in [h.id for h in rec] and len(rec) == 2
    assert client.count("mv-only", count_filter=models.Filter(must=[models.HasVectorCondition(has_vector="")])).count == 3
    client.delete_collection("mv-only")
