"""Sparse vectors and hybrid queries against a real `hsdb serve`: the unmodified qdrant-client
(sparse search checked against an exact scorer written here, IDF by hand, RRF and DBSF fusion
of prefetches, re-scoring over prefetches, sparse vector updates and deletes, Qdrant's
refusals), LangChain's RetrievalMode.HYBRID and LlamaIndex's hybrid mode, each with a
deterministic sparse encoder that needs no model download."""
import hashlib
import math
import random
import time

import pytest
from qdrant_client import QdrantClient, models
from refusals import refused

DIM = 8


def words(text):
    """A word-count sparse vector: each word's index is a hash of it."""
    counts = {}
    for w in text.lower().split():
        i = int.from_bytes(hashlib.sha256(w.encode()).digest()[:4], "little") % 100_000
        counts[i] = counts.get(i, 0.0) + 1.0
    indices = sorted(counts)
    return indices, [counts[i] for i in indices]


@pytest.fixture()
def hybrid(client, request):
    name = request.node.name[:60]
    client.create_collection(
        name, vectors_config=models.VectorParams(size=DIM, distance=models.Distance.COSINE),
        sparse_vectors_config={"text": models.SparseVectorParams(), "bm25": models.SparseVectorParams(modifier=models.Modifier.IDF)})
    yield name
    client.delete_collection(name)


def corpus(n=120, seed=4):
    rng = random.Random(seed)
    points = []
    for i in range(n):
        sparse = {}
        for name in ("text", "bm25"):
            if (i + len(name)) % 5:
                indices = sorted(rng.sample(range(40), rng.randint(1, 6)))
                sparse[name] = (indices, [round(rng.uniform(0.1, 3), 3) for _ in indices])
        dense = [rng.uniform(-1, 1) for _ in range(DIM)]
        points.append((i, dense, sparse, {"g": i % 3}))
    return points


def upsert(client, name, points):
    client.upsert(name, [
        models.PointStruct(id=i, vector={"": dense, **{k: models.SparseVector(indices=ix, values=vs) for k, (ix, vs) in sparse.items()}},
                           payload=payload)
        for i, dense, sparse, payload in points], wait=True)


def exact_sparse(points, name, indices, values, idf=False, group=None):
    """Every point sharing an index with the query, by (IDF-weighted) dot product."""
    live = [p for p in points if group is None or p[3]["g"] == group]
    weights = dict(zip(indices, values))
    if idf:
        n = len(points)
        for i in weights:
            df = sum(1 for p in points if name in p[2] and i in p[2][name][0])
            weights[i] *= math.log(1 + (n - df + 0.5) / (df + 0.5))
    scores = {}
    for i, _, sparse, _ in live:
        if name not in sparse:
            continue
        shared = [x for x in sparse[name][0] if x in weights]
        if shared:
            scores[i] = sum(weights[x] * v for x, v in zip(*sparse[name]) if x in weights)
    return scores


def test_config_reports_sparse_vectors(client, hybrid):
    params = client.get_collection(hybrid).config.params
    assert set(params.sparse_vectors) == {"text", "bm25"}
    assert params.sparse_vectors["bm25"].modifier == models.Modifier.IDF
    assert params.vectors.size == DIM


