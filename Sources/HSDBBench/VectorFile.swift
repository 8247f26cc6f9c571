import Dispatch
import Foundation
import HSDB
import Synchronization

/// Vector data sets on disk: TEXMEX `.fvecs` (per vector an Int32 dimension, then that many
/// Float32) and `.ivecs` (the same with Int32 values), or `.f16` (raw little-endian half
/// floats, row after row; the dimension must be given), or NumPy `.npy` (a 2-D C-order array
/// of little-endian float32, float16 or float64).
public struct VectorFile {
    public let rows: Int
    public let dimension: Int
    /// Row-major values.
    let values: [Float]

    enum Failure: Error, CustomStringConvertible {
        case unreadable(String, String)
        case malformed(String, String)

        var description: String {
            switch self {
            case .unreadable(let p, let why): return "cannot read \(p): \(why)"
            case .malformed(let p, let why): return "\(p) is not a valid vector file: \(why)"
            }
        }
    }

    public static func load(_ path: String, dimension: Int?) throws -> VectorFile {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped) } catch {
            throw Failure.unreadable(path, error.localizedDescription)
        }
        if path.hasSuffix(".npy") { return try loadNumPy(data, path: path, dimension: dimension) }
        if path.hasSuffix(".f16") {
            guard let dimension, dimension > 0 else { throw Failure.malformed(path, ".f16 files need --dim") }
            guard data.count % (2 * dimension) == 0 else {
                throw Failure.malformed(path, "\(data.count) bytes is not a whole number of \(dimension)-dim half-float rows")
            }
            let values = data.withUnsafeBytes { raw in
                (0..<(data.count / 2)).map { Float(Float16(bitPattern: UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 2, as: UInt16.self)))) }
            }
            return VectorFile(rows: values.count / dimension, dimension: dimension, values: values)
        }
        guard path.hasSuffix(".fvecs") || path.hasSuffix(".ivecs") else {
            throw Failure.malformed(path, "unknown extension (use .fvecs, .ivecs, .f16 or .npy)")
        }
        let integers = path.hasSuffix(".ivecs")
        return try data.withUnsafeBytes { raw in
            guard raw.count >= 4 else { throw Failure.malformed(path, "empty file") }
            let d = Int(Int32(littleEndian: raw.loadUnaligned(as: Int32.self)))
            guard d > 0, raw.count % (4 + 4 * d) == 0 else { throw Failure.malformed(path, "size does not match dimension \(d)") }
            if let dimension, dimension != d { throw Failure.malformed(path, "dimension \(d), expected \(dimension)") }
            let rows = raw.count / (4 + 4 * d)
            var values = [Float]()
            values.reserveCapacity(rows * d)
            for r in 0..<rows {
                let start = r * (4 + 4 * d)
                guard Int32(littleEndian: raw.loadUnaligned(fromByteOffset: start, as: Int32.self)) == d else {
                    throw Failure.malformed(path, "row \(r) has another dimension")
                }
                for i in 0..<d {
                    let bits = UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: start + 4 + 4 * i, as: UInt32.self))
                    values.append(integers ? Float(Int32(bitPattern: bits)) : Float(bitPattern: bits))
                }
            }
            // Ids are kept as Float, exact up to 2^24: refuse larger ones rather than round them.
            if integers, let big = values.first(where: { $0 > 16_777_216 || $0 < -1 }) {
                throw Failure.malformed(path, "id \(big) is out of the supported range (0...16,777,216)")
            }
            return VectorFile(rows: rows, dimension: d, values: values)
        }
    }

    /// NumPy's format: magic "\u{93}NUMPY", version (2 bytes), header length (u16 in version 1,
    /// u32 after), a Python dict literal with descr, fortran_order and shape, then the data.
    private static func loadNumPy(_ data: Data, path: String, dimension: Int?) throws -> VectorFile {
        let bytes = [UInt8](data.prefix(12))
        guard bytes.count >= 10, bytes[0] == 0x93, Array(bytes[1..<6]) == Array("NUMPY".utf8) else {
            throw Failure.malformed(path, "missing the .npy magic")
        }
        let major = bytes[6]
        let headerLength = major == 1 ? Int(bytes[8]) | Int(bytes[9]) << 8 : Int(bytes[8]) | Int(bytes[9]) << 8 | Int(bytes[10]) << 16 | Int(bytes[11]) << 24
        let headerStart = major == 1 ? 10 : 12
        guard data.count >= headerStart + headerLength else { throw Failure.malformed(path, "truncated header") }
        let header = String(decoding: data[headerStart..<(headerStart + headerLength)], as: UTF8.self)
        func field(_ key: String) -> Substring? {
            guard let r = header.range(of: "'\(key)':") else { return nil }
            return header[r.upperBound...].drop(while: { $0 == " " })
        }
        guard let descr = field("descr"), let quote = descr.dropFirst().firstIndex(of: "'") else { throw Failure.malformed(path, "no descr") }
        let type = String(descr[descr.index(after: descr.startIndex)..<quote])
        let width: Int
        switch type {
        case "<f4": width = 4
        case "<f2": width = 2
        case "<f8": width = 8
        default: throw Failure.malformed(path, "dtype \(type) is not supported (use little-endian float32, float16 or float64)")
        }
        guard field("fortran_order")?.hasPrefix("False") == true else { throw Failure.malformed(path, "Fortran-order arrays are not supported") }
        guard let shapeText = field("shape"), let close = shapeText.firstIndex(of: ")") else { throw Failure.malformed(path, "no shape") }
        let shape = shapeText.dropFirst().prefix(upTo: close).split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard shape.count == 2, shape[0] >= 0, shape[1] > 0 else { throw Failure.malformed(path, "shape \(shape) is not a 2-D array of vectors") }
        let (rows, d) = (shape[0], shape[1])
        if let dimension, dimension != d { throw Failure.malformed(path, "dimension \(d), expected \(dimension)") }
        let start = headerStart + headerLength
        guard data.count - start == rows * d * width else { throw Failure.malformed(path, "data is \(data.count - start) bytes, expected \(rows * d * width)") }
        let values: [Float] = data.withUnsafeBytes { raw in
            (0..<(rows * d)).map { i in
                let o = start + i * width
                switch width {
                case 2: return Float(Float16(bitPattern: UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: o, as: UInt16.self))))
                case 8: return Float(Double(bitPattern: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: o, as: UInt64.self))))
                default: return Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: o, as: UInt32.self)))
                }
            }
        }
        return VectorFile(rows: rows, dimension: d, values: values)
    }

    public func row(_ r: Int) -> ArraySlice<Float> { values[(r * dimension)..<((r + 1) * dimension)] }
}

