import HSDBCore

/// The sparse vectors of a segment, as eight sections (format version 2; DESIGN.md, "Sparse
/// vectors in segments"): the vectors themselves by ordinal, for reading a point back and for
/// merges, and an inverted index, for search.
///
///     names:            count u32 | count x (length u16 | UTF-8), in ascending order
///     offsets:          per name, (points + 1) x u64: ordinal o's entries of name n are
///                       entries offsets[n][o] ..< offsets[n][o + 1]
///     indices, values:  entries x u32, entries x f32
///     term keys:        keys x u64 (name << 32 | index), ascending
///     term starts:      (keys + 1) x u64: key k's postings are postings starts[k] ..< starts[k + 1]
///     posting ordinals: entries x u32 (ascending within a key); posting values: entries x f32
///
/// Every entry of every vector appears once in the postings, so both arrays have `entries`
/// elements.
struct SparseSections {
    var names: [UInt8] = []
    var offsets: [UInt64] = []
    var indices: [UInt32] = []
    var values: [Float] = []
    var termKeys: [UInt64] = []
    var termStarts: [UInt64] = []
    var postingOrdinals: [UInt32] = []
    var postingValues: [Float] = []

    /// The sections of `source`'s sparse vectors; nil when it declares none.
    static func build(_ source: some SegmentSource) -> SparseSections? {
        let declared = source.sparseNames
        guard !declared.isEmpty else { return nil }
        var s = SparseSections()
        var w = ByteWriter(capacity: 64)
        w.write(UInt32(declared.count))
        for name in declared {
            w.write(UInt16(name.utf8.count))
            w.write(bytes: Array(name.utf8))
        }
        s.names = w.bytes
        // (key, ordinal, value) of every entry, then sorted by key and ordinal for the postings.
        var entries: [(key: UInt64, ordinal: UInt32, value: Float)] = []
        for n in declared.indices {
            for o in 0..<source.count {
                s.offsets.append(UInt64(s.indices.count))
                guard let v = source.sparse(o, name: n) else { continue }
                s.indices += v.indices
                s.values += v.values
                for (i, x) in zip(v.indices, v.values) { entries.append((UInt64(n) << 32 | UInt64(i), UInt32(o), x)) }
            }
            s.offsets.append(UInt64(s.indices.count))
        }
        entries.sort { ($0.key, $0.ordinal) < ($1.key, $1.ordinal) }
        for (position, e) in entries.enumerated() {
            if s.termKeys.last != e.key {
                s.termKeys.append(e.key)
                s.termStarts.append(UInt64(position))
            }
            s.postingOrdinals.append(e.ordinal)
            s.postingValues.append(e.value)
        }
        s.termStarts.append(UInt64(entries.count))
        return s
    }

    /// The names section, checked: names ascending, the section exactly consumed.
    static func decodeNames(_ bytes: UnsafeRawBufferPointer, offset: Int, path: String) throws(CorruptionError) -> [String] {
        var r = ByteReader(bytes)
        func bad(_ reason: String) -> CorruptionError { CorruptionError(file: path, offset: Int64(offset + r.offset), reason: reason) }
        do {
            let count = Int(try r.read(UInt32.self))
            guard count <= bytes.count / 2 else { throw bad("sparse name count \(count) exceeds the section") }
            var names: [String] = []
            for _ in 0..<count {
                let length = Int(try r.read(UInt16.self))
                guard let name = String(validating: try r.readBytes(length), as: UTF8.self), !name.isEmpty else {
                    throw bad("sparse vector name is empty or not UTF-8")
                }
                if let last = names.last, !(last < name) { throw bad("sparse vector names are not in ascending order") }
                names.append(name)
            }
            guard r.isAtEnd else { throw bad("trailing bytes after the sparse names") }
            return names
        } catch let e as FormatError {
            throw CorruptionError(file: path, offset: Int64(offset + e.offset), reason: e.description)
        } catch let e as CorruptionError {
            throw e
        } catch {
            throw bad("\(error)")
        }
    }

    static let kinds: [SectionKind] = [
        .sparseNames, .sparseOffsets, .sparseIndices, .sparseValues, .sparseTermKeys, .sparseTermStarts,
        .sparsePostingOrdinals, .sparsePostingValues,
    ]
}

extension SegmentSource {
    public var sparseNames: [String] { [] }
    public func sparse(_ ordinal: Int, name: Int) -> SparseVector? { nil }
}
