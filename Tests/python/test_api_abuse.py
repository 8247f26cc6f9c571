"""API abuse: a bounded loop of mutated valid requests against a real `hsdb serve`.

Every answer must be 2xx or 4xx (never 5xx, never a dropped connection or a hang), every 4xx
must be Qdrant's error envelope, every JSON 2xx must be strict JSON, the server must stay up,
and a request that is refused (4xx) must leave the stored data exactly as it was: a digest of
every collection's config, payload indexes and points (ids, vectors, payloads) is compared
before and after.

The loop is deterministic: iteration i draws everything from `random.Random(f"{seed}-{i}")`.
`HSDB_ABUSE_SEED` (default 20261201) and `HSDB_ABUSE_ROUNDS` (default 3000) change it; every
failure prints the seed, the iteration and the exact request.
"""
import copy
import hashlib
import json
import os
import random
import time
from collections import Counter

import httpx

SEED = int(os.environ.get("HSDB_ABUSE_SEED", "20261201"))
ROUNDS = int(os.environ.get("HSDB_ABUSE_ROUNDS", "3000"))

C = "abuse"          # dim 4, Dot
C2 = "abuse_cos"     # dim 3, Cosine
TMP = "abuse_tmp"    # created and dropped by templates
BASELINE = {C: (4, "Dot"), C2: (3, "Cosine")}
UUIDS = ["550e8400-e29b-41d4-a716-446655440000", "6ba7b810-9dad-11d1-80b4-00c04fd430c8",
         "f47ac10b-58cc-4372-a567-0e02b2c3d479"]


# ---------------------------------------------------------------------------------------------
# Raw JSON text: values the `json` module cannot produce (1e309, duplicate keys, ...).

class Raw:
    """JSON text inserted verbatim."""

    def __init__(self, text):
        self.text = text

    def __repr__(self):
        return f"Raw({self.text[:40]!r})"


class Dup:
    """An object written with the given (key, value) pairs, repeated keys included."""

    def __init__(self, pairs):
        self.pairs = pairs

    def __repr__(self):
        return f"Dup({self.pairs!r})"[:200]


def dump(v):
    if isinstance(v, Raw):
        return v.text
    if isinstance(v, Dup):
        return "{" + ",".join(f"{dump(k)}:{dump(x)}" for k, x in v.pairs) + "}"
    if isinstance(v, (dict, list)):
        try:  # fast path: nothing inside needs verbatim text
            return json.dumps(v, ensure_ascii=False)
        except TypeError:
            pass
    if isinstance(v, dict):
        return "{" + ",".join(f"{dump(k)}:{dump(x)}" for k, x in v.items()) + "}"
    if isinstance(v, list):
        return "[" + ",".join(dump(x) for x in v) + "]"
    return json.dumps(v, ensure_ascii=False)


def encode(v):
    # surrogatepass: a lone surrogate in a str becomes (invalid) UTF-8 bytes, on purpose.
    return dump(v).encode("utf-8", "surrogatepass")


# ---------------------------------------------------------------------------------------------
# The digest of the stored data.

def _get(http, path):
    r = http.get(path)
    assert r.status_code == 200, f"digest: GET {path} -> {r.status_code} {r.text[:500]}"
    return r.json()["result"]


def state(http):
    """(digest, {collection: point count}): every collection's name, config, payload indexes,
    and every point's id, vector and payload (the same walk as test_bad_input.digest)."""
    h = hashlib.sha256()
    counts = {}
    names = sorted(c["name"] for c in _get(http, "/collections")["collections"])
    for name in names:
        h.update(name.encode())
        info = _get(http, f"/collections/{name}")
        h.update(json.dumps([info["config"], info.get("payload_schema")], sort_keys=True).encode())
        offset, n = None, 0
        while True:
            body = {"limit": 100, "with_payload": True, "with_vector": True}
            if offset is not None:
                body["offset"] = offset
            r = http.post(f"/collections/{name}/points/scroll", json=body)
            assert r.status_code == 200, f"digest: scroll {name} -> {r.status_code} {r.text[:500]}"
            page = r.json()["result"]
            h.update(json.dumps(page["points"], sort_keys=True).encode())
            n += len(page["points"])
            offset = page["next_page_offset"]
            if offset is None:
                break
        counts[name] = n
    return h.hexdigest(), counts


# ---------------------------------------------------------------------------------------------
# Baseline data.

