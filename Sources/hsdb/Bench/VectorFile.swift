import Foundation

/// Vector data sets on disk: TEXMEX `.fvecs` (per vector an Int32 dimension, then that many
/// Float32) and `.ivecs` (the same with Int32 values), or `.f16` (raw little-endian half
/// floats, row after row; the dimension must be given).
struct VectorFile {
    let rows: Int
    let dimension: Int
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

    static func load(_ path: String, dimension: Int?) throws -> VectorFile {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped) } catch {
            throw Failure.unreadable(path, error.localizedDescription)
        }
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
            throw Failure.malformed(path, "unknown extension (use .fvecs, .ivecs or .f16)")
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

    func row(_ r: Int) -> ArraySlice<Float> { values[(r * dimension)..<((r + 1) * dimension)] }
}
