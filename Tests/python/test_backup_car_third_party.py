"""The backup CARs read by third-party IPLD libraries from PyPI (multiformats for CIDs,
varints and multihashes, dag-cbor for the header and root blocks, ipld-dag-pb for UnixFS
nodes), none of hsdb's own code: every block is hashed against its CID, every link of every
DAG-CBOR and DAG-PB block resolves somewhere in the chain, and each segment file is rebuilt
from its UnixFS DAG byte for byte."""
import hashlib
import os
import time

import dag_cbor
import httpx
import ipld_dag_pb
from multiformats import CID, multihash, varint

RAW, DAG_PB, DAG_CBOR = 0x55, 0x70, 0x71


def read_car(path):
    """(roots, {CID: bytes}) of a CARv1 file, each section's CID parsed from its varints."""
    data = memoryview(open(path, "rb").read())
    length, n, _ = varint.decode_raw(data)
    header = dag_cbor.decode(bytes(data[n:n + length]))
    assert header["version"] == 1 and len(header["roots"]) == 1, header
    offset, blocks = n + length, {}
    while offset < len(data):
        length, n, _ = varint.decode_raw(data[offset:])
        section = data[offset + n:offset + n + length]
        cid_length = 0
        for _ in range(3):  # version, codec, multihash code
            _, k, _ = varint.decode_raw(section[cid_length:])
            cid_length += k
        digest_length, k, _ = varint.decode_raw(section[cid_length:])
        cid_length += k + digest_length
        cid = CID.decode(bytes(section[:cid_length]))
        block = bytes(section[cid_length:])
        assert multihash.digest(block, "sha2-256") == cid.digest, f"{path} at offset {offset}: block does not match {cid}"
        blocks[cid] = block
        offset += n + length
    return header["roots"], blocks


def links(cid, block):
    if cid.codec.code == DAG_PB:
        return [link.hash for link in ipld_dag_pb.decode(block).links]
    if cid.codec.code == DAG_CBOR:
        found = []

        def walk(v):
            if isinstance(v, CID):
                found.append(v)
            elif isinstance(v, dict):
                for x in v.values():
                    walk(x)
            elif isinstance(v, list):
                for x in v:
                    walk(x)
        walk(dag_cbor.decode(block))
        return found
    return []


def unixfs_data(data):
    """Fields of a UnixFS `Data` message: 1 Type, 2 Data, 3 filesize, 4 blocksizes."""
    fields, offset = {}, 0
    while offset < len(data):
        key, n, _ = varint.decode_raw(data[offset:])
        offset += n
        if key & 7 == 0:
            value, n, _ = varint.decode_raw(data[offset:])
            offset += n
        else:
            length, n, _ = varint.decode_raw(data[offset:])
            value = bytes(data[offset + n:offset + n + length])
            offset += n + length
        fields.setdefault(key >> 3, []).append(value)
    return fields


def file_bytes(cid, blocks):
    if cid.codec.code == RAW:
        return blocks[cid]
    node = ipld_dag_pb.decode(blocks[cid])
    fields = unixfs_data(bytes(node.data or b""))
    assert fields[1] == [2], f"{cid} is not a UnixFS file node"
    out = b"".join(fields.get(2, [])) + b"".join(file_bytes(link.hash, blocks) for link in node.links)
    assert len(out) == fields[3][0], f"{cid}: {len(out)} bytes, filesize says {fields[3][0]}"
    return out


