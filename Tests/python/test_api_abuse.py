"""API abuse: a bounded loop of mutated valid requests against a real `hsdb serve`.

Valid requests (checked to answer 2xx first) are mutated: keys dropped, renamed or repeated,
values of other types and extreme sizes, wrong vector lengths and ids, bodies truncated,
bit-flipped, invalid UTF-8 or nested 10,000 deep, other paths, methods and content types, and
bodies framed wrongly (chunked or Content-Length, over a raw socket).

Every answer must be 2xx or 4xx (never 5xx, never a dropped connection or a hang; only a body
the client cut short by half-closing may be answered by closing), every 4xx must be Qdrant's
error envelope (except the HTTP parser's bare 400 for an unknown method or broken framing),
every JSON 2xx must be strict JSON, the server must stay up, and a refused request must leave
the stored data exactly as it was: a digest of every collection's points (ids, vectors,
payloads) is compared before and after, and for writes outside `/points` also every
collection's configuration and payload indexes.

The loop is deterministic: iteration i draws everything from `random.Random(f"{seed}-{i}")`.
`HSDB_ABUSE_SEED` (default 20261201) and `HSDB_ABUSE_ROUNDS` (default 3000) change it; every
failure prints the seed, the iteration and the exact request.
"""
import copy
import hashlib
import http.client as http_client
import json
import os
import random
import re
import socket
import time
from collections import Counter

import httpx

SEED = int(os.environ.get("HSDB_ABUSE_SEED", "20261201"))
ROUNDS = int(os.environ.get("HSDB_ABUSE_ROUNDS", "3000"))
TIMEOUT = 15  # seconds for one answer; longer is a hang

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


def snapshot_locations():
    loc = SNAP.get("{SNAPLOC}", "file:///nowhere/x.snapshot")
    folder = loc.rsplit("/", 1)[0]
    return [loc + ".checksum", loc + "%00", folder, folder + "/", folder + "/../../HSDB", loc.replace("file://", ""),
            loc.replace("file://", "file:"), "file:///etc/passwd", "http://127.0.0.1:1/x.snapshot", "s3://b/k", "file://"]


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


# ---------------------------------------------------------------------------------------------
# The digest of the stored data.

def _get(http, path):
    r = http.get(path)
    assert r.status_code == 200, f"digest: GET {path} -> {r.status_code} {r.text[:500]}"
    return r.json()["result"]


class Stored:
    """The stored data as of one walk: `digest` over every collection's name and every point's
    id, vector and payload (the walk of test_bad_input.digest), point counts, bytes read."""

    def __init__(self, http):
        h = hashlib.sha256()
        self.counts = {}
        self.size = 0
        self.names = sorted(c["name"] for c in _get(http, "/collections")["collections"])
        for name in self.names:
            h.update(name.encode())
            offset, n = None, 0
            while True:
                body = {"limit": 100, "with_payload": True, "with_vector": True}
                if offset is not None:
                    body["offset"] = offset
                r = http.post(f"/collections/{name}/points/scroll", json=body)
                assert r.status_code == 200, f"digest: scroll {name} -> {r.status_code} {r.text[:500]}"
                page = r.json()["result"]
                self.size += len(r.content)
                h.update(json.dumps(page["points"], sort_keys=True).encode())
                n += len(page["points"])
                offset = page["next_page_offset"]
                if offset is None:
                    break
            self.counts[name] = n
        self.digest = h.hexdigest()


def meta_digest(http):
    """Every collection's configuration and payload indexes (with their point counts)."""
    h = hashlib.sha256()
    for name in sorted(c["name"] for c in _get(http, "/collections")["collections"]):
        info = _get(http, f"/collections/{name}")
        h.update(json.dumps([name, info["config"], info.get("payload_schema")], sort_keys=True).encode())
    return h.hexdigest()


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


def reset(http, data_dir):
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
    r = http.post(f"/collections/{C}/snapshots?wait=true")
    assert r.status_code == 200, r.text
    snap = r.json()["result"]
    SNAP.update({"{SNAP}": snap["name"], "{SNAPSUM}": snap["checksum"],
                 "{SNAPLOC}": f"file://{data_dir}/snapshots/{C}/{snap['name']}"})


SNAP = {}  # placeholders in templates -> the latest baseline snapshot (set by reset)


