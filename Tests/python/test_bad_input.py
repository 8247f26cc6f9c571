"""Bad input over HTTP: each request gets a clear 4xx in Qdrant's error envelope and changes
nothing (the stored data's digest is the same before and after)."""
import hashlib
import json

import httpx
import pytest

DIM = 4


def digest(http):
    """Every collection, with every point's id, vector and payload."""
    h = hashlib.sha256()
    names = sorted(c["name"] for c in http.get("/collections").json()["result"]["collections"])
    for name in names:
        h.update(name.encode())
        offset = None
        while True:
            body = {"limit": 100, "with_payload": True, "with_vector": True}
            if offset is not None:
                body["offset"] = offset
            page = http.post(f"/collections/{name}/points/scroll", json=body).json()["result"]
            h.update(json.dumps(page["points"], sort_keys=True).encode())
            offset = page["next_page_offset"]
            if offset is None:
                break
    return h.hexdigest()


@pytest.fixture()
def coll(http):
    http.delete("/collections/bad")
    assert http.put("/collections/bad", json={"vectors": {"size": DIM, "distance": "Dot"}}).status_code == 200
    r = http.put("/collections/bad/points?wait=true", json={"points": [
        {"id": 1, "vector": [1, 0, 0, 0], "payload": {"a": 1}},
        {"id": 2, "vector": [0, 1, 0, 0]}]})
    assert r.status_code == 200
    yield "bad"
    http.delete("/collections/bad")


def refused(http, method, path, status=400, contains=None, **kwargs):
    before = digest(http)
    r = http.request(method, path, **kwargs)
    assert r.status_code in (status if isinstance(status, tuple) else (status,)), r.text
    body = r.json()
    assert isinstance(body["status"]["error"], str) and body["status"]["error"]
    assert "time" in body and "result" not in body
    if contains:
        assert contains in body["status"]["error"], body["status"]["error"]
    assert digest(http) == before, "a refused request changed the data"
    return body["status"]["error"]


UPSERT = "/collections/bad/points?wait=true"


@pytest.mark.parametrize("content", [
    b"{", b"", b"[1, 2]", b"\"points\"", b"nul", b"{\"points\": [}", b"{\"points\": []} trailing",
    b"{\"points\": [{\"id\": 3, \"vector\": [NaN, 0, 0, 0]}]}",
    b"{\"points\": [{\"id\": 3, \"vector\": [Infinity, 0, 0, 0]}]}",
    b"{\"points\": [{\"id\": 3, \"vector\": [1e400, 0, 0, 0]}]}",
    b"\xff\xfe{}",
    b"{\"points\": [{\"id\": 3, \"vector\": [1, 0, 0, 0], \"payload\": {\"s\": \"\xc3\x28\"}}]}",
    b"[" * 5000 + b"]" * 5000,
])
def test_malformed_json(http, coll, content):
    refused(http, "PUT", UPSERT, content=content, headers={"content-type": "application/json"})


@pytest.mark.parametrize("point,why", [
    ({"id": 3, "vector": "1,2,3,4"}, "expected an array"),
    ({"id": True, "vector": [1, 0, 0, 0]}, "point id"),
    ({"id": -1, "vector": [1, 0, 0, 0]}, "point id"),
    ({"id": 1.5, "vector": [1, 0, 0, 0]}, "point id"),
    ({"id": "not-a-uuid", "vector": [1, 0, 0, 0]}, "not a valid point id"),
    ({"id": "123", "vector": [1, 0, 0, 0]}, "not a valid point id"),
    ({"id": 3, "vector": [1, 0, 0]}, "dimension"),
    ({"id": 3, "vector": [1, 0, 0, 0, 0]}, "dimension"),
    ({"id": 3, "vector": [1e39, 0, 0, 0]}, "overflows"),
    ({"id": 3, "vector": [1e38, 1e38, 1e38, 1e38]}, "sum of its squares overflows"),
    ({"id": 3, "vector": [1, "x", 0, 0]}, "expected a number"),
    ({"id": 3, "vector": [1, 0, 0, 0], "payload": [1, 2]}, "payload"),
    ({"id": 3, "vector": [1, 0, 0, 0], "payload": "text"}, "payload"),
    ({"id": 3}, "missing field `vector`"),
    ({"vector": [1, 0, 0, 0]}, "missing field `id`"),
    ({"id": 3, "vector": {"other": [1, 0, 0, 0]}}, "Not existing vector name"),
    ({"id": 3, "vector": {"indices": [1], "values": [0.5]}}, "sparse"),
    ({"id": 3, "vector": [[1, 0, 0, 0]]}, "multivectors"),
])
def test_bad_point_refuses_whole_batch(http, coll, point, why):
    good = {"id": 10, "vector": [0, 0, 1, 0]}
    refused(http, "PUT", UPSERT, json={"points": [good, point, {"id": 11, "vector": [0, 0, 0, 1]}]}, contains=why)


