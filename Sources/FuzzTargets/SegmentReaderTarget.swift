import Foundation
import HSDBCore
import HSDBTestSupport
import Index
import Segments

/// Arbitrary bytes as a segment file, as they are and again with the header, section table
/// and tail checksums made valid (so mutations get past them to the structure behind).
/// Properties: opening either succeeds or throws a corruption error naming the file; an opened
/// segment can be read whole (ids, versions, vectors, payloads, a graph search) without
/// crashing or reading out of bounds, whatever its bytes; `verify()` either passes or throws a
/// corruption error.
enum SegmentReaderTarget {
    static let path = "/s/" + String(repeating: "0", count: 64) + SegmentFormat.fileExtension

    static func run(_ data: UnsafeRawBufferPointer) {
        let bytes = Array(data)
        check(bytes)
        let resealed = resealed(bytes)
        if resealed != bytes { check(resealed) }
    }

    static func check(_ bytes: [UInt8]) {
        let fs = FaultInjectingFileSystem()
        do {
            try fs.createDirectories("/s")
            let file = try fs.open(path, mode: .createOrTruncate)
            try bytes.withUnsafeBytes { try file.write($0, at: 0) }
            try file.close()
        } catch {
            fatalError("segment-reader: building the file failed: \(error)")
        }
        let segment: Segment
        do {
            segment = try Segment.open(path: path, fileSystem: fs)
        } catch let c as CorruptionError {
            precondition(c.file == path, "segment-reader: corruption names another file")
            return
        } catch {
            fatalError("segment-reader: open failed with an unexpected error: \(error)")
        }
        for o in 0..<min(segment.count, 10_000) {
            _ = segment.id(at: o)
            _ = segment.version(at: o)
            _ = segment.withVector(at: o) { $0.reduce(0, +) }
            do { _ = try segment.payload(at: o) } catch is CorruptionError {} catch {
                fatalError("segment-reader: payload read failed with an unexpected error: \(error)")
            }
            _ = segment.sparseVectors(at: o)
            _ = segment.hasVector(at: o)
        }
        _ = segment.presentVectors()
        for n in segment.sparseNames.indices {
            for term in UInt32(0)..<8 {
                var total: Float = 0
                segment.forEachPosting(name: n, term: term) { _, v in total += v }
                _ = segment.postingCount(name: n, term: term)
            }
        }
        if segment.count > 0 { _ = segment.ordinal(of: segment.id(at: segment.count - 1)) }
        for lane in [segment] + segment.lanes { read(lane) }
        _ = try? segment.verify()  // typed: only a CorruptionError can come out
    }

    /// Every vector of one dense vector (the file's or a lane's), and a graph walk.
    static func read(_ segment: Segment) {
        for o in 0..<min(segment.count, 10_000) where segment.hasVector(at: o) {
            if segment.header.multivector {
                _ = segment.withMultivector(at: o) { $0.reduce(0, +) }
            } else {
                _ = segment.withVector(at: o) { $0.reduce(0, +) }
            }
        }
        guard !segment.header.multivector else { return }
        segment.withIndex { index in
            guard let graph = index.graph else { return }
            var visited = VisitedSet(count: segment.count)
            let query = [Float](repeating: 0.5, count: segment.dimension)
            _ = query.withUnsafeBufferPointer { graph.search(index.vectors.query($0.baseAddress!), k: 5, ef: 16, visited: &visited) }
            // The native walk by estimate reads the same (possibly damaged) lists.
            let quantizer = BinaryQuantizer(mean: segment.quantizerMean)
            let records = EstimatorRecordStore(index.vectors, count: segment.count, quantizer: quantizer)
            let estimator = EstimatorQuery(query, quantizer: quantizer, metric: segment.metric)
            _ = graph.search(estimator, records: records.records, k: 5, ef: 16, accept: nil, visited: &visited)
        }
    }

    /// The bytes with valid checksums where DESIGN.md's layout puts them: the header's (bytes
    /// 60..<64, over 0..<60), the table's (tail + 12, over the table the tail points to, when
    /// it lies inside the file) and the tail's (tail + 28, over its first 28 bytes).
    static func resealed(_ input: [UInt8]) -> [UInt8] {
        var b = input
        func store(_ value: UInt32, at offset: Int) { for k in 0..<4 { b[offset + k] = UInt8(truncatingIfNeeded: value >> (8 * k)) } }
        func crc(_ range: Range<Int>) -> UInt32 { CRC32C.mask(b[range].withUnsafeBytes { CRC32C.checksum($0) }) }
        if b.count >= 64 { store(crc(0..<60), at: 60) }
        guard b.count >= 64 + 32 else { return b }
        let t = b.count - 32
        let tableOffset = (0..<8).reduce(UInt64(0)) { $0 | UInt64(b[t + $1]) << (8 * $1) }
        let sections = (0..<4).reduce(0) { $0 | Int(b[t + 8 + $1]) << (8 * $1) }
        if sections <= SectionKind.allCases.count * 256, tableOffset <= UInt64(t), Int(tableOffset) + sections * 24 <= t {
            store(crc(Int(tableOffset)..<(Int(tableOffset) + sections * 24)), at: t + 12)
        }
        store(crc(t..<(t + 28)), at: t + 28)
        return b
    }
}