def fill(v):
    """The template with the snapshot placeholders replaced."""
    if isinstance(v, str):
        for k, x in SNAP.items():
            v = v.replace(k, x)
        return v
    if isinstance(v, dict):
        return {k: fill(x) for k, x in v.items()}
    if isinstance(v, list):
        return [fill(x) for x in v]
    return v


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
    ("POST", P + "/snapshots?wait=true", None),
    ("GET", P + "/snapshots/{SNAP}", None),
    ("PUT", "/collections/abuse_rec/snapshots/recover?wait=true", {"location": "{SNAPLOC}", "checksum": "{SNAPSUM}"}),
    ("PUT", P + "/points?wait=false", {"points": [{"id": 106, "vector": [0, 0, 0, 1], "payload": {"deep": nest_dict(30), "big": 2**63 - 1, "neg": -2**63, "tiny": 5e-324, "z": -0.0, "u": "ünï🦀\u0000\n\"\\"}}]}),
    ("POST", P + "/points/count", {"filter": FILTER2, "exact": False}),
    ("POST", P + "/points/delete?wait=true", {"points": [101, "a1a2a3a4-b1b2-c1c2-d1d2-d3d4d5d6d7d8"]}),
    ("POST", P + "/points/delete", {"filter": {"must": [{"key": "n", "range": {"gte": 103}}]}}),
    ("POST", P2 + "/points/delete?wait=true", {"points": [105]}),
]

READ_ONLY_METHODS = ("GET", "HEAD")
# POST routes that only read (query, search, scroll, count, retrieve), by the path sent.
READ_ONLY_POST = re.compile(r"^/collections/[^/?]+/points(/query|/query/batch|/search|/search/batch|/scroll|/count)?/?(\?.*)?$")


def read_only(method, path):
    return method in READ_ONLY_METHODS or (method == "POST" and READ_ONLY_POST.match(path) is not None)


# ---------------------------------------------------------------------------------------------
# Mutations.

def weird_value(rng):
    deep = rng.choice([1, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100])
    pool = [
        None, True, False, 0, -1, 1.5, -0.0, 1e-320, 2**63 - 1, 2**63, 2**64, -2**63 - 1, 10**30,
        Raw("1e309"), Raw("-1e309"), Raw("NaN"), Raw("Infinity"), Raw("-Infinity"), Raw("1e39"),
        Raw("1e-400"), Raw("00"), Raw("1."), Raw(".5"), Raw("+1"), Raw("0x10"), Raw("-"), Raw("1e"),
        Raw("123456789012345678901234567890"), Raw("-0"), Raw("1E2"), Raw("true "),
        "NaN", "", "x" * rng.choice([1, 255, 256, 5000]), "\u0000", "ünï🦀", "\ud800",
        Raw('"\\ud800"'), Raw('"\\u0000"'), Raw('"\\uDFFF\\uD800"'), Raw('"\\x"'), Raw('"\\u12"'),
        "../../etc", "a.b.c", "[]", "{}", UUIDS[0],
        [], {}, [None], [1, "a", None, {}], {"must": []}, {"": ""},
        nest_list(deep), nest_dict(deep),
        [rng.random() for _ in range(rng.choice([0, 1, 3, 4, 5, 1000]))],
        rng.choice(snapshot_locations()),
    ]
    return rng.choice(pool)


WEIRD_IDS = [-1, 1.5, 0, 2**63 - 1, 2**63, 2**64, -2**63, True, None, "", "0", "1", "not-a-uuid",
             "550e8400-e29b-41d4-a716-44665544000g", "550e8400e29b41d4a716446655440000",
             "{550e8400-e29b-41d4-a716-446655440000}", "urn:uuid:550e8400-e29b-41d4-a716-446655440000",
             "550E8400-E29B-41D4-A716-446655440000", "550e8400-e29b-41d4-a716-4466554400000",
             Raw("1e2"), Raw("1.0"), Raw("-0"), Raw("1e309"), Raw("18446744073709551616"), [1], {"id": 1}]

EXTREME_INTS = [0, 1, -1, 9999, 10_000, 10_001, 65_536, 100_000, 100_001, 2**31 - 1, 2**31, 2**32, 2**63 - 1]

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
    kind = rng.choice(["drop", "retype", "retype", "dup", "rename", "veclen", "ids", "wrap", "extremes", "repeat"])
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
    if kind == "extremes":
        ints = [(c, k) for c, k in locs if isinstance(c[k], int) and not isinstance(c[k], bool)]
        if ints:
            for c, k in ints:  # every integer at once: limit and offset together, etc.
                c[k] = rng.choice(EXTREME_INTS)
            notes.append("extreme integers")
            return body
    if kind == "repeat":
        lists = [c[k] for c, k in locs if isinstance(c[k], list) and c[k]]
        if isinstance(body, list) and body:
            lists.append(body)
        if lists:
            lst = rng.choice(lists)
            j = rng.randrange(len(lst))
            lst[j:j] = [copy.deepcopy(lst[j]) for _ in range(rng.choice([1, 2, 100]))]
            notes.append("repeat a list element")
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