extension VectorFile {
    /// The ids of each query's `k` nearest base vectors among those `included`, nearest first,
    /// as a file of `k` columns (the ground truth of a prefix or a filtered part of a data
    /// set), by brute force on every core.
    static func exactNeighbors(
        of queries: VectorFile, in base: VectorFile, k: Int, metric: Metric, where included: (Int) -> Bool = { _ in true }
    ) -> VectorFile {
        let kept = (0..<base.rows).filter(included)
        let rows = kept.map { RecallEvaluator.prepare(Array(base.row($0)), metric) }
        let prepared = (0..<queries.rows).map { RecallEvaluator.prepare(Array(queries.row($0)), metric) }
        let found = Mutex([[Float]](repeating: [], count: queries.rows))
        DispatchQueue.concurrentPerform(iterations: queries.rows) { i in
            let q = prepared[i]
            var best: [(similarity: Float, row: Int)] = []  // nearest first, at most k
            for (r, v) in rows.enumerated() {
                let score = q.withUnsafeBufferPointer { a in v.withUnsafeBufferPointer { metric.score(a.baseAddress!, $0.baseAddress!, count: a.count) } }
                let s = metric.higherIsBetter ? score : -score
                guard best.count < k || s > best[best.count - 1].similarity else { continue }
                let at = best.firstIndex { s > $0.similarity } ?? best.count
                best.insert((s, r), at: at)
                if best.count > k { best.removeLast() }
            }
            let ids = best.map { Float(kept[$0.row]) }
            found.withLock { $0[i] = ids }
        }
        return VectorFile(rows: queries.rows, dimension: k, values: found.withLock { $0 }.flatMap { $0 })
    }
}
