"""LangChain's QdrantVectorStore, unmodified, against a real `hsdb serve`."""
import uuid

import pytest
from langchain_core.embeddings import DeterministicFakeEmbedding
from langchain_qdrant import QdrantVectorStore
from qdrant_client import models

from conftest import connection

TEXTS = [
    "cats sleep most of the day",
    "the rust borrow checker rejects aliasing",
    "swift actors isolate mutable state",
    "dogs like long walks",
    "vector databases answer nearest neighbour queries",
    "hnsw graphs make search logarithmic",
]
METADATAS = [{"topic": "pets", "n": 0}, {"topic": "code", "n": 1}, {"topic": "code", "n": 2},
             {"topic": "pets", "n": 3}, {"topic": "db", "n": 4}, {"topic": "db", "n": 5}]


@pytest.fixture()
def store(server, transport):
    embeddings = DeterministicFakeEmbedding(size=32)
    s = QdrantVectorStore.from_texts(
        TEXTS, embeddings, metadatas=METADATAS, **connection(server, transport), collection_name="langchain", force_recreate=True)
    yield s
    s.client.delete_collection("langchain")


def test_similarity_search_finds_the_same_text(store):
    for text in TEXTS:
        assert store.similarity_search(text, k=1)[0].page_content == text


def test_similarity_search_with_filter(store):
    f = models.Filter(must=[models.FieldCondition(key="metadata.topic", match=models.MatchValue(value="pets"))])
    docs = store.similarity_search(TEXTS[1], k=6, filter=f)
    assert sorted(d.metadata["n"] for d in docs) == [0, 3]


def test_similarity_search_with_score(store):
    hits = store.similarity_search_with_score(TEXTS[4], k=3)
    assert hits[0][0].page_content == TEXTS[4] and hits[0][1] == pytest.approx(1.0, abs=1e-5)
    assert [s for _, s in hits] == sorted((s for _, s in hits), reverse=True)


def test_max_marginal_relevance_search(store):
    docs = store.max_marginal_relevance_search(TEXTS[2], k=3, fetch_k=6, lambda_mult=0.5)
    assert len(docs) == 3 and docs[0].page_content == TEXTS[2]
    assert len({d.page_content for d in docs}) == 3


def test_get_by_ids_and_delete(store):
    ids = store.add_texts(["a freshly added text"], metadatas=[{"topic": "new"}])
    got = store.get_by_ids(ids)
    assert [d.page_content for d in got] == ["a freshly added text"] and got[0].metadata["topic"] == "new"
    assert uuid.UUID(got[0].metadata["_id"]) == uuid.UUID(ids[0])  # sent as 32 hex digits, returned hyphenated
    assert store.delete(ids) is True
    assert store.get_by_ids(ids) == []


def test_reconnect_to_existing_collection(server, transport, store):
    again = QdrantVectorStore.from_existing_collection(
        embedding=DeterministicFakeEmbedding(size=32), collection_name="langchain", **connection(server, transport))
    assert again.similarity_search(TEXTS[0], k=1)[0].page_content == TEXTS[0]


def test_a_named_vector_as_vector_name_creates_it(server, transport):
    """`vector_name` makes LangChain create, write and search the collection's vector by name
    (and MMR reads the vectors back by that name)."""
    s = QdrantVectorStore.from_texts(
        TEXTS, DeterministicFakeEmbedding(size=32), metadatas=METADATAS, **connection(server, transport),
        collection_name="langchain-named", vector_name="text-dense", force_recreate=True)
    try:
        assert list(s.client.get_collection("langchain-named").config.params.vectors) == ["text-dense"]
        for text in TEXTS:
            assert s.similarity_search(text, k=1)[0].page_content == text
        docs = s.max_marginal_relevance_search(TEXTS[2], k=3, fetch_k=6, lambda_mult=0.5)
        assert len(docs) == 3 and docs[0].page_content == TEXTS[2]
        # Opening the existing collection checks its vector's name and size, as against Qdrant.
        again = QdrantVectorStore.from_existing_collection(
            embedding=DeterministicFakeEmbedding(size=32), collection_name="langchain-named", **connection(server, transport),
            vector_name="text-dense")
        assert again.similarity_search(TEXTS[5], k=1)[0].page_content == TEXTS[5]
    finally:
        s.client.delete_collection("langchain-named")