METHODS = ["GET", "PUT", "POST", "DELETE", "PATCH", "HEAD", "OPTIONS", "TRACE", "CONNECT", "PROPFIND", "FOO"]
# Methods the HTTP parser (SwiftNIO's llhttp) does not know: it refuses the request line itself
# with a bare `400` and `Connection: close` before hsdb sees the request, so no envelope.
UNPARSEABLE_METHODS = {"FOO"}
CONTENT_TYPES = [None, "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
                 "application/json; charset=utf-16", "application/octet-stream", "", "*/*", "application/json" * 20]


# Request bodies framed wrongly on purpose (sent over a raw socket: httpx always frames right).
FRAMINGS = ["bad chunk size", "chunk size too small", "chunk size too large", "chunk without CRLF", "bad trailer",
            "truncated chunked body", "short Content-Length body", "Content-Length too small",
            "Content-Length and Transfer-Encoding", "bad Content-Length"]


def frame(rng, data, notes):
    """(header lines, bytes on the wire, whether the client half-closes after sending): a body
    whose framing is broken. Where the framing promises more than is sent, the client half-closes
    so the server sees the end of the stream instead of waiting for the rest."""
    kind = rng.choice(FRAMINGS)
    n = len(data)
    te = [b"Transfer-Encoding: chunked"]
    end = b"0\r\n\r\n"
    notes.append(f"framing: {kind}")
    if kind == "chunk size too small" and n >= 2:
        return te, b"%x\r\n" % rng.randrange(1, n) + data + b"\r\n" + end, False
    if kind == "chunk size too large":
        return te, b"%x\r\n" % (n + rng.choice([1, 100, 2**20])) + data + b"\r\n" + end, True
    if kind == "chunk without CRLF" and n:
        return te, b"%x\r\n" % n + data + end, False
    if kind == "bad trailer":
        return te, b"%x\r\n" % n + data + b"\r\n0\r\nX T\r\n\r\n", False
    if kind == "truncated chunked body":
        wire = b"%x\r\n" % n + data + b"\r\n" + end
        return te, wire[:rng.randrange(len(wire))], True
    if kind == "short Content-Length body":
        return [b"Content-Length: %d" % (n + rng.choice([1, 100, 2**20]))], data, True
    if kind == "Content-Length too small" and n >= 2:
        return [b"Content-Length: %d" % rng.randrange(1, n)], data, False
    if kind == "Content-Length and Transfer-Encoding":
        return te + [b"Content-Length: %d" % n], b"%x\r\n" % n + data + b"\r\n" + end, False
    if kind == "bad Content-Length":
        value = rng.choice([b"-1", b"abc", b"1e3", b"99999999999999999999", b"%d, %d" % (n, n + 1), b""])
        return [b"Content-Length: " + value], data, True
    size = rng.choice([b"ZZ", b"-1", b"FFFFFFFFFFFFFFFFFFFF", b"", b" 5", b"0x10", b"1_0"])
    notes[-1] = "framing: bad chunk size"
    return te, size + b"\r\n" + data + b"\r\n" + end, False


def build_request(rng, template):
    """(method, path, content bytes or None, headers, transport, notes) for one iteration;
    transport is None (httpx, Content-Length), "chunked" (httpx, chunked) or frame()'s tuple."""
    method, path, body = template
    path, body = fill(path), fill(body)
    headers = {"content-type": "application/json"}
    notes = []
    if rng.random() < 0.12:
        notes.append("unmutated")
        return method, path, None if body is None else encode(body), headers, None, notes
    n = rng.choice([1, 1, 2, 3])
    kinds = [rng.choice(["body", "body", "body", "body", "raw", "raw", "path", "method", "ctype", "chunked",
                         "framing"]) for _ in range(n)]
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
    if "framing" in kinds:
        return method, path, data, headers, frame(rng, data or b"", notes), notes
    if "chunked" in kinds and data is not None:
        notes.append("chunked")
        return method, path, data, headers, "chunked", notes
    return method, path, data, headers, None, notes