@pytest.mark.parametrize("body,why", [
    ({"batch": {"ids": [5, 6], "vectors": [[1, 0, 0, 0]]}}, "same length"),
    ({"batch": {"ids": [5], "vectors": [[1, 0, 0, 0]], "payloads": [1]}}, "payload"),
    ({"nothing": []}, "expected `points`"),
    ({"points": {"id": 1}}, "expected an array"),
])
def test_bad_upsert_shapes(http, coll, body, why):
    refused(http, "PUT", UPSERT, json=body, contains=why)


@pytest.mark.parametrize("path,body,why", [
    ("/collections/bad/points/query", {"query": [1, 0]}, "dimension"),
    ("/collections/bad/points/query", {"query": [1, 0, 0, 0], "limit": -1}, "non-negative integer"),
    ("/collections/bad/points/query", {"query": [1, 0, 0, 0], "limit": 2.5}, "non-negative integer"),
    ("/collections/bad/points/query", {"query": {"sample": "everything"}}, "unknown variant"),
    ("/collections/bad/points/query", {"query": [1, 0, 0, 0], "params": {"idf": {"corpus": {}}}}, "params.idf applies only to a sparse vector"),
    ("/collections/bad/points/query", {"query": {"recommend": {"positive": [1], "strategy": "worst_score"}}}, "unknown variant `worst_score`"),
    ("/collections/bad/points/query", {"query": [1, 0, 0, 0], "filter": {"must": [{"key": "a", "geo_radius": {}}]}}, "missing field `radius`"),
    ("/collections/bad/points/query", {"query": [1, 0, 0, 0], "filter": {"bogus": []}}, "unknown filter clause"),
    ("/collections/bad/points/query", {"query": [1, 0, 0, 0], "filter": {"must": [{"key": "a", "range": {"gt": "x"}}]}}, "is not a datetime"),
    ("/collections/bad/points/query", {"query": [1, 0, 0, 0], "filter": {"must": [{"key": "a", "range": {"gt": "2024-01-01", "lt": 3}}]}}, "a datetime string"),
    ("/collections/bad/points/query", {"query": [1, 0, 0, 0], "using": "img"}, "Not existing vector name"),
    ("/collections/bad/points/scroll", {"offset": -4}, "point id"),
    ("/collections/bad/points/scroll", {"with_payload": 3}, "with_payload"),
    ("/collections/bad/points/delete", {"points": ["nope"]}, "not a valid point id"),
    ("/collections/bad/points/delete", {}, "expected `points`"),
    ("/collections/bad/points/payload", {"payload": [1], "points": [1]}, "payload"),
    ("/collections/bad/points/count", {"filter": []}, "expected an object"),
])
def test_bad_requests(http, coll, path, body, why):
    refused(http, "POST", path, json=body, contains=why)


def test_unknown_collection_is_404(http, coll):
    for method, path, body in [("GET", "/collections/nope", None), ("PUT", "/collections/nope/points", {"points": []}),
                               ("POST", "/collections/nope/points/query", {"query": [1, 0, 0, 0]})]:
        refused(http, method, path, status=404, contains="Collection `nope` doesn't exist!", json=body)


def test_duplicate_create_is_409(http, coll):
    refused(http, "PUT", "/collections/bad", status=409, contains="already exists", json={"vectors": {"size": 8, "distance": "Cosine"}})


@pytest.mark.parametrize("body,why,status", [
    ({"vectors": {"size": 0, "distance": "Cosine"}}, "[vectors.size: value 0 invalid", 422),
    ({"vectors": {"size": 4, "distance": "Cosinus"}}, "unknown variant", 400),
    ({"vectors": {"size": 4, "distance": "Manhattan"}}, "not supported", 400),
    ({"vectors": {"size": 4, "distance": "Cosine", "extra": 1}}, "unknown field", 400),
    ({"vectors": {"size": 4, "distance": "Dot", "datatype": "uint8"}}, "not supported", 400),
    ({"vectors": {"size": 4, "distance": "Dot", "datatype": "float64"}}, "unknown variant `float64`", 400),
    ({"vectors": {"a": {"size": 4, "distance": "Dot", "multivector_config": {"comparator": "min_sim"}}, "b": {"size": 2, "distance": "Dot"}}},
     "unknown variant `min_sim`", 400),
    ({"vectors": 5}, "expected an object", 400),
    ({"vectors": {"size": 4, "distance": "Cosine"}, "hnsw_config": {"m": 1}}, "m must be", 400),
])
def test_bad_collection_configs(http, coll, body, why, status):
    refused(http, "PUT", "/collections/newone", json=body, contains=why, status=status)