def baseline_points(dim):
    pts = []
    for i in range(30):
        pid = UUIDS[i - 27] if i >= 27 else i + 1
        vec = [((i * 7 + k * 3) % 11 - 5) / 5 for k in range(dim)]
        if not any(vec):
            vec[0] = 1.0
        payload = {"n": i, "f": i * 0.5, "s": f"s{i % 5}", "flag": i % 2 == 0,
                   "tags": [f"t{i % 3}", f"t{i % 4}"], "obj": {"x": i, "deep": {"y": [i, {"z": "w"}]}},
                   "items": [{"k": i % 3, "v": "a"}, {"k": 7, "v": "b"}], "text": f"the quick fox {i}"}
        if i % 6 == 0:
            payload["maybe"] = None
        if i % 7 == 0:
            payload["empty"] = []
        pts.append({"id": pid, "vector": vec, "payload": payload})
    return pts


def reset(http):
    for c in _get(http, "/collections")["collections"]:
        r = http.delete(f"/collections/{c['name']}")
        assert r.status_code == 200, r.text
    for name, (dim, dist) in BASELINE.items():
        r = http.put(f"/collections/{name}", json={"vectors": {"size": dim, "distance": dist}})
        assert r.status_code == 200, r.text
        r = http.put(f"/collections/{name}/points?wait=true", json={"points": baseline_points(dim)})
        assert r.status_code == 200, r.text
    for field, schema in [("s", "keyword"), ("n", "integer")]:
        r = http.put(f"/collections/{C}/index?wait=true", json={"field_name": field, "field_schema": schema})
        assert r.status_code == 200, r.text


# ---------------------------------------------------------------------------------------------
# Valid requests. In this order, each answers 2xx on the baseline data (checked first).

FILTER = {"must": [{"key": "s", "match": {"value": "s1"}}, {"key": "n", "range": {"gte": 0, "lt": 100}}],
          "should": [{"key": "tags", "match": {"any": ["t0", "t1"]}}, {"has_id": [1, 2, UUIDS[0]]}],
          "must_not": [{"key": "flag", "match": {"value": True}}]}
FILTER2 = {"must": [{"nested": {"key": "items", "filter": {"must": [{"key": "k", "match": {"value": 7}}]}}},
                    {"is_empty": {"key": "empty"}}, {"key": "text", "match": {"text": "fox"}},
                    {"key": "tags", "values_count": {"gte": 1}},
                    {"should": [{"is_null": {"key": "maybe"}}, {"key": "s", "match": {"except": ["s3"]}}]}],
           "min_should": {"conditions": [{"key": "obj.x", "range": {"gt": 1}},
                                         {"key": "obj.deep.y", "match": {"value": 3}}], "min_count": 1}}
P = f"/collections/{C}"
P2 = f"/collections/{C2}"
V = [0.1, -0.2, 0.3, 0.4]
V3 = [0.5, 0.1, -0.7]