# ---------------------------------------------------------------------------------------------

def describe(seed, i, method, path, data, headers, transport, notes, response=None, extra=""):
    shown = "None" if data is None else repr(data[:300]) + (f" ... ({len(data)} bytes)" if len(data) > 300 else "")
    text = ""
    if isinstance(transport, tuple):
        lines, wire, half_close = transport
        shown = (f"{lines!r}, on the wire {wire[:300]!r}" + (f" ... ({len(wire)} bytes)" if len(wire) > 300 else "")
                 + (", then the client half-closes" if half_close else ""))
    if response is not None:
        text = f"\n  -> {response.status_code} {response.headers.get('content-type')!r}: {response.text[:1000]!r}"
    return (f"API abuse failure: seed {seed} (HSDB_ABUSE_SEED={seed}), iteration {i} "
            f"(HSDB_ABUSE_ROUNDS>={i + 1} reproduces it)\n"
            f"  mutations: {notes}\n"
            f"  request: {method} {path} headers={headers}\n"
            f"  body: {shown}{text}{extra}")


class RawResponse:
    def __init__(self, status_code, headers, content):
        self.status_code, self.headers, self.content = status_code, headers, content
        self.text = content.decode("utf-8", "replace")


def send_raw(port, method, path, headers, transport, timeout):
    """Sends a request with the given broken framing over a socket of its own. Returns the
    answer, or None if the server closed the connection without one."""
    lines, wire, half_close = transport
    head = (f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            + "".join(f"{k}: {v}\r\n" for k, v in headers.items())).encode()
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        try:
            sock.sendall(head + b"".join(line + b"\r\n" for line in lines) + b"\r\n" + wire)
            if half_close:
                sock.shutdown(socket.SHUT_WR)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may refuse before reading everything; read what it answered
        r = http_client.HTTPResponse(sock, method=method)
        try:
            r.begin()
        except (http_client.RemoteDisconnected, ConnectionResetError):
            return None
        content = r.read()
        return RawResponse(r.status, {k.lower(): v for k, v in r.getheaders()}, content)


