"""Haystack's QdrantDocumentStore and QdrantEmbeddingRetriever (qdrant-haystack), unmodified,
against a real `hsdb serve`, through their quickstart flow: write documents with metadata and
embeddings, count, filter (equality, numbers, an ISO datetime range), retrieve by embedding
with and without a filter, delete; with the sync and the async client. Embeddings are a
deterministic bag of words (no model download)."""
import asyncio

import pytest
from haystack import Document
from haystack_integrations.components.retrievers.qdrant import QdrantEmbeddingRetriever
from haystack_integrations.document_stores.qdrant import QdrantDocumentStore
from qdrant_client import QdrantClient

from conftest import connection

from test_llamaindex import DIM, TEXTS, bag_of_words

DATES = ["2019-03-01T00:00:00", "2021-06-15T12:00:00", "2023-01-01T00:00:00",
         "2020-11-30T08:30:00", "2024-02-29T23:59:59", "2022-07-04T00:00:00"]


def documents():
    return [Document(id=f"doc-{i}", content=t, embedding=bag_of_words(t), meta={"topic": topic, "year": year, "date": DATES[i]})
            for i, (t, topic, year) in enumerate(TEXTS)]


@pytest.fixture()
def store(server, transport):
    s = QdrantDocumentStore(**connection(server, transport), index="haystack", embedding_dim=DIM, recreate_index=True,
                            return_embedding=True, wait_result_from_api=True, similarity="cosine")
    yield s
    client = QdrantClient(url=server.url)
    client.delete_collection("haystack")
    client.close()


def test_write_count_and_retrieve_each_document(store):
    assert store.write_documents(documents()) == len(TEXTS)
    assert store.count_documents() == len(TEXTS)
    retriever = QdrantEmbeddingRetriever(document_store=store, top_k=2, return_embedding=True)
    for i, (text, topic, year) in enumerate(TEXTS):
        top, second = retriever.run(query_embedding=bag_of_words(text))["documents"]
        assert (top.id, top.content, top.meta) == (f"doc-{i}", text, {"topic": topic, "year": year, "date": DATES[i]})
        assert top.score == pytest.approx(1.0, abs=1e-4) and second.score < top.score
        assert top.embedding == pytest.approx(bag_of_words(text), abs=1e-6)


def test_filters_on_keywords_numbers_and_iso_dates(store):
    store.write_documents(documents())
    code = store.filter_documents(filters={"field": "meta.topic", "operator": "==", "value": "code"})
    assert sorted(d.meta["year"] for d in code) == [2021, 2023]
    recent = store.filter_documents(filters={"operator": "AND", "conditions": [
        {"field": "meta.year", "operator": ">=", "value": 2021},
        {"field": "meta.topic", "operator": "!=", "value": "db"}]})
    assert sorted(d.meta["year"] for d in recent) == [2021, 2023]
    # Haystack sends ISO date strings as Qdrant datetime ranges.
    dated = store.filter_documents(filters={"operator": "AND", "conditions": [
        {"field": "meta.date", "operator": ">=", "value": "2021-01-01T00:00:00"},
        {"field": "meta.date", "operator": "<", "value": "2023-06-01T00:00:00"}]})
    assert sorted(d.id for d in dated) == ["doc-1", "doc-2", "doc-5"]
    retriever = QdrantEmbeddingRetriever(document_store=store, top_k=6)
    pets = retriever.run(query_embedding=bag_of_words("swift actors"),
                         filters={"field": "meta.topic", "operator": "in", "value": ["pets"]})["documents"]
    assert sorted(d.id for d in pets) == ["doc-0", "doc-3"]


def test_delete_documents(store):
    store.write_documents(documents())
    store.delete_documents(["doc-0", "doc-4"])
    assert store.count_documents() == len(TEXTS) - 2
    assert sorted(d.id for d in store.filter_documents()) == ["doc-1", "doc-2", "doc-3", "doc-5"]


def test_the_async_client_writes_and_retrieves(store):
    async def flow():
        assert await store.write_documents_async(documents()) == len(TEXTS)
        assert await store.count_documents_async() == len(TEXTS)
        found = await store._query_by_embedding_async(query_embedding=bag_of_words(TEXTS[4][0]), top_k=1)
        assert found[0].id == "doc-4"
        await store.delete_documents_async(["doc-4"])
        assert await store.count_documents_async() == len(TEXTS) - 1
    asyncio.run(flow())


def test_group_by_keeps_the_best_documents_of_each_topic(store):
    """The retriever's `group_by` (Qdrant's query/groups): the best `group_size` documents of
    each of the `top_k` best topics, best topic first."""
    store.write_documents(documents())
    query = bag_of_words(TEXTS[3][0])
    retriever = QdrantEmbeddingRetriever(document_store=store, top_k=2, group_by="meta.topic", group_size=1)
    docs = retriever.run(query_embedding=query)["documents"]
    assert [d.id for d in docs][0] == "doc-3"
    assert len(docs) == 2 and len({d.meta["topic"] for d in docs}) == 2
    both = QdrantEmbeddingRetriever(document_store=store, top_k=3, group_by="meta.topic", group_size=2).run(query_embedding=query)
    assert sorted(d.id for d in both["documents"]) == [f"doc-{i}" for i in range(6)]
