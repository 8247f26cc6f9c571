import HSDB

/// The deterministic workload of the crash test. Batch `number` of run `seed` is always the
/// same points, so the parent can regenerate any batch it finds on disk and check it whole.
///
/// Each point's vector says which batch wrote it: vector[0] and vector[2] hold the batch
/// number's high and low 12 bits, vector[1] its index in the batch (each exact in Float32).
/// Ids come from a small range, so batches overwrite each other's points.
public enum CrashWorkload {
    public static let collection = "crash"
    public static let dimension = 16
    public static let idRange: UInt64 = 400

    public static func batch(seed: UInt64, number: Int) -> [Point] {
        var rng = SplitMix64(seed: seed ^ (UInt64(number) &* 0x9E37_79B9_7F4A_7C15))
        let count = 1 + Int(rng.next() % 16)
        var ids: [UInt64] = []
        while ids.count < count {
            let id = rng.next() % idRange
            if !ids.contains(id) { ids.append(id) }
        }
        return ids.enumerated().map { index, id in
            var vector = [Float](repeating: 0, count: dimension)
            vector[0] = Float(number >> 12)
            vector[1] = Float(index)
            vector[2] = Float(number & 0xFFF)
            for d in 3..<dimension { vector[d] = Float(rng.next() % 1000) / 1000 }
            return Point(id: .integer(id), vector: vector, payload: ["b": .int(Int64(number)), "i": .int(Int64(index))])
        }
    }
}

extension CrashWorkload {
    /// The (batch number, index) a stored vector names.
    public static func origin(of vector: [Float]) -> (number: Int, index: Int)? {
        guard vector.count == dimension, vector[0] >= 0, vector[1] >= 0, vector[2] >= 0 else { return nil }
        return (Int(vector[0]) << 12 | Int(vector[2]), Int(vector[1]))
    }
}