@pytest.mark.parametrize("name,idf", [("text", False), ("bm25", True)])
def test_sparse_search_is_exact(client, hybrid, name, idf):
    points = corpus()
    upsert(client, hybrid, points)
    rng = random.Random(8)
    for _ in range(10):
        indices = sorted(rng.sample(range(40), 3))
        values = [1.0, 0.5, 2.0]
        group = rng.choice([None, 1])
        flt = None if group is None else models.Filter(must=[models.FieldCondition(key="g", match=models.MatchValue(value=group))])
        hits = client.query_points(hybrid, query=models.SparseVector(indices=indices, values=values), using=name,
                                   query_filter=flt, limit=200).points
        truth = exact_sparse(points, name, indices, values, idf, group)
        assert {h.id for h in hits} == set(truth) and len(truth) > 0
        for h in hits:
            assert h.score == pytest.approx(truth[h.id], rel=1e-4)
        assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_rrf_and_dbsf_fuse_the_prefetches(client, hybrid):
    points = corpus()
    upsert(client, hybrid, points)
    dense_q, sparse_q = points[10][1], models.SparseVector(indices=[1, 5, 9, 13], values=[1, 1, 1, 1])
    dense = client.query_points(hybrid, query=dense_q, limit=15).points
    sparse = client.query_points(hybrid, query=sparse_q, using="text", limit=15).points
    prefetch = [models.Prefetch(query=dense_q, limit=15), models.Prefetch(query=sparse_q, using="text", limit=15)]
    rrf = client.query_points(hybrid, prefetch=prefetch, query=models.FusionQuery(fusion=models.Fusion.RRF), limit=10).points
    expected = {}
    for hits in (dense, sparse):
        for rank, h in enumerate(hits, start=1):
            expected[h.id] = expected.get(h.id, 0) + 1 / (rank + 1)  # Qdrant's default k = 2: 1 / (rank + k - 1)
    best = sorted(expected.items(), key=lambda kv: (-kv[1], kv[0]))[:10]
    assert [h.id for h in rrf] == [i for i, _ in best]
    assert [h.score for h in rrf] == pytest.approx([s for _, s in best], rel=1e-5)

    dbsf = client.query_points(hybrid, prefetch=prefetch, query=models.FusionQuery(fusion=models.Fusion.DBSF), limit=10).points
    expected = {}
    for hits in (dense, sparse):
        scores = [h.score for h in hits]
        mean = sum(scores) / len(scores)
        sd = math.sqrt(sum((s - mean) ** 2 for s in scores) / (len(scores) - 1))  # sample sd, as Qdrant
        lo, hi = mean - 3 * sd, mean + 3 * sd
        for h in hits:
            expected[h.id] = expected.get(h.id, 0) + (h.score - lo) / (hi - lo)  # not clamped
    best = sorted(expected.items(), key=lambda kv: (-kv[1], kv[0]))[:10]
    assert [h.id for h in dbsf] == [i for i, _ in best]
    assert [h.score for h in dbsf] == pytest.approx([s for _, s in best], rel=1e-4)


def test_a_vector_rescores_its_prefetch(client, hybrid):
    points = corpus()
    upsert(client, hybrid, points)
    sparse_q = models.SparseVector(indices=[2, 3, 7], values=[1, 2, 1])
    candidates = {h.id for h in client.query_points(hybrid, query=sparse_q, using="text", limit=20).points}
    dense_q = points[3][1]
    hits = client.query_points(hybrid, prefetch=models.Prefetch(query=sparse_q, using="text", limit=20), query=dense_q, limit=5).points
    assert {h.id for h in hits} <= candidates and len(hits) == 5
    exact = client.query_points(hybrid, query=dense_q, limit=5, search_params=models.SearchParams(exact=True),
                                query_filter=models.Filter(must=[models.HasIdCondition(has_id=list(candidates))])).points
    assert [h.id for h in hits] == [h.id for h in exact]


def test_vectors_read_updated_and_deleted_by_name(client, hybrid):
    client.upsert(hybrid, [models.PointStruct(id=1, vector={"": [1.0] * DIM, "text": models.SparseVector(indices=[4, 2], values=[1, 2])},
                                              payload={"k": 1})])
    got = client.retrieve(hybrid, [1], with_vectors=True)[0]
    assert got.vector["text"] == models.SparseVector(indices=[2, 4], values=[2.0, 1.0])
    assert got.vector[""] == pytest.approx([1 / math.sqrt(DIM)] * DIM)
    only = client.retrieve(hybrid, [1], with_vectors=["text"])[0]
    assert set(only.vector) == {"text"}
    client.update_vectors(hybrid, [models.PointVectors(id=1, vector={"bm25": models.SparseVector(indices=[7], values=[3])})])
    got = client.retrieve(hybrid, [1], with_vectors=True)[0]
    assert set(got.vector) == {"", "text", "bm25"} and got.payload == {"k": 1}
    client.delete_vectors(hybrid, vectors=["text"], points=[1])
    got = client.retrieve(hybrid, [1], with_vectors=True)[0]
    assert set(got.vector) == {"", "bm25"}
    assert client.query_points(hybrid, query=models.SparseVector(indices=[2], values=[1]), using="text").points == []
    # The dense vector goes too; the point keeps its payload and its other vectors.
    client.delete_vectors(hybrid, vectors=[""], points=[1])
    got = client.retrieve(hybrid, [1], with_vectors=True)[0]
    assert got.vector == {"bm25": models.SparseVector(indices=[7], values=[3.0])} and got.payload == {"k": 1}
    assert client.query_points(hybrid, query=[1.0] * DIM, limit=10).points == []
    assert [p.id for p in client.query_points(hybrid, query=models.SparseVector(indices=[7], values=[1]), using="bm25").points] == [1]


