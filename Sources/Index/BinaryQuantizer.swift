internal import CHamming

/// 1-bit quantization: bit i of a code is set when component i of the vector is above the
/// segment's mean for that component. Centring on the mean (rather than on zero) splits each
/// dimension's values about evenly, so every bit carries information even when the
/// embeddings share a common direction (sentence embeddings do). Codes are `wordsPerCode`
/// UInt64 words, bit i in word i / 64 at position i % 64; unused high bits are zero.
public struct BinaryQuantizer: Sendable, Equatable {
    public let mean: [Float]
    public var dimension: Int { mean.count }
    public var wordsPerCode: Int { Self.words(forDimension: mean.count) }

    public static func words(forDimension dimension: Int) -> Int { (dimension + 63) / 64 }

    public init(mean: [Float]) {
        precondition(!mean.isEmpty)
        self.mean = mean
    }

    /// The quantizer centred on the mean of `count` vectors stored back to back.
    public static func fit(_ vectors: UnsafePointer<Float>, count: Int, dimension: Int) -> BinaryQuantizer {
        var sum = [Double](repeating: 0, count: dimension)
        for row in 0..<count {
            let v = vectors + row * dimension
            for i in 0..<dimension { sum[i] += Double(v[i]) }
        }
        let n = Double(max(count, 1))
        return BinaryQuantizer(mean: sum.map { Float($0 / n) })
    }

    /// Writes the code of `vector` to `code` (`wordsPerCode` words), with the native kernel.
    public func encode(_ vector: UnsafePointer<Float>, into code: UnsafeMutablePointer<UInt64>) {
        mean.withUnsafeBufferPointer { hsdb_encode_code(vector, $0.baseAddress!, $0.count, code) }
    }

    public func encode(_ vector: [Float]) -> [UInt64] {
        var code = [UInt64](repeating: 0, count: wordsPerCode)
        vector.withUnsafeBufferPointer { v in code.withUnsafeMutableBufferPointer { encode(v.baseAddress!, into: $0.baseAddress!) } }
        return code
    }
}

/// Hamming distance between binary codes: XOR and hardware popcount. `nonzeroBitCount`
/// becomes the `popcnt` instruction only when the target CPU has it (`-target-cpu haswell` or
/// newer, as the release and benchmark builds pass); the default x86-64 target uses a
/// bit-twiddling sequence about half as fast. The binary stays portable either way.
public enum Hamming {
    @inline(__always)
    public static func distance(_ a: UnsafePointer<UInt64>, _ b: UnsafePointer<UInt64>, words: Int) -> Int {
        var total = 0
        var i = 0
        while i + 2 <= words {
            total &+= (a[i] ^ b[i]).nonzeroBitCount &+ (a[i + 1] ^ b[i + 1]).nonzeroBitCount
            i += 2
        }
        if i < words { total &+= (a[i] ^ b[i]).nonzeroBitCount }
        return total
    }
}
