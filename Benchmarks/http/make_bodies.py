"""Writes wrk Lua scripts whose requests carry real 384-dim vectors from the data set, as
qdrant-client sends them (Python floats of float32 values, 17 significant digits).

query.lua:  POST /collections/bench/points/query  {"query": [...], "limit": 10}, the 1,000 queries in turn
upsert.lua: PUT  /collections/ingest/points?wait=true with one point, ids from 0 up (per wrk thread a range)
upsert64.lua: 64 points per request (qdrant-client's upload_points batch size), 20 bodies in turn
"""
import json
import struct
import sys

data, out = sys.argv[1], sys.argv[2]


def fvecs(path):
    raw = open(path, "rb").read()
    d = struct.unpack_from("<i", raw, 0)[0]
    row = 4 + 4 * d
    return [list(struct.unpack_from(f"<{d}f", raw, r * row + 4)) for r in range(len(raw) // row)]


def f16(path, d, n):
    raw = open(path, "rb").read(2 * d * n)
    return [list(struct.unpack_from(f"<{d}e", raw, r * 2 * d)) for r in range(n)]


def lua(path, method, target, bodies, ids):
    with open(path, "w") as f:
        f.write("local bodies = {\n")
        for b in bodies:
            f.write("[==[" + b + "]==],\n")
        f.write("}\n")
        f.write(f"""
local n, step, i = 0, 1, 0
function setup(thread) n = n + 1; thread:set("offset", (n - 1) * 1000000) end
function init(args) i = offset end
function request()
  i = i + 1
  local body = bodies[(i % #bodies) + 1]
  {'body = string.gsub(body, "__ID__", function() i = i + 1; return tostring(i) end)' if ids else ''}
  return wrk.format("{method}", "{target}", {{["Content-Type"] = "application/json"}}, body)
end
function done(summary, latency, requests)
  io.write(string.format("{{\\"requests\\":%d,\\"errors\\":%d,\\"non2xx\\":%d,\\"p50_ms\\":%.3f,\\"p99_ms\\":%.3f,\\"seconds\\":%.3f}}\\n",
    summary.requests, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status, latency:percentile(50) / 1000, latency:percentile(99) / 1000, summary.duration / 1e6))
end
""")


queries = fvecs(f"{data}/query.fvecs")
lua(f"{out}/query.lua", "POST", "/collections/bench/points/query",
    [json.dumps({"query": q, "limit": 10}) for q in queries], ids=False)
base = f16(f"{data}/base.f16", 384, 2000)
lua(f"{out}/upsert.lua", "PUT", "/collections/ingest/points?wait=true",
    [json.dumps({"points": [{"id": 0, "vector": v, "payload": {"source": "bench"}}]}).replace('"id": 0', '"id": __ID__') for v in base], ids=True)
# Fixed ids (the 20 bodies cycle, so later requests overwrite points: still one full upsert
# each): rewriting ids in a 470 KB body per request would make wrk's Lua the bottleneck.
lua(f"{out}/upsert64.lua", "PUT", "/collections/ingest/points?wait=true",
    [json.dumps({"points": [{"id": 10_000_000 + b * 64 + k, "vector": v, "payload": {"source": "bench"}}
                            for k, v in enumerate(base[b * 64:(b + 1) * 64])]}) for b in range(20)], ids=False)
print(f"query body {len(json.dumps({'query': queries[0], 'limit': 10}))} bytes; upsert body about {len(json.dumps({'points': [{'id': 0, 'vector': base[0]}]}))} bytes")
