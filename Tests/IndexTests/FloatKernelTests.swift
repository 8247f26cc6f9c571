import Foundation
import HSDBCore
import Index
import XCTest

/// The float kernels (Sources/CHamming/floats.c) against a double-precision reference, on
/// every dispatch path the CPU has, each forced through HSDB_SIMD: lengths around the 8- and
/// 32-float steps, empty and one-float vectors, unaligned starts.
final class FloatKernelTests: XCTestCase {
    override func tearDown() {
        unsetenv("HSDB_SIMD")
        ScanKernel.reloadEnvironment()
    }

    func testDotAndSquaredEuclideanOnEveryPath() {
        var rng = SplitMix64(seed: 11)
        var paths = 0
        for path in ScanKernel.allCases where path.rawValue <= ScanKernel.best.rawValue {
            setenv("HSDB_SIMD", path.description, 1)
            XCTAssertEqual(ScanKernel.reloadEnvironment(), path)
            paths += 1
            for count in [0, 1, 3, 7, 8, 9, 15, 16, 31, 32, 33, 63, 100, 384, 385, 1536] {
                // One float of padding in front, so the vectors start unaligned.
                let a = (0...count).map { _ in Float.random(in: -1...1, using: &rng) }
                let b = (0...count).map { _ in Float.random(in: -1...1, using: &rng) }
                a.withUnsafeBufferPointer { pa in
                    b.withUnsafeBufferPointer { pb in
                        let x = pa.baseAddress! + 1, y = pb.baseAddress! + 1
                        let dot = (0..<count).reduce(0.0) { $0 + Double(x[$1]) * Double(y[$1]) }
                        let l2 = (0..<count).reduce(0.0) { $0 + pow(Double(x[$1]) - Double(y[$1]), 2) }
                        let bound = 1e-5 * Double(max(count, 1))
                        XCTAssertEqual(Double(Distance.dot(x, y, count: count)), dot, accuracy: bound, "\(path) dot, \(count) floats")
                        XCTAssertEqual(Double(Distance.squaredEuclidean(x, y, count: count)), l2, accuracy: bound, "\(path) l2, \(count) floats")
                    }
                }
            }
        }
        XCTAssertGreaterThan(paths, 0)
    }
}