@pytest.mark.parametrize("vector,status,why", [
    # Qdrant's own texts (its tests/openapi/test_sparse_validation.py).
    ({"": [0.0] * DIM, "text": {"indices": [1, 1], "values": [1, 2]}}, 422,
     "Validation error in JSON body: [points[0].vector.?.indices: Validation error: must be unique [{}]]"),
    ({"": [0.0] * DIM, "text": {"indices": [1], "values": [1, 2]}}, 422,
     "points[0].vector.?.values: Validation error: must be the same length as indices [{}]"),
    ({"": [0.0] * DIM, "text": {"indices": [-1], "values": [1]}}, 400, "unsigned 32-bit integer"),
    ({"": [0.0] * DIM, "text": {"indices": [1], "values": [1e39]}}, 400, "overflows"),
    ({"": [0.0] * DIM, "nope": {"indices": [1], "values": [1]}}, 400, "Not existing vector name error: nope"),
])
def test_bad_sparse_vectors_are_refused(http, client, hybrid, vector, status, why):
    r = http.put(f"/collections/{hybrid}/points", json={"points": [{"id": 1, "vector": vector}]})
    assert r.status_code == status, r.text
    assert why in r.json()["status"]["error"]
    assert client.count(hybrid).count == 0


def test_points_without_their_dense_vector(client, hybrid):
    """Points with only sparse vectors, or none (Qdrant's optional vectors): stored, read back
    as Qdrant writes them, scrolled, counted, found by sparse search, never by dense search;
    a query by such a point's id is refused; update_vectors gives one back."""
    rng = random.Random(8)
    dense = {i: [rng.uniform(-1, 1) for _ in range(DIM)] for i in range(0, 60, 2)}
    points = []
    for i in range(60):
        vector = {"text": models.SparseVector(indices=[i % 5, 10 + i % 3], values=[1.0, 0.5])} if i % 3 else {}
        if i in dense:
            vector[""] = dense[i]
        points.append(models.PointStruct(id=i, vector=vector, payload={"i": i}))
    client.upsert(hybrid, points, wait=True)
    assert client.count(hybrid).count == 60
    got = {p.id: p for p in client.retrieve(hybrid, [1, 2, 3, 6], with_vectors=True)}
    assert got[1].vector == {"text": models.SparseVector(indices=[1, 11], values=[1.0, 0.5])}
    assert got[3].vector == {}  # neither dense nor sparse
    assert set(got[2].vector) == {"", "text"} and got[6].vector == pytest.approx(normalized(dense[6]))  # "" alone: a list
    raw = client.http.points_api.get_point(hybrid, 3).result
    assert raw.vector == {} and raw.payload == {"i": 3}
    page, _ = client.scroll(hybrid, limit=100)
    assert [p.id for p in page] == list(range(60))
    for name, holders in (("", sorted(dense)), ("text", [i for i in range(60) if i % 3]), ("nope", [])):
        has = models.Filter(must=[models.HasVectorCondition(has_vector=name)])
        page, _ = client.scroll(hybrid, scroll_filter=has, limit=100)
        assert [p.id for p in page] == holders, name
        assert client.count(hybrid, count_filter=has).count == len(holders)
    lacking = models.Filter(must_not=[models.HasVectorCondition(has_vector="")])
    assert [p.id for p in client.scroll(hybrid, scroll_filter=lacking, limit=100)[0]] == [i for i in range(60) if i not in dense]
    q = [rng.uniform(-1, 1) for _ in range(DIM)]
    for exact in (False, True):
        hits = client.query_points(hybrid, query=q, limit=100, search_params=models.SearchParams(exact=exact)).points
        assert sorted(h.id for h in hits) == sorted(dense), exact
        norm = math.sqrt(sum(x * x for x in q))
        for h in hits:
            v = dense[h.id]
            assert h.score == pytest.approx(sum(a * b for a, b in zip(q, v)) / norm / math.sqrt(sum(x * x for x in v)), abs=1e-4)
    sparse_hits = client.query_points(hybrid, query=models.SparseVector(indices=[1], values=[1]), using="text", limit=100).points
    assert sorted(h.id for h in sparse_hits) == [i for i in range(60) if i % 3 and i % 5 == 1]
    with refused() as e:
        client.query_points(hybrid, query=1, limit=3)
    assert e.value.status_code == 400 and "point 1 has no dense vector" in str(e.value)
    client.update_vectors(hybrid, [models.PointVectors(id=1, vector={"": [1.0] * DIM})])
    assert set(client.retrieve(hybrid, [1], with_vectors=True)[0].vector) == {"", "text"}
    assert 1 in [h.id for h in client.query_points(hybrid, query=[1.0] * DIM, limit=100).points]


