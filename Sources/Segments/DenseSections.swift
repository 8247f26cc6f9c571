import HSDBCore
import Index

/// One dense vector's part of a segment (the file's own, lane 0, or a further named one):
/// the full vectors, the quantizer, the codes, the absent bitmap and the graph.
struct DenseSections {
    let dimension: Int
    var vectors: [Float]
    var quantizer: BinaryQuantizer
    var codes: [UInt64]
    /// Bit o set: ordinal o carries no vector of this lane.
    var absent: [UInt64]
    var absentCount: Int
    var graph: HNSWBuilder?
    /// A multivector lane's: where each ordinal's vectors start (count + 1 entries).
    var offsets: [UInt64]?

    /// Copies lane `lane` of `source`, quantizes it and (with enough points) builds its graph.
    static func build(
        _ source: some SegmentSource, lane: Int, dimension: Int, index: LaneIndexOptions, options: SegmentIndexOptions,
        stop: StopFlag?
    ) -> DenseSections {
        if index.multivector { return buildMultivector(source, lane: lane, dimension: dimension, index: index) }
        let count = source.count
        var absent = [UInt64](repeating: 0, count: (count + 63) / 64)
        for ordinal in 0..<count where !source.hasVector(ordinal, lane: lane) { absent[ordinal >> 6] |= 1 << UInt64(ordinal & 63) }
        let absentCount = absent.reduce(0) { $0 + $1.nonzeroBitCount }
        var vectors = [Float](repeating: 0, count: count * dimension)
        vectors.withUnsafeMutableBufferPointer { v in
            for ordinal in 0..<count where absent[ordinal >> 6] >> UInt64(ordinal & 63) & 1 == 0 {
                source.copyVector(ordinal, lane: lane, into: v.baseAddress! + ordinal * dimension)
            }
        }
        let quantizer = index.quantizer.flatMap { $0.dimension == dimension ? $0 : nil }
            ?? fitQuantizer(vectors, count: count, dimension: dimension, absent: absentCount > 0 ? absent : nil)
        let words = quantizer.wordsPerCode
        var codes = [UInt64](repeating: 0, count: count * words)
        vectors.withUnsafeBufferPointer { v in
            codes.withUnsafeMutableBufferPointer { c in
                for i in 0..<count { quantizer.encode(v.baseAddress! + i * dimension, into: c.baseAddress! + i * words) }
            }
        }
        var graph: HNSWBuilder?
        if count - absentCount >= max(options.minGraphPoints, 1) {
            graph = source.withCarriedGraph(m: index.m, lane: lane) { carried in
                let builder = HNSWBuilder(
                    count: count, m: index.m, efConstruction: index.efConstruction, carrying: carried,
                    absent: absentCount > 0 ? absent : nil)
                vectors.withUnsafeBufferPointer { v in
                    builder.build(
                        FloatVectors(base: v.baseAddress!, dimension: dimension, metric: index.metric), threads: options.buildThreads,
                        nice: options.buildNice, stop: stop)
                }
                return builder
            }
        }
        return DenseSections(
            dimension: dimension, vectors: vectors, quantizer: quantizer, codes: codes, absent: absent, absentCount: absentCount,
            graph: graph)
    }

    /// A multivector lane: every point's vectors one after another, their codes, no graph.
    static func buildMultivector(_ source: some SegmentSource, lane: Int, dimension: Int, index: LaneIndexOptions) -> DenseSections {
        let count = source.count
        var absent = [UInt64](repeating: 0, count: (count + 63) / 64)
        var vectors: [Float] = []
        var offsets: [UInt64] = [0]
        offsets.reserveCapacity(count + 1)
        for ordinal in 0..<count {
            if let v = source.multivector(ordinal, lane: lane), !v.isEmpty {
                precondition(v.count % dimension == 0, "a multivector is whole vectors")
                vectors += v
            } else {
                absent[ordinal >> 6] |= 1 << UInt64(ordinal & 63)
            }
            offsets.append(UInt64(vectors.count / dimension))
        }
        let rows = vectors.count / dimension
        let quantizer = index.quantizer.flatMap { $0.dimension == dimension ? $0 : nil }
            ?? (rows == 0 ? BinaryQuantizer(mean: [Float](repeating: 0, count: dimension))
                : fitQuantizer(vectors, count: rows, dimension: dimension, absent: nil))
        let words = quantizer.wordsPerCode
        var codes = [UInt64](repeating: 0, count: rows * words)
        vectors.withUnsafeBufferPointer { v in
            codes.withUnsafeMutableBufferPointer { c in
                for i in 0..<rows { quantizer.encode(v.baseAddress! + i * dimension, into: c.baseAddress! + i * words) }
            }
        }
        return DenseSections(
            dimension: dimension, vectors: vectors, quantizer: quantizer, codes: codes, absent: absent,
            absentCount: absent.reduce(0) { $0 + $1.nonzeroBitCount }, graph: nil, offsets: offsets)
    }

    /// The header fields this lane sets (the file's for lane 0, the lane header's otherwise).
    func describe(_ header: inout SegmentHeader, metric: Metric) {
        header.metric = metric
        header.hasGraph = graph != nil
        header.codeWords = quantizer.wordsPerCode
        header.dimension = dimension
        header.m = graph?.m ?? 0
        header.m0 = graph?.m0 ?? 0
        header.entryPoint = graph?.entryPoint ?? 0
        header.maxLevel = graph?.maxLevel ?? 0
        header.hasAbsentVectors = absentCount > 0
        header.multivector = offsets != nil
        header.rows = offsets != nil ? vectors.count / dimension : 0
    }

    /// The lane's sections, in the order the file holds them.
    func write(to output: inout SectionOutput, lane: Int) throws {
        try output.section(.vectors, vectors, lane: lane)
        try output.section(.quantizerMean, quantizer.mean, lane: lane)
        try output.section(.codes, codes, lane: lane)
        if let graph {
            try output.section(.graphLevels, graph.levels, lane: lane)
            try output.section(.graphLevel0, graph.level0, lane: lane)
            try output.section(.graphUpperIndex, graph.upperIndex, lane: lane)
            try output.section(.graphUpper, graph.upper, lane: lane)
        }
        if let offsets { try output.section(.multivectorOffsets, offsets.map(\.littleEndian), lane: lane) }
    }

    func writeAbsent(to output: inout SectionOutput, lane: Int) throws {
        if absentCount > 0 { try output.section(.absentVectors, absent.map(\.littleEndian), lane: lane) }
    }
}

/// A quantizer centred on the mean of the vectors the points carry (`absent`: bit o set when
/// ordinal o carries none; with no vector at all, centred on zero).
private func fitQuantizer(_ vectors: [Float], count: Int, dimension: Int, absent: [UInt64]?) -> BinaryQuantizer {
    guard let absent else {
        return vectors.withUnsafeBufferPointer { BinaryQuantizer.fit($0.baseAddress!, count: count, dimension: dimension) }
    }
    var present: [Float] = []
    for o in 0..<count where absent[o >> 6] >> UInt64(o & 63) & 1 == 0 { present += vectors[(o * dimension)..<((o + 1) * dimension)] }
    guard !present.isEmpty else { return BinaryQuantizer(mean: [Float](repeating: 0, count: dimension)) }
    return present.withUnsafeBufferPointer { BinaryQuantizer.fit($0.baseAddress!, count: present.count / dimension, dimension: dimension) }
}