@pytest.mark.parametrize("name", ["a%2Fb", "..", "%2E%2E", "a..b", "a%5Cb", "a%00b", "a%0Ab", "%2Fetc", "bad%ZZ", ".hidden", "a%7F"])
def test_path_like_collection_names(http, coll, name):
    # A bare ".." is resolved by the HTTP client before sending (then no route matches: 404).
    refused(http, "PUT", f"/collections/{name}", status=(400, 404), json={"vectors": {"size": 4, "distance": "Cosine"}})
    assert http.get("/collections").json()["result"]["collections"] == [{"name": "bad"}]


def test_body_over_limit_is_413(fresh_server):
    s = fresh_server("--max-body-bytes", "4096")
    with httpx.Client(base_url=s.url) as http:
        http.put("/collections/c", json={"vectors": {"size": 4, "distance": "Dot"}})
        big = {"points": [{"id": i, "vector": [1, 0, 0, 0], "payload": {"pad": "x" * 100}} for i in range(100)]}
        refused(http, "PUT", "/collections/c/points", status=413, json=big, contains="larger than the limit")
        # A chunked body without Content-Length is cut off at the limit too.
        data = json.dumps(big).encode()
        refused(http, "PUT", "/collections/c/points", status=413, content=iter([data[:3000], data[3000:]]))


def test_too_many_points_in_one_request(fresh_server):
    s = fresh_server("--max-batch-points", "5")
    with httpx.Client(base_url=s.url) as http:
        http.put("/collections/c", json={"vectors": {"size": 4, "distance": "Dot"}})
        refused(http, "PUT", "/collections/c/points", json={"points": [{"id": i, "vector": [1, 0, 0, 0]} for i in range(6)]}, contains="limit")
        assert http.put("/collections/c/points", json={"points": [{"id": i, "vector": [1, 0, 0, 0]} for i in range(5)]}).status_code == 200


def test_without_api_key_every_route_but_health_is_refused(fresh_server):
    s = fresh_server("--api-key", "k")
    with httpx.Client(base_url=s.url) as http:
        for path in ["/healthz", "/livez", "/readyz", "/", "/metrics"]:
            assert http.get(path).status_code == 200, path
        for method, path in [("GET", "/collections"), ("PUT", "/collections/x"), ("GET", "/collections/x"),
                             ("POST", "/collections/x/points/query"), ("DELETE", "/collections/x"), ("GET", "/nope")]:
            assert http.request(method, path).status_code == 401
            assert http.request(method, path, headers={"api-key": "wrong"}).status_code == 403
        assert http.get("/collections", headers={"api-key": "k"}).json()["result"] == {"collections": []}


@pytest.mark.parametrize("name", ["a%2Fb.snapshot", "..%2F..%2Fetc%2Fpasswd", "%2E%2E", "x.snapshot%00", "notasnapshot", ".hidden.snapshot"])
def test_path_like_snapshot_names(http, coll, name):
    for method in ("GET", "DELETE"):
        refused(http, method, f"/collections/bad/snapshots/{name}", status=(400, 404))


