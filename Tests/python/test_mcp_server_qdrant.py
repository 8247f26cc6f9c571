"""mcp-server-qdrant (PyPI, unmodified) against a real `hsdb serve`, through the MCP protocol
(fastmcp's in-memory client): its `qdrant-store` and `qdrant-find` tools, with filterable fields
of every type it knows (keyword, integer, boolean, each indexed by the server as it asks).
The embedding provider is a deterministic word hash that needs no model download; it keeps
FastEmbed's vector name for the server's default model, so the collection is created, written
and searched under a named vector exactly as with FastEmbed."""
import asyncio
import hashlib
import json
import math

import httpx
import pytest
from fastmcp import Client
from mcp_server_qdrant.embeddings.base import EmbeddingProvider
from mcp_server_qdrant.mcp_server import QdrantMCPServer
from mcp_server_qdrant.settings import FilterableField, QdrantSettings, ToolSettings

VECTOR_NAME = "fast-all-minilm-l6-v2"  # FastEmbedProvider's name for the default model
DIM = 64


class HashedWords(EmbeddingProvider):
    """Each word adds 1 to the dimension its SHA-256 picks; the sum is normalised."""

    def embed(self, text):
        v = [0.0] * DIM
        for word in text.lower().split():
            v[hashlib.sha256(word.strip(".,").encode()).digest()[0] % DIM] += 1.0
        n = math.sqrt(sum(x * x for x in v)) or 1.0
        return [x / n for x in v]

    async def embed_documents(self, documents):
        return [self.embed(d) for d in documents]

    async def embed_query(self, query):
        return self.embed(query)

    def get_vector_name(self):
        return VECTOR_NAME

    def get_vector_size(self):
        return DIM


MEMORIES = [
    ("the database backup runs every night at two", {"topic": "ops", "pinned": True, "year": 2026}),
    ("deploys go out on tuesday after the review", {"topic": "ops", "pinned": False, "year": 2025}),
    ("my favourite colour is green", {"topic": "personal", "pinned": True, "year": 2024}),
]


def texts(result):
    """The text parts of a tool result (a list in fastmcp 2.7, `.content` in later versions)."""
    return [c.text for c in getattr(result, "content", result)]


def found(result):
    """`qdrant-find`'s answer: its list of strings (sent as one JSON text), or [] for none."""
    parts = texts(result)
    return json.loads(parts[0]) if parts else []


def run_server(url, collection):
    settings = QdrantSettings(QDRANT_URL=url, COLLECTION_NAME=collection, filterable_fields=[
        FilterableField(name="topic", description="what it is about", field_type="keyword", condition="=="),
        FilterableField(name="pinned", description="kept on top", field_type="boolean", condition="=="),
        FilterableField(name="year", description="when", field_type="integer", condition=">="),
    ])
    return QdrantMCPServer(tool_settings=ToolSettings(), qdrant_settings=settings, embedding_provider=HashedWords())


def test_store_and_find_through_mcp(server):
    async def scenario():
        async with Client(run_server(server.url, "mcp-memories")) as mcp:
            for text, metadata in MEMORIES:
                stored = texts(await mcp.call_tool("qdrant-store", {"information": text, "metadata": metadata}))
                assert stored == [f"Remembered: {text} in collection mcp-memories"]
            everything = found(await mcp.call_tool("qdrant-find", {"query": "when does the database backup run"}))
            pinned = found(await mcp.call_tool("qdrant-find", {"query": "backup colour deploys", "pinned": True}))
            recent_ops = found(await mcp.call_tool("qdrant-find", {"query": "deploys backup", "topic": "ops", "year": 2026}))
            return everything, pinned, recent_ops

    everything, pinned, recent_ops = asyncio.run(scenario())
    assert everything[0] == "Results for the query 'when does the database backup run'"
    assert MEMORIES[0][0] in everything[1], "the closest memory comes first"
    assert len(everything) == 4
    assert sorted(MEMORIES[i][0] in " ".join(pinned) for i in range(3)) == [False, True, True]
    assert MEMORIES[1][0] not in " ".join(pinned)
    assert len(recent_ops) == 2 and MEMORIES[0][0] in recent_ops[1]

    # What the server made: one named vector, and the payload indexes mcp-server-qdrant asked for.
    info = httpx.get(f"{server.url}/collections/mcp-memories").json()["result"]
    assert list(info["config"]["params"]["vectors"]) == [VECTOR_NAME]
    assert info["points_count"] == 3
    assert {k: v["data_type"] for k, v in info["payload_schema"].items()} == {
        "metadata.topic": "keyword", "metadata.pinned": "bool", "metadata.year": "integer"}


def test_find_in_a_missing_collection_finds_nothing(server):
    async def scenario():
        async with Client(run_server(server.url, "mcp-never-written")) as mcp:
            return found(await mcp.call_tool("qdrant-find", {"query": "anything"}))

    assert asyncio.run(scenario()) in ([], None)
