import HSDBCore
import Index
import Synchronization
import XCTest

/// A graph build gives up soon after its stop flag is raised (a closing collection does not
/// wait minutes for a merge).
final class HNSWStopTests: XCTestCase {
    /// Counts distance computations and raises the flag after `raiseAfter` of them.
    final class CountingDistance: PairDistance, Sendable {
        let inner: FloatVectors
        let stop: StopFlag
        let raiseAfter: Int
        let calls = Atomic<Int>(0)

        init(_ inner: FloatVectors, stop: StopFlag, raiseAfter: Int) {
            (self.inner, self.stop, self.raiseAfter) = (inner, stop, raiseAfter)
        }

        func distance(_ a: UInt32, _ b: UInt32) -> Float {
            if calls.add(1, ordering: .relaxed).newValue == raiseAfter { stop.raise() }
            return inner.distance(a, b)
        }
    }

    func testABuildStopsSoonAfterItsFlagIsRaised() {
        let dimension = 16, count = 3000
        let base = HNSWTests.clusteredVectors(count: count, dimension: dimension, clusters: 10, seed: 3)
        base.withUnsafeBufferPointer { b in
            let vectors = FloatVectors(base: b.baseAddress!, dimension: dimension, metric: .cosine)
            let whole = CountingDistance(vectors, stop: StopFlag(), raiseAfter: .max)
            HNSWBuilder(count: count, m: 8, efConstruction: 64).build(whole, threads: 2)
            let full = whole.calls.load(ordering: .relaxed)
            let stop = StopFlag()
            let stopped = CountingDistance(vectors, stop: stop, raiseAfter: full / 10)
            HNSWBuilder(count: count, m: 8, efConstruction: 64).build(stopped, threads: 2, stop: stop)
            XCTAssertTrue(stop.isRaised)
            // Each thread finishes the node it is inserting: a few nodes' worth past the flag.
            XCTAssertLessThan(stopped.calls.load(ordering: .relaxed), full / 5, "of \(full) for the whole build")
        }
    }
}
