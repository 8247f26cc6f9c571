"""Reads and writes a collection's MANIFEST as DESIGN.md ("Manifest") gives it, so a test can
edit a copy offline the way damage past the checksums would (points lost, deleted points
back) and still have a file the engine opens."""
import struct


def crc32c(data):
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def mask(crc):
    return ((((crc >> 15) | (crc << 17)) & 0xFFFFFFFF) + 0xA282EAD8) & 0xFFFFFFFF


def _varint(data, at):
    value = shift = 0
    while True:
        b = data[at]
        at += 1
        value |= (b & 0x7F) << shift
        shift += 7
        if b < 0x80:
            return value, at


def _put_varint(n):
    out = bytearray()
    while n >= 0x80:
        out.append(n & 0x7F | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def read(path):
    data = open(path, "rb").read()
    assert data[:8] == b"HSDBMANI" and struct.unpack("<I", data[-4:])[0] == mask(crc32c(data[:-4])), path
    fmt, version, flushed = struct.unpack_from("<HQQ", data, 8)
    count, at = _varint(data, 26)
    segments = []
    for _ in range(count):
        content, points, lo, hi, size = struct.unpack_from("<32sIQQQ", data, at)
        at += 32 + 4 + 24
        n, at = _varint(data, at)
        dead, previous = [], 0
        for i in range(n):
            d, at = _varint(data, at)
            previous = d if i == 0 else previous + d
            dead.append(previous)
        segments.append({"content": content, "count": points, "min": lo, "max": hi, "bytes": size, "dead": dead})
    return {"format": fmt, "version": version, "flushed": flushed, "segments": segments, "rest": data[at:-4]}


def write(path, m):
    out = bytearray(b"HSDBMANI") + struct.pack("<HQQ", m["format"], m["version"], m["flushed"]) + _put_varint(len(m["segments"]))
    for s in m["segments"]:
        out += struct.pack("<32sIQQQ", s["content"], s["count"], s["min"], s["max"], s["bytes"]) + _put_varint(len(s["dead"]))
        previous = 0
        for i, d in enumerate(sorted(s["dead"])):
            out += _put_varint(d if i == 0 else d - previous)
            previous = d
    out += m["rest"]
    out += struct.pack("<I", mask(crc32c(bytes(out))))
    open(path, "wb").write(bytes(out))