TEMPLATES = [
    ("GET", "/", None),
    ("GET", "/healthz", None),
    ("GET", "/collections", None),
    ("GET", P, None),
    ("GET", P + "/exists", None),
    ("GET", P2, None),
    ("PUT", P + "/points?wait=true", {"points": [
        {"id": 101, "vector": [1, 0, 0.5, 0], "payload": {"n": 101, "s": "new", "tags": ["t9"], "obj": {"x": 1, "deep": {"y": [1]}}}},
        {"id": "a1a2a3a4-b1b2-c1c2-d1d2-d3d4d5d6d7d8", "vector": [0, 1, 0, 0.5], "payload": {"list": [1, "two", None, {"three": 3}]}},
        {"id": 102, "vector": [0.25, 0.25, 0.25, 0.25]}]}),
    ("PUT", P + "/points", {"batch": {"ids": [103, 104], "vectors": [[1, 2, 3, 4], [4, 3, 2, 1]],
                                      "payloads": [{"n": 103, "f": 1.25}, {"s": "s9", "obj": {"x": [1, 2]}}]}}),
    ("PUT", P2 + "/points?wait=true&ordering=weak", {"points": [{"id": 105, "vector": V3, "payload": {"k": "v"}}]}),
    ("POST", P + "/points/payload?wait=true", {"payload": {"extra": 1, "nested": {"a": [1, 2]}}, "points": [1, 2]}),
    ("POST", P + "/points/payload", {"payload": {"mark": "m"}, "filter": {"must": [{"key": "s", "match": {"value": "s2"}}]}}),
    ("PUT", P + "/points/payload?wait=true", {"payload": {"n": 3, "s": "s3", "tags": ["t3"]}, "points": [3]}),
    ("POST", P + "/points/payload/delete?wait=true", {"keys": ["extra", "obj.x"], "points": [1, 2]}),
    ("POST", P + "/points/payload/delete", {"keys": ["mark"], "filter": {"must": [{"key": "s", "match": {"value": "s2"}}]}}),
    ("POST", P + "/points/payload/clear?wait=true", {"points": [104]}),
    ("POST", P + "/points/query", {"query": V, "limit": 5, "with_payload": True}),
    ("POST", P + "/points/query", {"query": {"nearest": V}, "filter": FILTER, "with_vector": True, "limit": 3, "offset": 1}),
    ("POST", P + "/points/query", {"query": 5, "limit": 3, "with_payload": ["n", "s"]}),
    ("POST", P + "/points/query", {"query": {"nearest": UUIDS[1]}, "limit": 2}),
    ("POST", P + "/points/query", {"query": V, "with_payload": {"include": ["s", "obj.x"]}, "filter": FILTER2}),
    ("POST", P + "/points/query", {"query": V, "with_payload": {"exclude": ["tags", "items"]}, "with_vector": False}),
    ("POST", P + "/points/query", {"query": V, "score_threshold": 0.1, "params": {"hnsw_ef": 32, "exact": False}}),
    ("POST", P + "/points/query", {"query": V, "params": {"exact": True, "quantization": {"ignore": False, "oversampling": 2.0}}}),
    ("POST", P + "/points/query", {"query": {"nearest": V, "mmr": {"diversity": 0.5, "candidates_limit": 10}}, "limit": 4}),
    ("POST", P + "/points/query", {"limit": 5, "filter": FILTER, "with_payload": True}),
    ("POST", P2 + "/points/query", {"query": V3, "limit": 3, "with_vector": True}),
    ("POST", P + "/points/query/batch", {"searches": [{"query": V, "limit": 2}, {"query": {"nearest": 3}, "filter": FILTER2}]}),
    ("POST", P + "/points/search", {"vector": V, "limit": 3, "filter": FILTER, "with_payload": True, "score_threshold": -10}),
    ("POST", P + "/points/search/batch", {"searches": [{"vector": V, "limit": 2}, {"vector": V, "limit": 1, "offset": 2, "with_vector": True}]}),
    ("POST", P + "/points/scroll", {"limit": 5, "offset": 3, "filter": FILTER2, "with_payload": ["s"], "with_vector": False}),
    ("POST", P + "/points/scroll", {"limit": 4, "offset": UUIDS[0], "with_payload": True, "with_vector": True}),
    ("POST", P + "/points/count", {"filter": FILTER, "exact": True}),
    ("POST", P + "/points/count", {}),
    ("POST", P + "/points", {"ids": [1, 2, UUIDS[2], 999], "with_payload": True, "with_vector": True}),
    ("GET", P + "/points/4", None),
    ("GET", P + "/points/" + UUIDS[1], None),
    ("PUT", f"/collections/{TMP}", {"vectors": {"size": 4, "distance": "Euclid"}, "hnsw_config": {"m": 8, "ef_construct": 50}}),
    ("GET", f"/collections/{TMP}/exists", None),
    ("DELETE", f"/collections/{TMP}", None),
    ("PATCH", P, {"optimizers_config": {}}),
    ("PUT", P + "/index?wait=true", {"field_name": "f", "field_schema": "float"}),
    ("PUT", P + "/index", {"field_name": "obj.x", "field_schema": {"type": "integer"}}),
    ("DELETE", P + "/index/f?wait=true", None),
    ("DELETE", P + "/index/obj.x", None),
    ("GET", P + "/snapshots", None),
    ("POST", P + "/points/delete?wait=true", {"points": [101, "a1a2a3a4-b1b2-c1c2-d1d2-d3d4d5d6d7d8"]}),
    ("POST", P + "/points/delete", {"filter": {"must": [{"key": "n", "range": {"gte": 103}}]}}),
    ("POST", P2 + "/points/delete?wait=true", {"points": [105]}),
]

READ_ONLY_METHODS = ("GET", "HEAD")


# ---------------------------------------------------------------------------------------------
# Mutations.