def test_every_backup_car_reads_with_third_party_ipld_libraries(fresh_server, tmp_path):
    data, backups = str(tmp_path / "data"), str(tmp_path / "backups")
    s = fresh_server("--backup-dir", backups, "--archive-interval", "3600", "--memtable-mb", "1", data=data)
    with httpx.Client(base_url=s.url, timeout=30) as http:
        assert http.put("/collections/c", json={"vectors": {"size": 64, "distance": "Cosine"}}).status_code == 200
        for round in range(3):
            for batch in range(8):
                pts = [{"id": round * 1000 + batch * 100 + i, "vector": [((i * 7 + j + batch) % 13) / 13 for j in range(64)],
                        "payload": {"text": "p" * 300, "n": i}} for i in range(100)]
                assert http.put("/collections/c/points?wait=true", json={"points": pts}).status_code == 200
            if round == 2:  # a segment in the last backup: wait for the background flush to publish one
                deadline = time.monotonic() + 60
                while http.get("/collections/c").json()["result"]["segments_count"] < 1:
                    assert time.monotonic() < deadline, "no segment was flushed"
                    time.sleep(0.05)
            assert http.post("/backups").status_code == 200

        cars = sorted(n for n in os.listdir(backups) if n.endswith(".car"))
        assert len(cars) >= 3, cars
        chain, roots = {}, []
        for name in cars:
            car_roots, blocks = read_car(os.path.join(backups, name))
            chain.update(blocks)
            roots.append((name, car_roots[0]))
        previous = None
        for name, root in roots:
            assert root.codec.code == DAG_CBOR and root in chain, name
            decoded = dag_cbor.decode(chain[root])
            assert decoded["format"] == "hsdb-backup" and decoded["previous"] == previous, (name, decoded["previous"])
            previous = root
        for cid, block in chain.items():
            for link in links(cid, block):
                assert link in chain, f"{cid} links {link}, which no CAR of the chain holds"

        latest = dag_cbor.decode(chain[roots[-1][1]])
        (collection,) = [c for c in latest["collections"] if c["name"] == "c"]
        assert collection["segments"], "the workload flushed segments"
        for seg in collection["segments"]:
            rebuilt = file_bytes(seg["file"], chain)
            assert len(rebuilt) == seg["bytes"]
            # A segment's id is the SHA-256 of its bytes; the file itself, while no merge retired it.
            assert hashlib.sha256(rebuilt).hexdigest() == seg["id"], f"segment {seg['id']} rebuilt from its UnixFS DAG differs"
            path = os.path.join(data, "collections", "c", "segments", seg["id"] + ".seg")
            if os.path.exists(path):
                assert rebuilt == open(path, "rb").read()
        for wal in collection["wal"]:
            assert len(file_bytes(wal["file"], chain)) == wal["bytes"]


def test_a_qdrant_snapshot_is_a_standalone_backup_car(fresh_server, tmp_path):
    """The Qdrant snapshot endpoints write the same archive: one CAR, backup 1 of its own
    chain, with the collection's segments and its unflushed log; the third-party libraries
    read it whole, and its checksum is the SHA-256 of the downloaded bytes."""
    s = fresh_server("--memtable-mb", "1", data=str(tmp_path / "data"))
    with httpx.Client(base_url=s.url, timeout=30) as http:
        assert http.put("/collections/c", json={"vectors": {"size": 32, "distance": "Dot"}}).status_code == 200
        for batch in range(24):
            pts = [{"id": batch * 100 + i, "vector": [((i * 5 + j + batch) % 11) / 11 for j in range(32)],
                    "payload": {"text": "q" * 400, "n": i}} for i in range(100)]
            assert http.put("/collections/c/points?wait=true", json={"points": pts}).status_code == 200
        deadline = time.monotonic() + 60
        while http.get("/collections/c").json()["result"]["segments_count"] < 1:
            assert time.monotonic() < deadline, "no segment was flushed"
            time.sleep(0.05)
        tail = [{"id": 5000 + i, "vector": [1.0] * 32, "payload": {"late": True}} for i in range(3)]
        assert http.put("/collections/c/points?wait=true", json={"points": tail}).status_code == 200
        snap = http.post("/collections/c/snapshots?wait=true").json()["result"]
        download = http.get(f"/collections/c/snapshots/{snap['name']}")
        assert download.status_code == 200
    path = tmp_path / "snapshot.car"
    path.write_bytes(download.content)
    assert hashlib.sha256(download.content).hexdigest() == snap["checksum"] and len(download.content) == snap["size"]

    (root,), blocks = read_car(str(path))
    decoded = dag_cbor.decode(blocks[root])
    assert decoded["format"] == "hsdb-backup" and decoded["previous"] is None and decoded["kind"] == "full", decoded
    (collection,) = decoded["collections"]
    assert collection["name"] == "c" and collection["segments"]
    for cid, block in blocks.items():
        for link in links(cid, block):
            assert link in blocks, f"{cid} links {link}, which the snapshot does not hold"
    for seg in collection["segments"]:
        assert hashlib.sha256(file_bytes(seg["file"], blocks)).hexdigest() == seg["id"]
    # The records still in the memtable travel as the WAL tail, through the last write.
    assert collection["wal"] and collection["lastLSN"] == 25, collection["lastLSN"]
    for wal in collection["wal"]:
        assert len(file_bytes(wal["file"], blocks)) == wal["bytes"]


