"""A TCP proxy on loopback between a follower and its leader, whose link the test can cut.

`throttle(rate)` slows the leader's binary bodies, so a test can act mid-download;
`binary_bytes` counts them.

`flip_next(n)` changes one byte in each of the next n binary bodies the leader sends (a
shipped WAL frame or a snapshot download), as a faulty link or NIC would.

`cut()` is a silent partition: every open connection stays open but no byte crosses in
either direction, and new connections are accepted and then hear nothing (as when a
switch drops the packets of a peer). `heal()` closes what was held, so both sides see the
old connections end, and lets new ones through.
"""
import select
import socket
import threading
import time


class LinkProxy:
    def __init__(self, target_port):
        self.target = ("127.0.0.1", target_port)
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.port = self.listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.lock = threading.Lock()
        self.is_cut = False
        self.pairs = []
        self.bytes_forwarded = 0
        self.flips_pending = 0
        self.flipped = 0
        self.binary_bytes_per_s = None  # a slow link for the leader's binary bodies
        self.binary_bytes = 0
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def retarget(self, target_port):
        with self.lock:
            self.target = ("127.0.0.1", target_port)

    def flip_next(self, n=1):
        with self.lock:
            self.flips_pending += n

    def throttle(self, bytes_per_s):
        """Slows the leader's binary bodies (frames, snapshot downloads) to this rate (None: off)."""
        with self.lock:
            self.binary_bytes_per_s = bytes_per_s

    def cut(self):
        with self.lock:
            self.is_cut = True

    def heal(self):
        with self.lock:
            self.is_cut = False
            pairs, self.pairs = self.pairs, []
        for a, b in pairs:
            for s in (a, b):
                try:
                    s.close()
                except OSError:
                    pass

    def close(self):
        self.closed = True
        self.heal()
        self.listener.close()

    def _accept(self):
        while not self.closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            with self.lock:
                target = self.target
            try:
                upstream = socket.create_connection(target, timeout=5)
            except OSError:
                client.close()
                continue
            with self.lock:
                self.pairs.append((client, upstream))
            threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()

    def _pump(self, a, b):
        peers = {a: b, b: a}
        binary = False  # the leader's answer on this connection is octet-stream
        try:
            while True:
                ready, _, _ = select.select([a, b], [], [], 0.2)
                with self.lock:
                    held = self.is_cut
                if held:
                    time.sleep(0.05)
                    continue  # bytes stay in the kernel buffers: nothing crosses
                for s in ready:
                    data = s.recv(65536)
                    if not data:
                        return
                    if s is b:
                        if binary and len(data) > 200:
                            with self.lock:
                                flip = self.flips_pending > 0
                                if flip:
                                    self.flips_pending -= 1
                                    self.flipped += 1
                            if flip:
                                data = bytearray(data)
                                # 12 bytes from the end: past any HTTP chunk framing
                                # (CRLF, hex size, CRLF), so it lands in the body.
                                data[len(data) - 12] ^= 0x5A
                                data = bytes(data)
                        elif b"application/octet-stream" in data or b"application/vnd.ipld.car" in data:
                            binary = True  # flip only in later chunks, never in the head
                    peers[s].sendall(data)
                    if s is b and binary:
                        with self.lock:
                            self.binary_bytes += len(data)
                            rate = self.binary_bytes_per_s
                        if rate:
                            time.sleep(len(data) / rate)
                    with self.lock:
                        self.bytes_forwarded += len(data)
        except (OSError, ValueError):
            return
        finally:
            for s in (a, b):
                try:
                    s.close()
                except OSError:
                    pass