def weird_value(rng):
    deep = rng.choice([1, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100])
    pool = [
        None, True, False, 0, -1, 1.5, -0.0, 1e-320, 2**63 - 1, 2**63, 2**64, -2**63 - 1, 10**30,
        Raw("1e309"), Raw("-1e309"), Raw("NaN"), Raw("Infinity"), Raw("-Infinity"), Raw("1e39"),
        Raw("1e-400"), Raw("00"), Raw("1."), Raw(".5"), Raw("+1"), Raw("0x10"), Raw("-"), Raw("1e"),
        Raw("123456789012345678901234567890"), Raw("-0"), Raw("1E2"), Raw("true "),
        "NaN", "", "x" * rng.choice([1, 255, 256, 70_000]), "\u0000", "ünï🦀", "\ud800",
        Raw('"\\ud800"'), Raw('"\\u0000"'), Raw('"\\uDFFF\\uD800"'), Raw('"\\x"'), Raw('"\\u12"'),
        "../../etc", "a.b.c", "[]", "{}", UUIDS[0],
        [], {}, [None], [1, "a", None, {}], {"must": []}, {"": ""},
        nest_list(deep), nest_dict(deep),
        [rng.random() for _ in range(rng.choice([0, 1, 3, 4, 5, 1000]))],
    ]
    return rng.choice(pool)


def nest_list(depth):
    v = 1
    for _ in range(depth):
        v = [v]
    return v


def nest_dict(depth):
    v = 1
    for _ in range(depth):
        v = {"a": v}
    return v


WEIRD_IDS = [-1, 1.5, 0, 2**63 - 1, 2**63, 2**64, -2**63, True, None, "", "0", "1", "not-a-uuid",
             "550e8400-e29b-41d4-a716-44665544000g", "550e8400e29b41d4a716446655440000",
             "{550e8400-e29b-41d4-a716-446655440000}", "urn:uuid:550e8400-e29b-41d4-a716-446655440000",
             "550E8400-E29B-41D4-A716-446655440000", "550e8400-e29b-41d4-a716-4466554400000",
             Raw("1e2"), Raw("1.0"), Raw("-0"), Raw("1e309"), Raw("18446744073709551616"), [1], {"id": 1}]

KEY_NAMES = ["", "x", "id", "ids", "points", "vector", "vectors", "query", "filter", "payload", "limit",
             "offset", "with_payload", "with_vector", "must", "key", "match", "batch", "searches", "nearest",
             "\u0000", "a.b", "ü", "field_name", "keys", "params", "hnsw_ef", "exact", "score_threshold"]


def locations(v, out=None):
    """Every (container, key-or-index) in v."""
    if out is None:
        out = []
    if isinstance(v, dict):
        for k in list(v):
            out.append((v, k))
            locations(v[k], out)
    elif isinstance(v, list):
        for i in range(len(v)):
            out.append((v, i))
            locations(v[i], out)
    return out


def dicts(v):
    found = [v] if isinstance(v, dict) else []
    for c, k in locations(v):
        if isinstance(c[k], dict):
            found.append(c[k])
    return found


def number_lists(v):
    found = [v] if isinstance(v, list) and v and all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in v) else []
    for c, k in locations(v):
        x = c[k]
        if isinstance(x, list) and x and all(isinstance(y, (int, float)) and not isinstance(y, bool) for y in x):
            found.append(x)
    return found


ID_KEYS = {"id", "ids", "points", "has_id", "offset", "nearest", "query"}


