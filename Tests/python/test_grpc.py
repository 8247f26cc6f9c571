"""Qdrant's gRPC API on the gRPC port, through the real qdrant-client with prefer_grpc=True
(and raw grpc calls for what a client would not send): the collections flows answer as the
REST API does, errors carry Qdrant's gRPC status and the REST message, and bad input or a
missing API key changes nothing and leaves the server up."""
import os

import grpc
import httpx
import pytest
from qdrant_client import QdrantClient, models
from qdrant_client import grpc as qgrpc


def clients(s, **kw):
    # The client's version check runs on REST in a thread of its own, which a short test's
    # server may outlive no longer (it is REST's concern, tested there).
    kw = {"timeout": 10, "check_compatibility": False, **kw}
    g = QdrantClient(host="127.0.0.1", port=s.port, grpc_port=s.grpc_port, prefer_grpc=True, **kw)
    r = QdrantClient(url=s.url, **kw)
    return g, r


def collection_names(client):
    return sorted(c.name for c in client.get_collections().collections)


def test_collections_through_grpc_equal_rest(fresh_server):
    s = fresh_server()
    g, r = clients(s)
    assert g.info().version == r.info().version and g.info().title == r.info().title
    assert collection_names(g) == []
    g.create_collection(
        "single", vectors_config=models.VectorParams(size=8, distance=models.Distance.DOT, on_disk=True),
        hnsw_config=models.HnswConfigDiff(m=8, ef_construct=64), wal_config=models.WalConfigDiff(wal_capacity_mb=32),
        optimizers_config=models.OptimizersConfigDiff(deleted_threshold=0.3))
    g.create_collection(
        "named", vectors_config={"a": models.VectorParams(size=4, distance=models.Distance.COSINE),
                                 "b": models.VectorParams(size=3, distance=models.Distance.EUCLID)},
        sparse_vectors_config={"s": models.SparseVectorParams(modifier=models.Modifier.IDF)})
    r.create_payload_index("single", "tag", models.PayloadSchemaType.KEYWORD, wait=True)
    assert collection_names(g) == collection_names(r) == ["named", "single"]
    assert g.collection_exists("single") and not g.collection_exists("absent")
    for name in ("single", "named"):
        got, want = g.get_collection(name), r.get_collection(name)
        assert got.config.params.vectors == want.config.params.vectors
        assert got.config.hnsw_config == want.config.hnsw_config
        for key in ("wal_capacity_mb", "wal_segments_ahead"):
            assert getattr(got.config.wal_config, key) == getattr(want.config.wal_config, key)
        assert got.config.optimizer_config.deleted_threshold == want.config.optimizer_config.deleted_threshold
        assert got.status == want.status and got.points_count == want.points_count
        assert {k: v.data_type for k, v in got.payload_schema.items()} == {k: v.data_type for k, v in want.payload_schema.items()}
    assert g.get_collection("named").config.params.sparse_vectors["s"].modifier == models.Modifier.IDF
    assert g.get_collection("single").config.hnsw_config.m == 8
    assert g.delete_collection("named") is True
    assert collection_names(r) == ["single"]


def test_errors_carry_qdrants_status_and_the_rest_message(fresh_server):
    s = fresh_server()
    g, r = clients(s)
    g.create_collection("c", vectors_config=models.VectorParams(size=4, distance=models.Distance.COSINE))
    cases = [
        (lambda: g.create_collection("c", vectors_config=models.VectorParams(size=4, distance=models.Distance.COSINE)),
         grpc.StatusCode.ALREADY_EXISTS, "PUT", "/collections/c", {"vectors": {"size": 4, "distance": "Cosine"}}),
        (lambda: g.get_collection("absent"), grpc.StatusCode.NOT_FOUND, "GET", "/collections/absent", None),
        (lambda: g.create_collection("z", vectors_config=models.VectorParams(size=0, distance=models.Distance.COSINE)),
         grpc.StatusCode.INVALID_ARGUMENT, "PUT", "/collections/z", {"vectors": {"size": 0, "distance": "Cosine"}}),
        (lambda: g.upsert("c", [models.PointStruct(id=1, vector=[1, 0, 0])]),  # a wrong dimension
         grpc.StatusCode.INVALID_ARGUMENT, "PUT", "/collections/c/points", {"points": [{"id": 1, "vector": [1, 0, 0]}]}),
        (lambda: g.upsert("absent", [models.PointStruct(id=1, vector=[1, 0, 0, 0])]),
         grpc.StatusCode.NOT_FOUND, "PUT", "/collections/absent/points", {"points": [{"id": 1, "vector": [1, 0, 0, 0]}]}),
        (lambda: g.query_points("c", query=[1, 0, 0, 0], using="other"),
         grpc.StatusCode.INVALID_ARGUMENT, "POST", "/collections/c/points/query", {"query": [1, 0, 0, 0], "using": "other"}),
    ]
    for call, code, method, path, body in cases:
        with pytest.raises(grpc.RpcError) as e:
            call()
        assert e.value.code() == code, e.value
        rest = httpx.request(method, s.url + path, json=body)
        assert e.value.details() == rest.json()["status"]["error"]
    # A setting this server's contract does not declare (here a field numbered 99) is
    # refused, not ignored; a method it does not declare is UNIMPLEMENTED. Neither changes anything.
    channel = grpc.insecure_channel(f"127.0.0.1:{s.grpc_port}")
    create = channel.unary_unary("/qdrant.Collections/Create", request_serializer=lambda b: b, response_deserializer=lambda b: b)
    with pytest.raises(grpc.RpcError) as e:
        create(b"\x0a\x01q" + b"\x98\x06\x01", timeout=10)
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "CreateCollection sets a field hsdb does not support" in e.value.details()
    undeclared = channel.unary_unary("/qdrant.Points/CreateVectorName", request_serializer=lambda b: b, response_deserializer=lambda b: b)
    with pytest.raises(grpc.RpcError) as e:
        undeclared(b"\x0a\x01c", timeout=10)
    assert e.value.code() == grpc.StatusCode.UNIMPLEMENTED
    channel.close()
    assert collection_names(r) == ["c"] and r.count("c").count == 0


