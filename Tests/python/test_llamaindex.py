"""LlamaIndex's QdrantVectorStore (llama-index-vector-stores-qdrant), unmodified, against a
real `hsdb serve`, through its quickstart flow: add nodes with metadata, query with and
without a metadata filter, get, delete; with the sync and the async client. The embedding is
a deterministic bag of words (no model download), so the nearest text is the one that shares
the most words with the query."""
import asyncio
import hashlib
import math

import pytest
from llama_index.core import StorageContext, VectorStoreIndex
from llama_index.core.embeddings import BaseEmbedding
from llama_index.core.schema import TextNode
from llama_index.core.vector_stores import ExactMatchFilter, MetadataFilters, VectorStoreQuery
from llama_index.vector_stores.qdrant import QdrantVectorStore
from qdrant_client import AsyncQdrantClient, QdrantClient

from conftest import connection

DIM = 64
TEXTS = [
    ("cats sleep most of the day", "pets", 2019),
    ("the rust borrow checker rejects aliasing", "code", 2021),
    ("swift actors isolate mutable state", "code", 2023),
    ("dogs like long walks in the park", "pets", 2020),
    ("vector databases answer nearest neighbour queries", "db", 2024),
    ("hnsw graphs make approximate search fast", "db", 2022),
]


def bag_of_words(text):
    v = [0.0] * DIM
    for word in text.lower().split():
        v[int.from_bytes(hashlib.sha256(word.encode()).digest()[:4], "little") % DIM] += 1.0
    norm = math.sqrt(sum(x * x for x in v)) or 1.0
    return [x / norm for x in v]


class BagOfWords(BaseEmbedding):
    def _get_text_embedding(self, text):
        return bag_of_words(text)

    def _get_query_embedding(self, query):
        return bag_of_words(query)

    async def _aget_query_embedding(self, query):
        return bag_of_words(query)


def nodes():
    return [TextNode(text=t, id_=f"00000000-0000-0000-0000-{i:012d}", metadata={"topic": topic, "year": year})
            for i, (t, topic, year) in enumerate(TEXTS)]


@pytest.fixture()
def store(server, transport):
    client, aclient = QdrantClient(**connection(server, transport)), AsyncQdrantClient(**connection(server, transport))
    if client.collection_exists("llamaindex"):
        client.delete_collection("llamaindex")
    yield QdrantVectorStore(client=client, aclient=aclient, collection_name="llamaindex")
    client.delete_collection("llamaindex")
    client.close()
    asyncio.run(aclient.close())


def test_the_index_finds_each_text_by_its_own_words(store):
    index = VectorStoreIndex(nodes(), storage_context=StorageContext.from_defaults(vector_store=store),
                             embed_model=BagOfWords())
    retriever = index.as_retriever(similarity_top_k=2)
    for text, topic, year in TEXTS:
        # (LlamaIndex embeds a node's metadata with its text, so even the same text scores < 1.)
        top, second = retriever.retrieve(text)
        assert top.node.get_content() == text and top.node.metadata == {"topic": topic, "year": year}
        assert 0 < second.score < top.score <= 1
    assert store.client.count("llamaindex").count == len(TEXTS)


def test_a_metadata_filter_narrows_the_query(store):
    VectorStoreIndex(nodes(), storage_context=StorageContext.from_defaults(vector_store=store), embed_model=BagOfWords())
    query = VectorStoreQuery(query_embedding=bag_of_words("cats sleep"), similarity_top_k=6,
                             filters=MetadataFilters(filters=[ExactMatchFilter(key="topic", value="code")]))
    result = store.query(query)
    assert sorted(n.metadata["year"] for n in result.nodes) == [2021, 2023]
    assert all(n.metadata["topic"] == "code" for n in result.nodes)


def test_get_and_delete_nodes(store):
    all_nodes = nodes()
    store.add([n for n in all_nodes if setattr(n, "embedding", bag_of_words(n.text)) is None])
    got = store.get_nodes(node_ids=[all_nodes[0].node_id, all_nodes[4].node_id])
    assert sorted(n.get_content() for n in got) == sorted([TEXTS[0][0], TEXTS[4][0]])
    store.delete_nodes(node_ids=[all_nodes[0].node_id])
    assert store.client.count("llamaindex").count == len(TEXTS) - 1
    assert [n.get_content() for n in store.get_nodes(node_ids=[all_nodes[0].node_id])] == []


def test_the_async_client_adds_and_queries(store):
    async def flow():
        all_nodes = nodes()
        for n in all_nodes:
            n.embedding = bag_of_words(n.text)
        ids = await store.async_add(all_nodes)
        assert len(ids) == len(TEXTS)
        result = await store.aquery(VectorStoreQuery(query_embedding=bag_of_words("dogs like walks"), similarity_top_k=1))
        assert result.nodes[0].get_content() == TEXTS[3][0]
        await store.adelete_nodes(node_ids=[all_nodes[3].node_id])
        result = await store.aquery(VectorStoreQuery(query_embedding=bag_of_words("dogs like walks"), similarity_top_k=1))
        assert result.nodes[0].get_content() != TEXTS[3][0]
    asyncio.run(flow())
