/// Distance kernels over Float32 vectors: free functions over raw pointers, four independent
/// SIMD8 accumulators so the adds pipeline. `acc += a * b`, not `addingProduct`: without a
/// pinned FMA-capable target CPU, `addingProduct` becomes a libm call per lane.
public enum Distance {
    /// Σ a[i]·b[i] over `count` floats.
    @inline(__always)
    public static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Float {
        var a0 = SIMD8<Float>(), a1 = a0, a2 = a0, a3 = a0
        let ra = UnsafeRawPointer(a), rb = UnsafeRawPointer(b)
        var i = 0
        while i + 32 <= count {
            let o = i * 4
            a0 += ra.loadUnaligned(fromByteOffset: o, as: SIMD8<Float>.self) * rb.loadUnaligned(fromByteOffset: o, as: SIMD8<Float>.self)
            a1 += ra.loadUnaligned(fromByteOffset: o + 32, as: SIMD8<Float>.self) * rb.loadUnaligned(fromByteOffset: o + 32, as: SIMD8<Float>.self)
            a2 += ra.loadUnaligned(fromByteOffset: o + 64, as: SIMD8<Float>.self) * rb.loadUnaligned(fromByteOffset: o + 64, as: SIMD8<Float>.self)
            a3 += ra.loadUnaligned(fromByteOffset: o + 96, as: SIMD8<Float>.self) * rb.loadUnaligned(fromByteOffset: o + 96, as: SIMD8<Float>.self)
            i += 32
        }
        while i + 8 <= count {
            let o = i * 4
            a0 += ra.loadUnaligned(fromByteOffset: o, as: SIMD8<Float>.self) * rb.loadUnaligned(fromByteOffset: o, as: SIMD8<Float>.self)
            i += 8
        }
        var sum = ((a0 + a1) + (a2 + a3)).sum()
        while i < count {
            sum += a[i] * b[i]
            i += 1
        }
        return sum
    }

    /// Σ (a[i] − b[i])² over `count` floats.
    @inline(__always)
    public static func squaredEuclidean(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Float {
        var a0 = SIMD8<Float>(), a1 = a0, a2 = a0, a3 = a0
        let ra = UnsafeRawPointer(a), rb = UnsafeRawPointer(b)
        var i = 0
        while i + 32 <= count {
            let o = i * 4
            let d0 = ra.loadUnaligned(fromByteOffset: o, as: SIMD8<Float>.self) - rb.loadUnaligned(fromByteOffset: o, as: SIMD8<Float>.self)
            let d1 = ra.loadUnaligned(fromByteOffset: o + 32, as: SIMD8<Float>.self) - rb.loadUnaligned(fromByteOffset: o + 32, as: SIMD8<Float>.self)
            let d2 = ra.loadUnaligned(fromByteOffset: o + 64, as: SIMD8<Float>.self) - rb.loadUnaligned(fromByteOffset: o + 64, as: SIMD8<Float>.self)
            let d3 = ra.loadUnaligned(fromByteOffset: o + 96, as: SIMD8<Float>.self) - rb.loadUnaligned(fromByteOffset: o + 96, as: SIMD8<Float>.self)
            a0 += d0 * d0
            a1 += d1 * d1
            a2 += d2 * d2
            a3 += d3 * d3
            i += 32
        }
        while i + 8 <= count {
            let o = i * 4
            let d = ra.loadUnaligned(fromByteOffset: o, as: SIMD8<Float>.self) - rb.loadUnaligned(fromByteOffset: o, as: SIMD8<Float>.self)
            a0 += d * d
            i += 8
        }
        var sum = ((a0 + a1) + (a2 + a3)).sum()
        while i < count {
            let d = a[i] - b[i]
            sum += d * d
            i += 1
        }
        return sum
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
