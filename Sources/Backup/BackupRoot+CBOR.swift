import IPLD
/// The DAG-CBOR form of a root block. Keys are short English words; DAG-CBOR sorts them.
extension BackupRoot {
    func encoded() -> [UInt8] {
        DAGCBOR.map([
            "format": .text(BackupFormat.formatName),
            "version": .unsigned(BackupFormat.version),
            "kind": .text(kind.rawValue),
            "sequence": .unsigned(sequence),
            "created": .unsigned(createdNanoseconds),
            "previous": previous.map { .link($0) } ?? .null,
            "collections": .array(collections.map { $0.cbor }),
        ]).encoded()
    }

    /// Decodes a root block; `fail` builds the error for a field that is wrong.
    init(decoding bytes: [UInt8], fail: @escaping (String) -> BackupError) throws(BackupError) {
        let value: DAGCBOR
        do { value = try DAGCBOR(decoding: bytes) } catch { throw fail("root block is not DAG-CBOR: \(error)") }
        let f = Fields(value: value, context: "root", fail: fail)
        guard try f.text("format") == BackupFormat.formatName else { throw fail("root format is not \(BackupFormat.formatName)") }
        let version = try f.uint("version")
        guard version == BackupFormat.version else { throw fail("root version \(version); this build reads \(BackupFormat.version)") }
        guard let kind = BackupKind(rawValue: try f.text("kind")) else { throw fail("root kind is neither full nor incremental") }
        self.kind = kind
        sequence = try f.uint("sequence")
        createdNanoseconds = try f.uint("created")
        previous = try f.optionalLink("previous")
        collections = try f.array("collections").map { v throws(BackupError) in
            try BackupCollection(cbor: Fields(value: v, context: "collection", fail: fail))
        }
    }
}

extension BackupCollection {
    var cbor: DAGCBOR {
        var fields: [String: DAGCBOR] = [
            "name": .text(name),
            "metadata": .link(metadata),
            "manifest": manifest.map { .link($0) } ?? .null,
            "flushedLSN": .unsigned(flushedLSN),
            "segments": .array(segments.map {
                .map(["id": .text($0.contentID), "file": .link($0.file), "bytes": .unsigned($0.bytes)])
            }),
            "wal": .array(wal.map {
                .map(["name": .text($0.name), "file": .link($0.file), "bytes": .unsigned($0.bytes),
                      "firstLSN": .unsigned($0.firstLSN), "lastLSN": .unsigned($0.lastLSN)])
            }),
            "firstLSN": .unsigned(firstLSN),
            "lastLSN": .unsigned(lastLSN),
            "firstTime": firstTime.map { .unsigned($0) } ?? .null,
            "lastTime": lastTime.map { .unsigned($0) } ?? .null,
            "times": .array(times.map { .array([.unsigned($0.lsn), .unsigned($0.time)]) }),
        ]
        if let digest {  // absent, not null, when unknown: older roots read the same
            fields[digest.kind == .tree ? "tree" : "digest"] = .map(["lsn": .unsigned(digest.lsn), "points": .unsigned(digest.points), "root": .bytes(digest.root)])
        }
        return .map(fields)
    }

    init(cbor f: Fields) throws(BackupError) {
        name = try f.text("name")
        metadata = try f.link("metadata")
        manifest = try f.optionalLink("manifest")
        flushedLSN = try f.uint("flushedLSN")
        segments = try f.array("segments").map { v throws(BackupError) in
            let s = f.nested(v, "segment")
            return SegmentFile(contentID: try s.text("id"), file: try s.link("file"), bytes: try s.uint("bytes"))
        }
        wal = try f.array("wal").map { v throws(BackupError) in
            let w = f.nested(v, "WAL file")
            return WALFile(name: try w.text("name"), file: try w.link("file"), bytes: try w.uint("bytes"),
                           firstLSN: try w.uint("firstLSN"), lastLSN: try w.uint("lastLSN"))
        }
        firstLSN = try f.uint("firstLSN")
        lastLSN = try f.uint("lastLSN")
        firstTime = try f.optionalUInt("firstTime")
        lastTime = try f.optionalUInt("lastTime")
        let collection = name
        times = try f.array("times").map { v throws(BackupError) in
            guard case .array(let pair) = v, pair.count == 2, case .unsigned(let l) = pair[0], case .unsigned(let t) = pair[1]
            else { throw f.fail("collection '\(collection)': a times entry is not [lsn, time]") }
            return TimePoint(lsn: l, time: t)
        }
        for kind in [Digest.Kind.tree, .xor] {
            let key = kind == .tree ? "tree" : "digest"
            guard digest == nil, let d = f.value[key] else { continue }
            let g = f.nested(d, "collection '\(collection)' \(key)")
            let root = try g.bytes("root")
            guard root.count == 32 else { throw f.fail("collection '\(collection)': \(key) root is \(root.count) bytes, not 32") }
            digest = Digest(kind: kind, lsn: try g.uint("lsn"), points: try g.uint("points"), root: root)
            guard digest!.lsn == lastLSN else {
                throw f.fail("collection '\(collection)': digest at LSN \(digest!.lsn), not at the backup's last LSN \(lastLSN)")
            }
        }
    }
}

/// Typed access to a DAG-CBOR map's fields, with errors that name the field.
struct Fields {
    let value: DAGCBOR
    let context: String
    let fail: (String) -> BackupError

    func nested(_ v: DAGCBOR, _ context: String) -> Fields { Fields(value: v, context: context, fail: fail) }

    private func field(_ key: String) throws(BackupError) -> DAGCBOR {
        guard case .map = value else { throw fail("\(context) is not a map") }
        guard let v = value[key] else { throw fail("\(context) has no field \(key)") }
        return v
    }

    func text(_ key: String) throws(BackupError) -> String {
        guard case .text(let s) = try field(key) else { throw fail("\(context) field \(key) is not text") }
        return s
    }

    func uint(_ key: String) throws(BackupError) -> UInt64 {
        guard case .unsigned(let n) = try field(key) else { throw fail("\(context) field \(key) is not an unsigned integer") }
        return n
    }

    func optionalUInt(_ key: String) throws(BackupError) -> UInt64? {
        let v = try field(key)
        if case .null = v { return nil }
        guard case .unsigned(let n) = v else { throw fail("\(context) field \(key) is neither an integer nor null") }
        return n
    }

    func bytes(_ key: String) throws(BackupError) -> [UInt8] {
        guard case .bytes(let b) = try field(key) else { throw fail("\(context) field \(key) is not a byte string") }
        return b
    }

    func link(_ key: String) throws(BackupError) -> CID {
        guard case .link(let c) = try field(key) else { throw fail("\(context) field \(key) is not a link") }
        return c
    }

    func optionalLink(_ key: String) throws(BackupError) -> CID? {
        let v = try field(key)
        if case .null = v { return nil }
        guard case .link(let c) = v else { throw fail("\(context) field \(key) is neither a link nor null") }
        return c
    }

    func array(_ key: String) throws(BackupError) -> [DAGCBOR] {
        guard case .array(let a) = try field(key) else { throw fail("\(context) field \(key) is not an array") }
        return a
    }
}
