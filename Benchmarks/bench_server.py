"""What the server benchmarks share: the dev vectors, JSON calls, a release `hsdb serve` child."""
import json
import os
import random
import re
import subprocess
import time
import urllib.request

DIM = 384


def vectors(n):
    """The first n of ../shared/data/dev/base.f16 when present (and numpy is), else random."""
    path = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data", "dev", "base.f16")
    try:
        import numpy as np
        if os.path.exists(path):
            return np.fromfile(path, dtype=np.float16, count=n * DIM).reshape(n, DIM).astype(np.float32).round(5).tolist()
    except ImportError:
        pass
    rng = random.Random(1)
    return [[rng.uniform(-1, 1) for _ in range(DIM)] for _ in range(n)]


def call(url, method="GET", body=None, timeout=600):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method, headers={"content-type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return json.loads(r.read())


def upsert(url, vecs, start=0, batch=500):
    for i in range(0, len(vecs), batch):
        pts = [{"id": start + i + j, "vector": v, "payload": {"i": start + i + j}} for j, v in enumerate(vecs[i:i + batch])]
        call(f"{url}/collections/c/points?wait=true", "PUT", {"points": pts})


def tree_bytes(*paths):
    return sum(os.path.getsize(os.path.join(d, f)) for p in paths for d, _, fs in os.walk(p) for f in fs)


def emit(**fields):
    print(json.dumps(fields), flush=True)


class Server:
    """`hsdb serve` on a free port over `data`, its log in `data`.log."""

    def __init__(self, binary, data, *extra):
        self.log_path = data + ".log"
        self.proc = subprocess.Popen([binary, "serve", "--data", data, "--port", "0", "--no-grpc", *extra],
                                     stdout=subprocess.PIPE, stderr=open(self.log_path, "w"), text=True)
        self.url = self.proc.stdout.readline().split()[-1]

    def anon_rss_kib(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            return int(re.search(r"RssAnon:\s+(\d+)", f.read()).group(1))

    def wait_idle(self, quiet_s=1.5, timeout=600):
        """Until the process used no CPU for `quiet_s` (its background work is done)."""
        def cpu():
            with open(f"/proc/{self.proc.pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            return int(fields[11]) + int(fields[12])
        deadline, last, since = time.monotonic() + timeout, cpu(), time.monotonic()
        while time.monotonic() < deadline:
            time.sleep(0.25)
            now = cpu()
            if now - last > 2:  # ticks (1/100 s)
                since = time.monotonic()
            elif time.monotonic() - since >= quiet_s:
                return
            last = now

    def stop(self, timeout=120):
        """SIGTERM and wait: a clean stop waits for a running flush or merge to finish."""
        self.proc.terminate()
        self.proc.wait(timeout=timeout)