def test_a_bootstrap_stream_reads_as_a_backup_does(fresh_server, tmp_path):
    """The snapshot a leader offers a follower, fetched as its DAG (GET /replication/dags/{name}),
    reads with the same third-party libraries: one root, every block hashed, every link
    resolved, the root block naming each file of the collection, each rebuilt from its UnixFS
    DAG byte for byte as the leader serves it whole; and the same segment has the same CID as
    in a backup of the same state (the same blocks)."""
    data, backups = str(tmp_path / "data"), str(tmp_path / "backups")
    s = fresh_server("--backup-dir", backups, "--archive-interval", "3600", "--memtable-mb", "1", data=data)
    with httpx.Client(base_url=s.url, timeout=30) as http:
        assert http.put("/collections/c", json={"vectors": {"size": 64, "distance": "Cosine"}}).status_code == 200
        for batch in range(40):  # about 2.4 MB: flushed into segments from 1 MiB memtables
            pts = [{"id": batch * 100 + i, "vector": [((i * 3 + j + batch) % 17) / 17 for j in range(64)],
                    "payload": {"text": "b" * 300}} for i in range(100)]
            assert http.put("/collections/c/points?wait=true", json={"points": pts}).status_code == 200
        deadline = time.monotonic() + 60  # segments in the snapshot: wait for the 1 MiB memtables' flushes
        while http.get("/collections/c").json()["result"]["segments_count"] < 1:
            assert time.monotonic() < deadline, "no segments were flushed"
            time.sleep(0.05)
        offer = http.post("/replication/collections/c/snapshot?follower=7d1a3c2e-0000-4000-8000-000000000001").json()["result"]
        assert http.post("/backups").status_code == 200
        stream = http.get(f"/replication/dags/{offer['name']}")
        assert stream.status_code == 200 and stream.headers["content-type"].startswith("application/vnd.ipld.car")
        whole = {f["name"]: http.get(f"/replication/snapshots/{offer['name']}/{f['name']}").content for f in offer["files"]}
        structure = http.get(f"/replication/dags/{offer['name']}?leaves=false")
        one = http.post(f"/replication/dags/{offer['name']}/blocks", json={"cids": [offer["root"]]})
        stranger = CID("base32", 1, "raw", multihash.wrap(hashlib.sha256(b"x").digest(), "sha2-256")).encode("base32")
        refused = http.post(f"/replication/dags/{offer['name']}/blocks", json={"cids": [offer["root"], stranger]})
        malformed = http.post(f"/replication/dags/{offer['name']}/blocks", json={"cids": ["nonsense"]})
        gone = http.get("/replication/dags/c-00000000-0000-0000-0000-000000000000")
    path = tmp_path / "bootstrap.car"
    path.write_bytes(stream.content)
    (root,), blocks = read_car(str(path))
    assert root.encode("base32") == offer["root"] and root.codec.code == DAG_CBOR
    for cid, block in blocks.items():
        for link in links(cid, block):
            assert link in blocks, f"{cid} links {link}, which the stream does not hold"
    decoded = dag_cbor.decode(blocks[root])
    assert decoded["format"] == "hsdb-bootstrap-snapshot" and decoded["collection"] == "c"
    assert decoded["lsn"] == offer["lsn"] and decoded["hash"].hex() == offer["hash"]
    assert sorted(f["name"] for f in decoded["files"]) == sorted(whole)
    for f in decoded["files"]:
        rebuilt = file_bytes(f["root"], blocks)
        assert rebuilt == whole[f["name"]] and len(rebuilt) == f["bytes"], f["name"]
    # The same segment is the same DAG in the backup taken of the same state.
    chain = {}
    for car in sorted(n for n in os.listdir(backups) if n.endswith(".car")):
        (backup_root,), backup_blocks = read_car(os.path.join(backups, car))
        chain.update(backup_blocks)
    (collection,) = dag_cbor.decode(chain[backup_root])["collections"]
    by_name = {f["name"]: f["root"] for f in decoded["files"]}
    assert collection["segments"]
    for seg in collection["segments"]:
        assert by_name[seg["id"] + ".seg"] == seg["file"]
    # The structure alone: no raw leaf; the blocks asked for, in a CAR of their own.
    (path := tmp_path / "structure.car").write_bytes(structure.content)
    _, nodes = read_car(str(path))
    assert root in nodes and all(cid.codec.code != RAW for cid in nodes)
    (path := tmp_path / "one.car").write_bytes(one.content)
    assert list(read_car(str(path))[1]) == [root]
    assert refused.status_code == 400 and refused.json()["status"]["error"] == \
        f"Wrong input: cids[1]: {stranger} is not a block of this snapshot"
    assert malformed.status_code == 400 and malformed.json()["status"]["error"] == "Wrong input: cids[0] is not a CID"
    assert gone.status_code == 404