extension SegmentReaderTarget {
    /// Five small, valid segment files (one with a graph, one without, one with sparse
    /// vectors, one with points lacking their dense vector, one with a further dense vector and
    /// a multivector), as seeds: written by the real writer, so the fuzzer starts from every section
    /// present and well-formed.
    static func seeds() -> [[UInt8]] {
        struct Points: SegmentSource {
            let count: Int
            var withSparse = false
            var withAbsentVectors = false
            /// Two further dense vectors: a plain one of 3 and a multivector of 2.
            var withLanes = false
            let dimension = 8
            var laneDimensions: [Int] { withLanes ? [3, 2] : [] }
            func hasVector(_ o: Int, lane: Int) -> Bool { lane == 0 ? hasVector(o) : o % 3 != lane }
            func copyVector(_ o: Int, lane: Int, into p: UnsafeMutablePointer<Float>) {
                guard lane > 0 else { return copyVector(o, into: p) }
                for d in 0..<3 { p[d] = Float((o + d) % 5) - 2 }
            }
            func multivector(_ o: Int, lane: Int) -> [Float]? { o % 3 == 2 ? nil : (0..<(2 * (1 + o % 2))).map { Float(($0 + o) % 7) - 3 } }
            func hasVector(_ o: Int) -> Bool { !withAbsentVectors || o % 4 != 1 }
            var sparseNames: [String] { withSparse ? ["a", "b"] : [] }
            func sparse(_ o: Int, name: Int) -> SparseVector? {
                o % 3 == name ? nil : SparseVector(indices: [UInt32(o % 5), UInt32(5 + o % 3)], values: [Float(o), Float(name) + 0.5])
            }
            func id(_ o: Int) -> PointID { o % 5 == 4 ? .uuid(UUID(uuid: (UInt8(o), 0, 0, 0, 0, 0, 0x40, 0, 0x80, 0, 0, 0, 0, 0, 0, 1))) : .integer(UInt64(o)) }
            func version(_ o: Int) -> UInt64 { UInt64(o + 1) }
            func copyVector(_ o: Int, into p: UnsafeMutablePointer<Float>) { for d in 0..<dimension { p[d] = Float((o * 7 + d * 3) % 11) - 5 } }
            func payload(_ o: Int) throws -> [UInt8] { PayloadCodec.encode(["n": .int(Int64(o)), "s": .string(String(repeating: "x", count: o % 7))]) }
        }
        let seeds = [
            Points(count: 40), Points(count: 3), Points(count: 24, withSparse: true),
            Points(count: 40, withSparse: true, withAbsentVectors: true), Points(count: 30, withAbsentVectors: true, withLanes: true),
        ]
        return seeds.map { points in
            let fs = FaultInjectingFileSystem()
            do {
                try fs.createDirectories("/seed")
                // Ids must be ascending: integers first, then UUIDs; sort by building in that order.
                var options = SegmentIndexOptions(metric: .dot, m: 4, efConstruction: 8, minGraphPoints: 16)
                if points.withLanes { options.lanes = [LaneIndexOptions(metric: .cosine, m: 4), LaneIndexOptions(metric: .dot, multivector: true)] }
                let info = try SegmentWriter.write(SortedPoints(base: points), options: options, directory: "/seed", fileSystem: fs)
                return try fs.contents("/seed/" + info.fileName)
            } catch {
                fatalError("segment-reader: writing a seed failed: \(error)")
            }
        }
    }
}

/// A source reordered by id.
private struct SortedPoints<Base: SegmentSource>: SegmentSource {
    let base: Base
    let order: [Int]
    init(base: Base) {
        self.base = base
        order = (0..<base.count).sorted { base.id($0) < base.id($1) }
    }
    var count: Int { base.count }
    var dimension: Int { base.dimension }
    func id(_ o: Int) -> PointID { base.id(order[o]) }
    func version(_ o: Int) -> UInt64 { base.version(order[o]) }
    func hasVector(_ o: Int) -> Bool { base.hasVector(order[o]) }
    func copyVector(_ o: Int, into p: UnsafeMutablePointer<Float>) { base.copyVector(order[o], into: p) }
    func payload(_ o: Int) throws -> [UInt8] { try base.payload(order[o]) }
    var sparseNames: [String] { base.sparseNames }
    func sparse(_ o: Int, name: Int) -> SparseVector? { base.sparse(order[o], name: name) }
    var laneDimensions: [Int] { base.laneDimensions }
    func hasVector(_ o: Int, lane: Int) -> Bool { base.hasVector(order[o], lane: lane) }
    func copyVector(_ o: Int, lane: Int, into p: UnsafeMutablePointer<Float>) { base.copyVector(order[o], lane: lane, into: p) }
    func multivector(_ o: Int, lane: Int) -> [Float]? { base.multivector(order[o], lane: lane) }
}