def normalized(v):
    n = math.sqrt(sum(x * x for x in v))
    return [x / n for x in v]


def test_sparse_vectors_survive_restart(fresh_server):
    s = fresh_server()
    c = QdrantClient(url=s.url, check_compatibility=False)
    c.create_collection("kept", vectors_config=models.VectorParams(size=2, distance=models.Distance.DOT),
                        sparse_vectors_config={"s": models.SparseVectorParams(modifier=models.Modifier.IDF)})
    c.upsert("kept", [models.PointStruct(id=i, vector={"": [1, 0], "s": models.SparseVector(indices=[i, 99], values=[1, 1])})
                      for i in range(5)], wait=True)
    c.close()
    assert s.stop() == 0
    s2 = fresh_server(data=s.data_dir)
    c = QdrantClient(url=s2.url, check_compatibility=False)
    assert c.get_collection("kept").config.params.sparse_vectors["s"].modifier == models.Modifier.IDF
    hits = c.query_points("kept", query=models.SparseVector(indices=[3], values=[1]), using="s").points
    assert [h.id for h in hits] == [3]
    assert hits[0].score == pytest.approx(math.log(1 + (5 - 1 + 0.5) / 1.5), rel=1e-5)
    c.close()


TEXTS = [
    "cats sleep most of the day",
    "the rust borrow checker rejects aliasing",
    "swift actors isolate mutable state",
    "dogs like long walks in the park",
    "vector databases answer nearest neighbour queries",
    "hnsw graphs make approximate search fast",
]


def test_langchain_hybrid_retrieval(server):
    from langchain_core.embeddings import DeterministicFakeEmbedding
    from langchain_qdrant import QdrantVectorStore, RetrievalMode
    from langchain_qdrant.sparse_embeddings import SparseEmbeddings, SparseVector

    class Words(SparseEmbeddings):
        def embed_documents(self, texts):
            return [SparseVector(indices=i, values=v) for i, v in map(words, texts)]

        def embed_query(self, text):
            i, v = words(text)
            return SparseVector(indices=i, values=v)

    store = QdrantVectorStore.from_texts(
        TEXTS, DeterministicFakeEmbedding(size=16), sparse_embedding=Words(), retrieval_mode=RetrievalMode.HYBRID,
        url=server.url, collection_name="langchain-hybrid", force_recreate=True,
        metadatas=[{"n": i} for i in range(len(TEXTS))])
    try:
        for text in TEXTS:
            assert store.similarity_search(text, k=1)[0].page_content == text
        # A query sharing words with one text only: the sparse prefetch ranks it first, so RRF
        # gives it at least the dense list's best score (1/61; LangChain prefetches k from each).
        for query, text in [("borrow checker", TEXTS[1]), ("sleep day cats", TEXTS[0])]:
            hits = store.similarity_search_with_score(query, k=3)
            assert text in [d.page_content for d, _ in hits[:2]], query
            score = dict((d.page_content, s) for d, s in hits)[text]
            assert score >= 1 / 61 - 1e-6 and score >= hits[1][1] - 1e-6
    finally:
        store.client.delete_collection("langchain-hybrid")


