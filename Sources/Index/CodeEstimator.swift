internal import CHamming

/// The asymmetric estimator over 1-bit codes (RaBitQ's estimator without the random
/// rotation; DESIGN.md, "Index", "Estimator"): the query kept at 4 bits per dimension, each
/// vector's code with a few exact factors beside it, so the estimated distance of a code is
/// close enough to rank with a quarter of the candidates Hamming distance needs. Records
/// (`EstimatorRecords`) hold, per vector, its code and factors in one cache line for 384
/// dimensions; the native kernel (Sources/CHamming/graph.c) estimates them.
public enum CodeEstimator {
    /// Bytes of one record for codes of `words` words.
    public static func recordBytes(words: Int) -> Int { hsdb_record_bytes(words) }

    /// Writes the record of `vector` (its code under `quantizer`, then f, g, ones, |v|^2).
    public static func writeRecord(_ vector: UnsafePointer<Float>, quantizer: BinaryQuantizer, into record: UnsafeMutableRawPointer) {
        quantizer.mean.withUnsafeBufferPointer {
            hsdb_write_record(vector, $0.baseAddress!, $0.count, record.assumingMemoryBound(to: UInt8.self))
        }
    }
}

/// Records of the estimator stored back to back (`stride` bytes each). A view: the owner keeps
/// the memory alive and unchanged while it is used.
public struct EstimatorRecords: @unchecked Sendable {
    // @unchecked Sendable: a read-only view of immutable storage.
    public let base: UnsafeRawPointer
    public let stride: Int
    public let count: Int

    public init(base: UnsafeRawPointer, stride: Int, count: Int) {
        self.base = base
        self.stride = stride
        self.count = count
    }
}

/// Records built in memory for the vectors of a segment (on its first search that needs them).
public final class EstimatorRecordStore: @unchecked Sendable {
    // @unchecked Sendable: `storage` is written only in init and read-only after.
    public let records: EstimatorRecords
    private let storage: UnsafeMutableRawPointer

    /// Records for `count` vectors stored back to back in `vectors`.
    public init(_ vectors: FloatVectors, count: Int, quantizer: BinaryQuantizer) {
        let stride = CodeEstimator.recordBytes(words: quantizer.wordsPerCode)
        storage = .allocate(byteCount: max(count * stride, 16), alignment: 64)
        for i in 0..<count { CodeEstimator.writeRecord(vectors.vector(UInt32(i)), quantizer: quantizer, into: storage + i * stride) }
        records = EstimatorRecords(base: storage, stride: stride, count: count)
    }

    deinit { storage.deallocate() }

    /// Heap bytes held.
    public var byteCount: Int { records.count * records.stride }
}

/// A query prepared for the estimator under one quantizer: its 4-bit bit planes and sums.
public struct EstimatorQuery: Sendable {
    private let planes: [UInt64]
    private let fields: Fields

    /// `hsdb_estimator_query` without its pointer (the planes stay in this value).
    private struct Fields: Sendable {
        var words: Int, lo: Float, delta: Float, sumQ: Float, meanDotQuery: Float, euclidean: Int32
    }

    public init(_ query: [Float], quantizer: BinaryQuantizer, metric: Metric) {
        let words = quantizer.wordsPerCode
        var raw = hsdb_estimator_query()
        planes = [UInt64](unsafeUninitializedCapacity: 4 * words) { p, initialised in
            query.withUnsafeBufferPointer { q in
                quantizer.mean.withUnsafeBufferPointer { m in
                    hsdb_estimator_prepare(q.baseAddress!, m.baseAddress!, m.count, metric == .euclidean ? 1 : 0, p.baseAddress!, &raw)
                }
            }
            initialised = 4 * words
        }
        fields = Fields(words: words, lo: raw.lo, delta: raw.delta, sumQ: raw.sum_q, meanDotQuery: raw.c_dot_q, euclidean: raw.euclidean)
    }

    func withRaw<R>(_ body: (UnsafePointer<hsdb_estimator_query>) -> R) -> R {
        planes.withUnsafeBufferPointer { p in
            var q = hsdb_estimator_query(
                planes: p.baseAddress!, words: fields.words, lo: fields.lo, delta: fields.delta, sum_q: fields.sumQ,
                c_dot_q: fields.meanDotQuery, euclidean: fields.euclidean)
            return body(&q)
        }
    }

    /// The estimated distance (smaller is nearer) of one record.
    public func distance(_ record: UnsafeRawPointer) -> Float {
        withRaw { hsdb_estimate($0, record.assumingMemoryBound(to: UInt8.self)) }
    }

    /// Estimated distances of the records of `ordinals`, in order.
    public func distances(_ records: EstimatorRecords, _ ordinals: [UInt32]) -> [Float] {
        [Float](unsafeUninitializedCapacity: ordinals.count) { out, initialised in
            withRaw { q in
                ordinals.withUnsafeBufferPointer { o in
                    hsdb_estimate_many(q, records.base.assumingMemoryBound(to: UInt8.self), records.stride, o.baseAddress, o.count, out.baseAddress)
                }
            }
            initialised = ordinals.count
        }
    }
}

extension HNSWGraph {
    /// The `k` nearest nodes by estimated distance among those set in `accept` (nil: all),
    /// nearest first, walking with a beam of `ef` on level 0 (the native kernel).
    public func search(
        _ query: EstimatorQuery, records: EstimatorRecords, k: Int, ef: Int, accept: [UInt64]?, visited: inout VisitedSet
    ) -> [Candidate] {
        precondition(records.count >= count)
        guard count > 0, k > 0 else { return [] }
        var g = hsdb_graph(
            count: count, m: m, m0: m0, max_level: maxLevel, upper_blocks: upperBlockCount, entry: entryPoint, levels: levels,
            level0: level0, upper_index: upperIndex, upper: upper, records: records.base.assumingMemoryBound(to: UInt8.self),
            stride: records.stride)
        var distances = [Float](repeating: 0, count: k), nodes = [UInt32](repeating: 0, count: k)
        let found = visited.withBits(count: count) { bits in
            query.withRaw { q in
                accept.withOptionalBuffer { a in hsdb_graph_search(&g, q, k, max(ef, k), a, bits, &distances, &nodes) }
            }
        }
        return (0..<found).map { Candidate(distance: distances[$0], node: nodes[$0]) }
    }
}

extension Optional where Wrapped == [UInt64] {
    func withOptionalBuffer<R>(_ body: (UnsafePointer<UInt64>?) -> R) -> R {
        guard let words = self else { return body(nil) }
        return words.withUnsafeBufferPointer { body($0.baseAddress) }
    }
}