def mutate_body(rng, body, notes):
    """A structural mutation of the decoded body, in place; returns the (possibly new) body."""
    kind = rng.choice(["drop", "retype", "retype", "dup", "rename", "veclen", "ids", "wrap"])
    if body is None:
        body = rng.choice([{}, {"points": []}, weird_value(rng)])
        notes.append("body-for-bodyless")
        return body
    locs = locations(body)
    if kind == "drop":
        ds = [d for d in dicts(body) if d]
        if ds:
            d = rng.choice(ds)
            k = rng.choice(list(d))
            del d[k]
            notes.append(f"drop {k!r}")
            return body
    if kind == "retype" and locs:
        c, k = rng.choice(locs)
        c[k] = weird_value(rng)
        notes.append(f"retype {k!r} -> {c[k]!r}"[:120])
        return body
    if kind == "dup":
        ds = [d for d in dicts(body) if d]
        if ds:
            d = rng.choice(ds)
            k = rng.choice(list(d))
            pairs = list(d.items())
            other = rng.choice([d[k], weird_value(rng), copy.deepcopy(d[k])])
            pairs.insert(rng.randrange(len(pairs) + 1), (k, other))
            dup = Dup(pairs)
            notes.append(f"dup key {k!r}")
            if d is body:
                return dup
            for c, kk in locations(body):
                if c[kk] is d:
                    c[kk] = dup
                    break
            return body
    if kind == "rename":
        ds = [d for d in dicts(body) if d]
        if ds:
            d = rng.choice(ds)
            k = rng.choice(list(d))
            new = rng.choice(KEY_NAMES + [k + "_", k.upper(), " " + k])
            d[new] = d.pop(k)
            notes.append(f"rename {k!r} -> {new!r}")
            return body
    if kind == "veclen":
        lists = number_lists(body)
        if lists:
            lst = rng.choice(lists)
            op = rng.choice(["append", "pop", "clear", "huge", "double"])
            if op == "append":
                lst.append(rng.choice([0.5, 1, 1e38, -1e-38]))
            elif op == "pop":
                lst.pop()
            elif op == "clear":
                lst.clear()
            elif op == "huge":
                lst.extend([0.001] * rng.choice([100, 4096, 65_537]))
            else:
                lst.extend(list(lst))
            notes.append(f"veclen {op}")
            return body
    if kind == "ids":
        cands = [(c, k) for c, k in locs if k in ID_KEYS or (isinstance(c, list) and not isinstance(c[k], (dict, list)))]
        if cands:
            c, k = rng.choice(cands)
            wid = rng.choice(WEIRD_IDS)
            if isinstance(c[k], list) and c[k] and rng.random() < 0.5:
                c[k][rng.randrange(len(c[k]))] = wid
            else:
                c[k] = wid
            notes.append(f"id {k!r} -> {wid!r}")
            return body
    if kind == "wrap" and locs:
        c, k = rng.choice(locs)
        c[k] = rng.choice([[c[k]], {"value": c[k]}, [c[k], c[k]]])
        notes.append(f"wrap {k!r}")
        return body
    # Fallback: replace a random value, or the whole body.
    if locs:
        c, k = rng.choice(locs)
        c[k] = weird_value(rng)
        notes.append(f"retype {k!r}")
        return body
    notes.append("replace body")
    return weird_value(rng)


INVALID_UTF8 = [b"\xff", b"\xfe", b"\xc3\x28", b"\xc0\xaf", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xe2\x82",
                b"\x80", b"\xf8\x88\x80\x80\x80"]
WHOLE_BODIES = [b"", b"null", b"[]", b"{}", b'"str"', b"1", b" ", b"\xef\xbb\xbf{}", b"{}{}", b"{,}", b'{"a":1,}',
                b"[" * 10_000, b"[" * 10_000 + b"]" * 10_000, b'{"a":' * 10_000, b'{"points":' + b"[" * 10_000,
                b"{" * 65 + b"}" * 65, b"\x00" * 16, b"{\"points\": [\x00]}"]


def mutate_raw(rng, data, notes):
    kind = rng.choice(["truncate", "flip", "utf8", "nest", "whole", "trail"])
    if kind == "truncate" and data:
        n = rng.randrange(len(data))
        notes.append(f"truncate at {n}")
        return data[:n]
    if kind == "flip" and data:
        i = rng.randrange(len(data))
        b = data[i] ^ rng.randrange(1, 256)
        notes.append(f"flip byte {i}")
        return data[:i] + bytes([b]) + data[i + 1:]
    if kind == "utf8":
        quotes = [i + 1 for i, b in enumerate(data) if b == ord('"')]
        i = rng.choice(quotes) if quotes and rng.random() < 0.8 else rng.randrange(len(data) + 1)
        bad = rng.choice(INVALID_UTF8)
        notes.append(f"invalid utf-8 {bad!r} at {i}")
        return data[:i] + bad + data[i:]
    if kind == "nest":
        depth = rng.choice([65, 1000, 10_000])
        opener = rng.choice([b"[", b'{"a":'])
        i = rng.randrange(len(data) + 1)
        notes.append(f"nest {opener!r} x{depth} at {i}")
        return data[:i] + opener * depth + data[i:]
    if kind == "trail":
        t = rng.choice([b" trailing", b"}", b"]", b"\x00", b",", b"{}"])
        notes.append(f"trail {t!r}")
        return data + t
    body = rng.choice(WHOLE_BODIES)
    notes.append(f"whole body {body[:20]!r}")
    return body