def test_llamaindex_hybrid_mode(server):
    from llama_index.core.schema import TextNode
    from llama_index.core.vector_stores import VectorStoreQuery
    from llama_index.vector_stores.qdrant import QdrantVectorStore

    def encode(texts):
        pairs = [words(t) for t in texts]
        return [p[0] for p in pairs], [p[1] for p in pairs]

    def embed(text):
        rng = random.Random(text)
        return [rng.uniform(-1, 1) for _ in range(16)]

    client = QdrantClient(url=server.url)
    if client.collection_exists("llama-hybrid"):
        client.delete_collection("llama-hybrid")
    store = QdrantVectorStore(client=client, collection_name="llama-hybrid", enable_hybrid=True,
                              sparse_doc_fn=encode, sparse_query_fn=encode)
    try:
        store.add([TextNode(text=t, id_=f"00000000-0000-0000-0000-{i:012d}", embedding=embed(t)) for i, t in enumerate(TEXTS)])
        info = client.get_collection("llama-hybrid").config.params
        assert list(info.vectors) == ["text-dense"] and list(info.sparse_vectors) == ["text-sparse-new"]
        for mode in ("hybrid", "sparse"):
            result = store.query(VectorStoreQuery(query_embedding=embed("rust borrow checker"), query_str="rust borrow checker",
                                                  similarity_top_k=2, sparse_top_k=2, mode=mode))
            assert result.nodes[0].get_content() == TEXTS[1], mode
    finally:
        client.delete_collection("llama-hybrid")
        client.close()


def test_sparse_vectors_through_a_snapshot_and_a_backup(fresh_server, tmp_path):
    """Flushed (segment format 2) and unflushed (WAL) sparse vectors come back from a
    collection snapshot and from a backup restored with the CLI, and search the same."""
    from conftest import backup_and_restore
    data = str(tmp_path / "data")
    s = fresh_server("--memtable-mb", "1", data=data)
    c = QdrantClient(url=s.url, check_compatibility=False)
    c.create_collection("sp", vectors_config=models.VectorParams(size=DIM, distance=models.Distance.DOT),
                        sparse_vectors_config={"bm25": models.SparseVectorParams(modifier=models.Modifier.IDF)})
    points = corpus(1500, seed=12)
    for i in range(0, len(points), 300):
        upsert(c, "sp", [(pid, d, {"bm25": sp["text"]} if "text" in sp else {}, {"pad": "y" * 800}) for pid, d, sp, _ in points[i:i + 300]])
    deadline = time.monotonic() + 30
    while c.get_collection("sp").segments_count == 0:  # the flush runs in the background
        assert time.monotonic() < deadline, "no flush"
        time.sleep(0.1)
    query = models.SparseVector(indices=[3, 8, 21], values=[1, 1, 1])
    want = [(h.id, h.score) for h in c.query_points("sp", query=query, using="bm25", limit=30).points]
    assert len(want) == 30
    snap = c.create_snapshot("sp")
    assert c.recover_snapshot("sp-copy", location=f"file://{data}/snapshots/sp/{snap.name}")
    assert [(h.id, h.score) for h in c.query_points("sp-copy", query=query, using="bm25", limit=30).points] == want
    c.close()
    assert s.stop() == 0
    restored = backup_and_restore(data, tmp_path)
    s2 = fresh_server(data=restored)
    c = QdrantClient(url=s2.url, check_compatibility=False)
    assert [(h.id, h.score) for h in c.query_points("sp", query=query, using="bm25", limit=30).points] == want
    c.close()


def test_fusion_over_a_named_dense_vector_as_the_readme_shows(client):
    """The README's hybrid example: the dense vector has a name and the fusion query names
    no vector (qdrant-client sends none), which Qdrant accepts."""
    rng = random.Random(2)
    client.create_collection("readme-hybrid", vectors_config={"dense": models.VectorParams(size=DIM, distance=models.Distance.COSINE)},
                             sparse_vectors_config={"bm25": models.SparseVectorParams(modifier=models.Modifier.IDF)})
    try:
        vs = [[rng.uniform(-1, 1) for _ in range(DIM)] for _ in range(10)]
        client.upsert("readme-hybrid", [models.PointStruct(id=i, vector={"dense": v, "bm25": models.SparseVector(indices=[i, 100], values=[1.0, 2.0])})
                                        for i, v in enumerate(vs)])
        hits = client.query_points("readme-hybrid", prefetch=[models.Prefetch(query=vs[4], using="dense", limit=5),
                                                              models.Prefetch(query=models.SparseVector(indices=[4], values=[1.0]), using="bm25", limit=5)],
                                   query=models.FusionQuery(fusion=models.Fusion.RRF), limit=3).points
        assert hits[0].id == 4 and hits[0].score == pytest.approx(2 / 2)  # first in both, k = 2: 1 / (1 + 2 - 1) each
        with refused() as e:  # a vector query still needs its name
            client.query_points("readme-hybrid", prefetch=[models.Prefetch(query=vs[4], using="dense")], query=vs[4])
        assert "Not existing vector name error: " in e.value.content.decode()
    finally:
        client.delete_collection("readme-hybrid")