def test_damaged_snapshot_is_refused_and_changes_nothing(http, coll, server):
    snap = http.post("/collections/bad/snapshots?wait=true").json()["result"]
    path = f"{server.data_dir}/snapshots/bad/{snap['name']}"
    http.put("/collections/bad/points?wait=true", json={"points": [{"id": 9, "vector": [0, 0, 0, 1]}]})
    data = bytearray(open(path, "rb").read())
    data[len(data) // 2] ^= 0x10
    open(path, "wb").write(bytes(data))
    error = refused(http, "PUT", "/collections/bad/snapshots/recover", json={"location": "file://" + path})
    assert "damaged" in error and f"bad/{snap['name']}" in error
    assert server.data_dir not in error, "no message discloses the server's absolute paths"
    assert http.delete(f"/collections/bad/snapshots/{snap['name']}").status_code == 200


def test_legacy_search_batch_and_async_snapshot(http, coll, server):
    hits = http.post("/collections/bad/points/search", json={"vector": [1, 0, 0, 0], "limit": 1, "with_payload": True}).json()["result"]
    assert [(h["id"], h["payload"]) for h in hits] == [(1, {"a": 1})] and hits[0]["version"] >= 1
    batch = http.post("/collections/bad/points/search/batch", json={"searches": [{"vector": [0, 1, 0, 0], "limit": 1}]}).json()["result"]
    assert [[h["id"] for h in r] for r in batch] == [[2]]
    r = http.post("/collections/bad/snapshots?wait=false")
    assert r.status_code == 202 and r.json()["status"] == "accepted"
    import time
    for _ in range(100):
        snaps = http.get("/collections/bad/snapshots").json()["result"]
        if snaps:
            break
        time.sleep(0.1)
    assert len(snaps) == 1 and snaps[0]["size"] > 0
    assert http.delete(f"/collections/bad/snapshots/{snaps[0]['name']}").status_code == 200
    assert http.patch("/collections/bad", json={}).status_code == 200
    refused(http, "PATCH", "/collections/bad", json={"vectors": {"": {"size": 8}}}, contains="unknown field")


def raw_exchange(server, request, half_close=False):
    """Sends raw bytes on a fresh connection and reads until the server closes it (bounded)."""
    import socket
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
        s.sendall(request)
        if half_close:
            s.shutdown(socket.SHUT_WR)
        data = b""
        while chunk := s.recv(65536):
            data += chunk
            if not half_close and b"\r\n\r\n" in data and b"Content-Length: " in data:
                head, _, body = data.partition(b"\r\n\r\n")
                length = int(head.split(b"Content-Length: ")[1].split(b"\r\n")[0])
                if len(body) >= length:
                    break
        return data


@pytest.mark.parametrize("request_bytes, half_close", [
    (b"PUT /collections/framing HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\n", False),
    (b"PUT /collections/framing HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n{}", True),
])
def test_broken_body_framing_is_a_400_not_a_500(server, http, request_bytes, half_close):
    """Found by the abuse loop: a body the HTTP parser refuses (bad chunk size, cut short)
    answered 500; it is the client's fault and changes nothing."""
    before = digest(http)
    answer = raw_exchange(server, request_bytes, half_close)
    assert answer.startswith(b"HTTP/1.1 400 "), answer[:300]
    assert b"the request body could not be read" in answer, answer[:300]
    assert digest(http) == before
    assert http.get("/collections/framing").status_code == 404


def envelope_of(answer):
    """The JSON envelope of a raw HTTP/1.1 answer (Content-Length framed)."""
    head, _, body = answer.partition(b"\r\n\r\n")
    return json.loads(body)


def test_connect_is_refused_in_the_envelope_and_the_connection_closed(server, http):
    """Found by the abuse loop: SwiftNIO sends any answer to CONNECT without a body or length,
    so a kept-alive connection hung the client; hsdb answers 405 in the envelope itself and
    closes the connection once the client has closed its end."""
    answer = raw_exchange(server, b"CONNECT / HTTP/1.1\r\nHost: x\r\n\r\n")  # returns only when the server closes
    assert answer.startswith(b"HTTP/1.1 405 "), answer[:300]
    assert b"connection: close" in answer.lower(), answer[:300]
    assert "CONNECT is not supported" in envelope_of(answer)["status"]["error"]
    assert http.get("/").status_code == 200


def test_connect_with_a_body_always_gets_its_answer(server):
    """The CI flake: the server closed a CONNECT's connection with the body still unread, the
    kernel sent RST, and the client lost the 405 (connection reset), about once in 500. The
    answer now always arrives, whatever the client still sends."""
    body = b'{"points": [' + b'1, ' * 20000 + b'1]}'
    for i in range(300):
        with httpx.Client(base_url=server.url, timeout=10) as client:
            r = client.request("CONNECT", "/collections/c/points", content=body)
        assert r.status_code == 405, (i, r.status_code, r.content[:200])
        assert r.json()["status"]["error"] == "Method not allowed: CONNECT is not supported"


@pytest.mark.parametrize("megabytes", [40, 80])
def test_a_huge_body_sent_before_reading_gets_413_promptly(server, megabytes):
    """Python's urllib (Connection: close) sends the whole body before it reads: with the body
    over --max-body-bytes (32 MiB by default) unread, the server's window filled and the client
    waited for its own timeout. It now gets the 413 as soon as it has sent the body."""
    import time
    import urllib.error
    import urllib.request
    body = b'{"points": [' + b" " * (megabytes << 20) + b"]}"
    request = urllib.request.Request(f"{server.url}/collections/c/points", data=body, method="PUT",
                                     headers={"content-type": "application/json"})
    started = time.monotonic()
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=30)
    assert refused.value.code == 413
    assert "larger than the limit of 33554432 bytes" in json.loads(refused.value.read())["status"]["error"]
    assert time.monotonic() - started < 20


def test_a_chunked_body_over_the_limit_is_drained_then_refused(fresh_server):
    """Without a Content-Length the limit is found while reading: the rest is read and dropped,
    so the 413 arrives and the kept-alive connection serves the next request."""
    s = fresh_server("--max-body-bytes", "4096")
    with httpx.Client(base_url=s.url, timeout=30) as http:
        assert http.put("/collections/c", json={"vectors": {"size": 4, "distance": "Dot"}}).status_code == 200
        chunks = iter([b'{"points": ['] + [b" " * 65536] * 64 + [b"]}"])
        r = http.put("/collections/c/points", content=chunks)
        assert r.status_code == 413 and "larger than the limit" in r.json()["status"]["error"]
        assert http.get("/collections").status_code == 200