def test_malformed_and_oversized_messages_change_nothing(fresh_server):
    s = fresh_server("--max-body-bytes", "65536")
    g, r = clients(s)
    g.create_collection("c", vectors_config=models.VectorParams(size=4, distance=models.Distance.COSINE))
    channel = grpc.insecure_channel(f"127.0.0.1:{s.grpc_port}")
    raw = channel.unary_unary("/qdrant.Collections/Delete", request_serializer=lambda b: b, response_deserializer=lambda b: b)
    for garbage in (os.urandom(64), b"\xff" * 17, b"\x0a\xff\xff\xff\xff\x0f"):
        with pytest.raises(grpc.RpcError) as e:
            raw(garbage, timeout=10)
        assert e.value.code() in (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.INTERNAL), e.value
    # Over the limit: grpc-swift's transport resets the stream (the client sees CANCELLED;
    # Qdrant answers OUT_OF_RANGE): refused before it is decoded, so "c" is not deleted.
    with pytest.raises(grpc.RpcError) as e:
        raw(b"\x0a\x01c" + b"\x92\x01" + b"\x00" * 70000, timeout=10)
    assert e.value.code() in (grpc.StatusCode.CANCELLED, grpc.StatusCode.RESOURCE_EXHAUSTED), e.value
    channel.close()
    assert collection_names(g) == ["c"] and r.collection_exists("c")


def test_the_api_key_is_required_as_on_rest(fresh_server):
    s = fresh_server("--api-key", "secret")
    anonymous = QdrantClient(host="127.0.0.1", port=s.port, grpc_port=s.grpc_port, prefer_grpc=True, timeout=10,
                             check_compatibility=False)
    assert anonymous.info().version  # the health check is open, as REST's root
    with pytest.raises(grpc.RpcError) as e:
        anonymous.get_collections()
    assert e.value.code() == grpc.StatusCode.UNAUTHENTICATED
    channel = grpc.insecure_channel(f"127.0.0.1:{s.grpc_port}")
    stub = qgrpc.CollectionsStub(channel)
    with pytest.raises(grpc.RpcError) as e:
        stub.List(qgrpc.ListCollectionsRequest(), metadata=[("api-key", "wrong")], timeout=10)
    assert e.value.code() == grpc.StatusCode.PERMISSION_DENIED
    channel.close()
    keyed = QdrantClient(host="127.0.0.1", port=s.port, grpc_port=s.grpc_port, prefer_grpc=True, api_key="secret",
                         https=False, timeout=10, check_compatibility=False)
    keyed.create_collection("k", vectors_config=models.VectorParams(size=2, distance=models.Distance.DOT))
    assert collection_names(keyed) == ["k"]


def test_the_readme_grpc_snippet_runs_as_written(fresh_server):
    s = fresh_server()
    readme = open(os.path.join(os.path.dirname(__file__), "..", "..", "README.md")).read()
    code = readme.split("gRPC (port 6334", 1)[1].split("```python\n", 1)[1].split("```", 1)[0]
    code = code.replace("port=6333", f"port={s.port}").replace("grpc_port=6334", f"grpc_port={s.grpc_port}")
    exec(code, {"QdrantClient": QdrantClient, "models": models})
    rest = QdrantClient(url=s.url, check_compatibility=False)
    assert rest.get_collection("docs").config.params.vectors.size == 384
    assert rest.retrieve("docs", [1])[0].payload == {"lang": "en"}


def test_grpc_calls_are_counted_as_grpc_not_rest(fresh_server):
    s = fresh_server()
    g, _ = clients(s)
    for _ in range(3):
        g.get_collections()
    with pytest.raises(grpc.RpcError):
        g.get_collection("absent")
    telemetry = httpx.get(s.url + "/telemetry?details_level=1").json()["result"]["requests"]
    grpc_responses = telemetry["grpc"]["responses"]
    assert grpc_responses["/qdrant.Collections/List"]["0"]["count"] == 3
    assert grpc_responses["/qdrant.Collections/Get"]["5"]["count"] == 1  # NOT_FOUND
    assert "GET /collections" not in telemetry["rest"]["responses"]
    metrics = httpx.get(s.url + "/metrics").text
    assert 'grpc_responses_total{endpoint="/qdrant.Collections/List",status="0"} 3' in metrics
    assert 'grpc_responses_fail_total{endpoint="/qdrant.Collections/Get",status="5"} 1' in metrics
