internal import CHamming

/// A flat scan over binary codes with the native kernel (Sources/CHamming): codes copied into
/// the kernel's block layout (8 codes per block, word-major, so one 512-bit load holds one
/// word of 8 codes), searched by Hamming distance with the top-k selection fused into the
/// scan. A segment's codes are stored row-major on disk; the copy is made in memory once per
/// segment, on its first scan (DESIGN.md, "Index", "Scan kernel").
public final class CodeBlocks: @unchecked Sendable {
    // @unchecked Sendable: `storage` is written only in init and read-only after.
    public let count: Int
    public let words: Int
    private let storage: UnsafeMutablePointer<UInt64>
    private let storageWords: Int

    /// Copies the first `count` codes of `codes`.
    public init(_ codes: BinaryCodes, count: Int) {
        precondition(count >= 0 && count < 1 << 32 && codes.words >= 1)
        self.count = count
        words = codes.words
        storageWords = max(hsdb_code_blocks_words(count, words), 8)
        let raw = UnsafeMutableRawPointer.allocate(byteCount: storageWords * 8, alignment: 64)
        storage = raw.bindMemory(to: UInt64.self, capacity: storageWords)
        hsdb_code_blocks_pack(codes.base, count, words, storage)
    }

    deinit { UnsafeMutableRawPointer(storage).deallocate() }

    /// Heap bytes held by the copy.
    public var byteCount: Int { storageWords * 8 }

    /// The `k` codes nearest to `query` (`words` words) by Hamming distance, nearest first,
    /// ties to the lower ordinal, among the ordinals set in `live` (nil: all).
    /// REQUIRES: `live`, if given, has (count + 63) / 64 words.
    public func nearest(to query: UnsafePointer<UInt64>, k: Int, live: UnsafePointer<UInt64>? = nil) -> [Candidate] {
        guard k > 0, count > 0 else { return [] }
        let capacity = min(k, count)
        let keys = [UInt64](unsafeUninitializedCapacity: capacity) { buffer, initialised in
            initialised = hsdb_code_scan_topk(query, storage, count, words, live, capacity, buffer.baseAddress!)
        }
        return keys.map { Candidate(distance: Float($0 >> CandidateSet.distanceShift), node: UInt32(truncatingIfNeeded: $0)) }
    }

    /// Offers the `count` codes (nil: all) set in `live` to `candidates` under `tag`.
    public func scan(_ query: UnsafePointer<UInt64>, live: UnsafePointer<UInt64>?, tag: Int, into candidates: inout CandidateSet) {
        candidates.scan(query, blocks: storage, count: count, words: words, live: live, tag: tag, first: 0)
    }

    /// The Hamming distance from `query` to every code, by ordinal.
    public func distances(to query: UnsafePointer<UInt64>) -> [UInt32] {
        [UInt32](unsafeUninitializedCapacity: count) { buffer, initialised in
            if count > 0 { hsdb_code_distances(query, storage, count, words, buffer.baseAddress!) }
            initialised = count
        }
    }
}

/// Which code path the scan kernel runs (chosen once from the CPU and the HSDB_SIMD
/// environment variable: scalar, avx2 or avx512; a path the CPU lacks falls back to the best
/// one below it).
public enum ScanKernel: Int32, Sendable, CaseIterable, CustomStringConvertible {
    case scalar = 0
    case avx2 = 1
    case avx512 = 2

    /// The path in use.
    public static var active: ScanKernel { ScanKernel(rawValue: hsdb_simd_path()) ?? .scalar }

    /// The best path this CPU has.
    public static var best: ScanKernel { ScanKernel(rawValue: hsdb_simd_best_path()) ?? .scalar }

    /// Makes `path` active (clamped to what the CPU has) and returns the path now in use.
    /// Every path returns the same results, so this is safe while searches run.
    @discardableResult
    public static func use(_ path: ScanKernel) -> ScanKernel { ScanKernel(rawValue: hsdb_simd_set_path(path.rawValue)) ?? .scalar }

    /// Reads HSDB_SIMD again and returns the path now in use.
    @discardableResult
    public static func reloadEnvironment() -> ScanKernel { ScanKernel(rawValue: hsdb_simd_reload_environment()) ?? .scalar }

    public var description: String {
        switch self {
        case .scalar: return "scalar"
        case .avx2: return "avx2"
        case .avx512: return "avx512"
        }
    }
}

extension FloatQuery {
    /// Exact distances from the query to `nodes`, in order, prefetching the vectors
    /// `prefetchAhead` nodes ahead so their fetch from memory overlaps the arithmetic. Same
    /// arithmetic as `distance(to:)`, so the scores are identical.
    public func distances(to nodes: [UInt32], prefetchAhead: Int = 4) -> [Float] {
        let rowBytes = vectors.dimension * MemoryLayout<Float>.size
        for node in nodes.prefix(prefetchAhead) { hsdb_prefetch(vectors.vector(node), rowBytes) }
        return [Float](unsafeUninitializedCapacity: nodes.count) { out, initialised in
            for i in nodes.indices {
                if i + prefetchAhead < nodes.count { hsdb_prefetch(vectors.vector(nodes[i + prefetchAhead]), rowBytes) }
                out[i] = distance(to: nodes[i])
            }
            initialised = nodes.count
        }
    }
}

extension Metric {
    /// Exact distances from `query` to each of `vectors` (`dimension` floats each), in order,
    /// prefetching the vectors `prefetchAhead` ahead so their fetch overlaps the arithmetic.
    public func distances(
        _ query: UnsafePointer<Float>, to vectors: [UnsafePointer<Float>], dimension: Int, prefetchAhead: Int = 4
    ) -> [Float] {
        let rowBytes = dimension * MemoryLayout<Float>.size
        for v in vectors.prefix(prefetchAhead) { hsdb_prefetch(v, rowBytes) }
        return [Float](unsafeUninitializedCapacity: vectors.count) { out, initialised in
            for i in vectors.indices {
                if i + prefetchAhead < vectors.count { hsdb_prefetch(vectors[i + prefetchAhead], rowBytes) }
                out[i] = distance(query, vectors[i], count: dimension)
            }
            initialised = vectors.count
        }
    }
}