BAD_SEGMENTS = ["nope", C2, C, TMP, "%ZZ", "%2e%2e", "..", "a%2Fb", "%00", "%C3%28", "%FF", "x" * 300, ".hidden",
                "%20", "-1", "18446744073709551616", "9223372036854775808", "1.5", "0", "not-a-uuid",
                "%7B550e8400-e29b-41d4-a716-446655440000%7D", "points", "query", "index", "snapshots", "recover",
                "delete", "%", "%2", "a%5Cb", "%7F", "%E2%80%AE", "s", "n", UUIDS[0], ";", "'", "*"]
QUERIES = ["", "?wait=true", "?wait=false", "?wait=%ZZ", "?wait", "?timeout=-1&ordering=strong", "?&&==",
           "?wait=true&wait=false", "?consistency=all&wait=1", "?wait=" + "t" * 1000]


def mutate_path(rng, path, notes):
    base, _, query = path.partition("?")
    segs = base.split("/")
    kind = rng.choice(["segment", "segment", "append", "drop", "query"])
    if kind == "segment" and len(segs) > 2:
        i = rng.randrange(2, len(segs))
        segs[i] = rng.choice(BAD_SEGMENTS)
    elif kind == "append":
        segs.append(rng.choice(BAD_SEGMENTS))
    elif kind == "drop" and len(segs) > 2:
        segs.pop()
    else:
        new = "/".join(segs) + rng.choice(QUERIES)
        notes.append(f"path {new[:80]!r}")
        return new
    new = "/".join(segs) + ("?" + query if query else "")
    notes.append(f"path {new[:80]!r}")
    return new


METHODS = ["GET", "PUT", "POST", "DELETE", "PATCH", "HEAD", "OPTIONS"]
CONTENT_TYPES = [None, "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
                 "application/json; charset=utf-16", "application/octet-stream", "", "*/*", "application/json" * 20]


def build_request(rng, template):
    """(method, path, content bytes or None, headers, chunked, notes) for one iteration."""
    method, path, body = template
    body = copy.deepcopy(body)
    headers = {"content-type": "application/json"}
    notes = []
    if rng.random() < 0.12:
        notes.append("unmutated")
        return method, path, None if body is None else encode(body), headers, False, notes
    n = rng.choice([1, 1, 2, 3])
    kinds = [rng.choice(["body", "body", "body", "body", "raw", "raw", "path", "method", "ctype", "chunked"])
             for _ in range(n)]
    for k in kinds:
        if k == "body":
            body = mutate_body(rng, body, notes)
    data = None if body is None else encode(body)
    for k in kinds:
        if k == "raw":
            data = mutate_raw(rng, data or b"", notes)
        elif k == "path":
            path = mutate_path(rng, path, notes)
        elif k == "method":
            method = rng.choice([m for m in METHODS if m != method])
            notes.append(f"method {method}")
        elif k == "ctype":
            ct = rng.choice(CONTENT_TYPES)
            if ct is None:
                headers = {}
            else:
                headers = {"content-type": ct}
            notes.append(f"content-type {ct!r}")
    chunked = "chunked" in kinds and data is not None
    if chunked:
        notes.append("chunked")
    return method, path, data, headers, chunked, notes


# ---------------------------------------------------------------------------------------------

def describe(seed, i, method, path, data, headers, notes, response=None, extra=""):
    shown = "None" if data is None else repr(data[:300]) + (f" ... ({len(data)} bytes)" if len(data) > 300 else "")
    text = ""
    if response is not None:
        text = f"\n  -> {response.status_code} {response.headers.get('content-type')!r}: {response.text[:1000]!r}"
    return (f"API abuse failure: seed {seed} (HSDB_ABUSE_SEED={seed}), iteration {i} "
            f"(HSDB_ABUSE_ROUNDS>={i + 1} reproduces it)\n"
            f"  mutations: {notes}\n"
            f"  request: {method} {path} headers={headers}\n"
            f"  body: {shown}{text}{extra}")