def send(http, method, path, data, headers, transport):
    if data is None and transport is None:
        return http.request(method, path, headers=headers)
    if transport == "chunked":
        step = max(1, len(data) // 3)
        parts = [data[j:j + step] for j in range(0, len(data), step)] or [b""]
        return http.request(method, path, headers=headers, content=iter(parts))
    return http.request(method, path, headers=headers, content=data)


def strict_json(text):
    def no_constant(c):
        raise ValueError(f"non-standard JSON constant {c}")
    return json.loads(text, parse_constant=no_constant)


def check_error_envelope(r, method, transport):
    """Qdrant's error envelope: exactly {"status": {"error": non-empty str}, "time": number}.
    The exceptions: a request the HTTP parser itself refuses (an unknown method, broken
    framing) gets SwiftNIO's bare `400` with `Connection: close` before hsdb sees it. A CONNECT
    gets its 405 envelope and the connection closed."""
    if method == "HEAD":
        return None
    bare_400 = r.status_code == 400 and r.content == b"" and r.headers.get("connection") == "close"
    if bare_400 and (method in UNPARSEABLE_METHODS or isinstance(transport, tuple)):
        return None
    if method == "CONNECT" and r.headers.get("connection") != "close":
        return f"CONNECT answered {r.status_code} without closing the connection"
    if method in UNPARSEABLE_METHODS:
        return f"an unknown method answered {r.status_code} {dict(r.headers)!r}, not the HTTP parser's bare 400"
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


def touches_collection_settings(method, path):
    """Whether a request may reach a collection-level route that changes something (create,
    update, drop, payload index, snapshot recovery): then the configuration digest is compared
    too."""
    return method not in READ_ONLY_METHODS and "/points" not in path.partition("?")[0]


def test_api_abuse(fresh_server):
    s = fresh_server()
    started = time.monotonic()
    with httpx.Client(base_url=s.url, timeout=TIMEOUT) as http:
        reset(http, s.data_dir)
        # The templates are valid: each answers 2xx, in order, on the baseline data.
        for method, path, body in TEMPLATES:
            path, body = fill(path), fill(body)
            r = http.request(method, path, content=None if body is None else encode(body),
                             headers={"content-type": "application/json"})
            assert 200 <= r.status_code < 300, f"template {method} {path} {body!r}: {r.status_code} {r.text}"
        reset(http, s.data_dir)

        stored = Stored(http)   # the data as it is now (refreshed after every accepted write)
        meta = None             # meta_digest as it is now, or None when not known
        statuses = Counter()
        closed = 0              # half-closed broken bodies the server closed without answering
        recent = []             # accepted requests, for a failure that shows up in a digest
        resets = 0
        slowest = (0.0, "")
        for i in range(ROUNDS):
            rng = random.Random(f"{SEED}-{i}")
            template = rng.choice(TEMPLATES)
            method, path, data, headers, transport, notes = build_request(rng, template)

            def fail(msg, response=None):
                extra = f"\n  {msg}"
                if recent:
                    extra += ("\n  the last accepted requests before it (reads are not followed by a digest):\n    "
                              + "\n    ".join(recent[-5:]))
                raise AssertionError(describe(SEED, i, method, path, data, headers, transport, notes, response, extra))

            settings = touches_collection_settings(method, path)
            if settings and meta is None:
                meta = meta_digest(http)
            t0 = time.monotonic()
            try:
                if isinstance(transport, tuple):
                    r = send_raw(s.port, method, path, headers, transport, TIMEOUT)
                else:
                    r = send(http, method, path, data, headers, transport)
            except (httpx.HTTPError, OSError, http_client.HTTPException) as e:
                fail(f"no answer: {type(e).__name__}: {e}; server exit code {s.proc.poll()!r} (log: {s.data_dir}.log)")
            took = time.monotonic() - t0
            if took > slowest[0]:
                slowest = (took, f"#{i} {method} {path} {notes}"[:200])

            if r is None:
                # Only acceptable when the client half-closed before the body was complete.
                if not transport[2]:
                    fail("the server closed the connection without an answer")
                closed += 1
                refused = True
            else:
                statuses[r.status_code] += 1
                ok = 200 <= r.status_code < 300
                if not (ok or 400 <= r.status_code < 500):
                    fail(f"status {r.status_code}: only 2xx and 4xx are allowed", r)
                refused = not ok
            if not refused:
                ctype = r.headers.get("content-type", "")
                if method != "HEAD" and ctype.startswith("application/json"):
                    try:
                        strict_json(r.text)
                    except ValueError as e:
                        fail(f"a 2xx answer that is not valid JSON: {e}", r)
                if method != "GET":
                    recent.append(f"#{i} {method} {path} {notes} -> {r.status_code}")
                if not read_only(method, path):
                    meta = None
                    try:
                        stored = Stored(http)
                    except (AssertionError, httpx.HTTPError) as e:
                        fail(f"after this accepted request the stored data can no longer be read: {e}", r)
                    # Back to the baseline when a collection is gone or mostly deleted, or the
                    # data grew (keeps the digests cheap).
                    gone = any(stored.counts.get(name, 0) < 10 for name in BASELINE)
                    if gone or len(stored.names) > 8 or stored.size > 300_000:
                        resets += 1
                        reset(http, s.data_dir)
                        stored = Stored(http)
            else:
                problem = r is not None and check_error_envelope(r, method, transport)
                if problem:
                    fail(problem, r)
                try:
                    after = Stored(http)
                    meta_after = meta_digest(http) if settings else None
                except (AssertionError, httpx.HTTPError) as e:
                    fail(f"after this refused request the stored data can no longer be read: {e}", r)
                if after.digest != stored.digest:
                    fail("a refused request changed the stored points (digest differs)", r)
                if settings and meta_after != meta:
                    fail("a refused request changed a collection's configuration or payload indexes", r)

        assert s.proc.poll() is None, f"hsdb serve exited ({s.proc.poll()}); log: {s.data_dir}.log"
        r = http.get("/")
        assert r.status_code == 200, r.text
    elapsed = time.monotonic() - started
    two = sum(v for k, v in statuses.items() if 200 <= k < 300)
    four = sum(v for k, v in statuses.items() if 400 <= k < 500)
    print(f"\nAPI abuse: seed {SEED}, {ROUNDS} requests in {elapsed:.1f} s: {two} 2xx, {four} 4xx, "
          f"{closed} closed without an answer ({dict(sorted(statuses.items()))}); {resets} resets to the baseline; "
          f"slowest request {slowest[0] * 1000:.0f} ms: {slowest[1]}")
    assert two + four + closed == ROUNDS
    assert two > 0 and four > 0
