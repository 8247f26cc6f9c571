internal import CHamming

/// Distance kernels over Float32 vectors, in C (Sources/CHamming/floats.c): AVX2 with FMA
/// chosen at run time when the CPU has it, whatever the build's target CPU (SwiftPM's default
/// x86-64 target has neither, and a Swift SIMD loop built for it ran at half the speed in the
/// graph build), else eight lanes vectorized for the target.
public enum Distance {
    /// Σ a[i]·b[i] over `count` floats.
    @inline(__always)
    public static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Float {
        hsdb_float_dot(a, b, count)
    }

    /// Σ (a[i] − b[i])² over `count` floats.
    @inline(__always)
    public static func squaredEuclidean(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Float {
        hsdb_float_l2sq(a, b, count)
    }

    /// `v` scaled to unit length; a zero vector stays zero.
    public static func normalized(_ v: [Float]) -> [Float] {
        let sumOfSquares = v.withUnsafeBufferPointer { dot($0.baseAddress!, $0.baseAddress!, count: v.count) }
        return scaled(v, by: 1 / sumOfSquares.squareRoot())
    }

    /// `v` times `factor` (returned unchanged if the factor is not finite, as for a zero vector).
    public static func scaled(_ v: [Float], by factor: Float) -> [Float] {
        guard factor.isFinite, factor != 1 else { return v }
        return [Float](unsafeUninitializedCapacity: v.count) { out, initialised in
            v.withUnsafeBufferPointer { src in
                let s = UnsafeRawPointer(src.baseAddress!), d = UnsafeMutableRawPointer(out.baseAddress!)
                var i = 0
                while i + 8 <= v.count {
                    d.storeBytes(of: s.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self) * factor, toByteOffset: i * 4, as: SIMD8<Float>.self)
                    i += 8
                }
                while i < v.count {
                    out[i] = src[i] * factor
                    i += 1
                }
            }
            initialised = v.count
        }
    }
}