def send(http, method, path, data, headers, chunked):
    if data is None:
        return http.request(method, path, headers=headers)
    if chunked:
        step = max(1, len(data) // 3)
        parts = [data[j:j + step] for j in range(0, len(data), step)] or [b""]
        return http.request(method, path, headers=headers, content=iter(parts))
    return http.request(method, path, headers=headers, content=data)


def strict_json(text):
    def no_constant(c):
        raise ValueError(f"non-standard JSON constant {c}")
    return json.loads(text, parse_constant=no_constant)


def check_error_envelope(r, method):
    """Qdrant's error envelope: exactly {"status": {"error": non-empty str}, "time": number}."""
    if method == "HEAD":
        return None
    ctype = r.headers.get("content-type", "")
    if not ctype.startswith("application/json"):
        return f"a {r.status_code} answer that is not JSON (content-type {ctype!r})"
    try:
        body = strict_json(r.text)
    except ValueError as e:
        return f"a {r.status_code} answer that is not valid JSON: {e}"
    if not (isinstance(body, dict) and set(body) == {"status", "time"} and isinstance(body["status"], dict)
            and set(body["status"]) == {"error"} and isinstance(body["status"]["error"], str)
            and body["status"]["error"] and isinstance(body["time"], (int, float))):
        return f"a {r.status_code} answer that is not Qdrant's error envelope: {body!r}"[:600]
    return None


def test_api_abuse(fresh_server):
    s = fresh_server()
    started = time.monotonic()
    with httpx.Client(base_url=s.url, timeout=20) as http:
        reset(http)
        # The templates are valid: each answers 2xx, in order, on the baseline data.
        for method, path, body in TEMPLATES:
            r = http.request(method, path, content=None if body is None else encode(body),
                             headers={"content-type": "application/json"})
            assert 200 <= r.status_code < 300, f"template {method} {path} {body!r}: {r.status_code} {r.text}"
        reset(http)
        cached, counts = state(http)

        statuses = Counter()
        recent = []  # the last accepted writes, for a failure that shows up in a digest
        for i in range(ROUNDS):
            rng = random.Random(f"{SEED}-{i}")
            template = rng.choice(TEMPLATES)
            method, path, data, headers, chunked, notes = build_request(rng, template)

            def fail(msg, response=None):
                extra = f"\n  {msg}"
                if recent:
                    extra += "\n  last accepted writes before it:\n    " + "\n    ".join(recent[-5:])
                raise AssertionError(describe(SEED, i, method, path, data, headers, notes, response, extra))

            try:
                r = send(http, method, path, data, headers, chunked)
            except httpx.HTTPError as e:
                alive = s.proc.poll()
                fail(f"no answer: {type(e).__name__}: {e}; server exit code {alive!r} (log: {s.data_dir}.log)")
            statuses[r.status_code] += 1
            ok = 200 <= r.status_code < 300
            if not (ok or 400 <= r.status_code < 500):
                fail(f"status {r.status_code}: only 2xx and 4xx are allowed", r)
            if ok:
                ctype = r.headers.get("content-type", "")
                if method != "HEAD" and ctype.startswith("application/json"):
                    try:
                        strict_json(r.text)
                    except ValueError as e:
                        fail(f"a 2xx answer that is not valid JSON: {e}", r)
                if method not in READ_ONLY_METHODS:
                    recent.append(f"#{i} {method} {path} {notes} -> {r.status_code}")
                    try:
                        cached, counts = state(http)
                    except (AssertionError, httpx.HTTPError) as e:
                        fail(f"after this accepted request the stored data can no longer be read: {e}", r)
                    gone = any(name not in counts or counts[name] < 10 for name in BASELINE)
                    if gone or len(counts) > 8:
                        reset(http)
                        cached, counts = state(http)
            else:
                problem = check_error_envelope(r, method)
                if problem:
                    fail(problem, r)
                try:
                    after, _ = state(http)
                except (AssertionError, httpx.HTTPError) as e:
                    fail(f"after this refused request the stored data can no longer be read: {e}", r)
                if after != cached:
                    fail("a refused (4xx) request changed the stored data (digest differs)", r)

        assert s.proc.poll() is None, f"hsdb serve exited ({s.proc.poll()}); log: {s.data_dir}.log"
        r = http.get("/")
        assert r.status_code == 200, r.text
    elapsed = time.monotonic() - started
    two = sum(v for k, v in statuses.items() if 200 <= k < 300)
    four = sum(v for k, v in statuses.items() if 400 <= k < 500)
    print(f"\nAPI abuse: seed {SEED}, {ROUNDS} requests in {elapsed:.1f} s: {two} 2xx, {four} 4xx "
          f"({dict(sorted(statuses.items()))})")
    assert two + four == ROUNDS
    assert two > 0 and four > 0
