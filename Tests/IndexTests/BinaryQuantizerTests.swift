import Index
import XCTest

final class BinaryQuantizerTests: XCTestCase {
    /// On every dispatch path the CPU has (the encoder is native code with an AVX2 path).
    func testBitsAreComponentsAboveTheMean() {
        defer { ScanKernel.reloadEnvironment() }
        for path in ScanKernel.allCases where path.rawValue <= ScanKernel.best.rawValue {
            XCTAssertEqual(ScanKernel.use(path), path)
            checkBitsAreComponentsAboveTheMean()
        }
    }

    func checkBitsAreComponentsAboveTheMean() {
        var rng = SystemRandomNumberGenerator()
        for dimension in [1, 7, 8, 9, 63, 64, 65, 383, 384, 1000] {
            let vectors = (0..<20).map { _ in (0..<dimension).map { _ in Float.random(in: -1...1, using: &rng) } }
            let flat = vectors.flatMap { $0 }
            let q = flat.withUnsafeBufferPointer { BinaryQuantizer.fit($0.baseAddress!, count: 20, dimension: dimension) }
            XCTAssertEqual(q.wordsPerCode, (dimension + 63) / 64)
            for i in 0..<dimension {
                XCTAssertEqual(q.mean[i], vectors.map { $0[i] }.reduce(0, +) / 20, accuracy: 1e-5)
            }
            for v in vectors {
                let code = q.encode(v)
                for i in 0..<dimension {
                    let bit = (code[i / 64] >> UInt64(i % 64)) & 1
                    XCTAssertEqual(bit == 1, v[i] > q.mean[i], "\(ScanKernel.active): dimension \(dimension) bit \(i)")
                }
                if dimension % 64 != 0 { XCTAssertEqual(code.last! >> UInt64(dimension % 64), 0, "unused bits are zero") }
            }
        }
    }

    func testHammingMatchesBitByBitCount() {
        var rng = SystemRandomNumberGenerator()
        for words in 1...9 {
            for _ in 0..<50 {
                let a = (0..<words).map { _ in UInt64.random(in: .min ... .max, using: &rng) }
                let b = (0..<words).map { _ in UInt64.random(in: .min ... .max, using: &rng) }
                var expected = 0
                for w in 0..<words { for bit in 0..<64 where (a[w] >> UInt64(bit)) & 1 != (b[w] >> UInt64(bit)) & 1 { expected += 1 } }
                let got = a.withUnsafeBufferPointer { pa in b.withUnsafeBufferPointer { Hamming.distance(pa.baseAddress!, $0.baseAddress!, words: words) } }
                XCTAssertEqual(got, expected)
            }
        }
    }
}
