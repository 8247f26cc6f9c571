import HSDBCore
import Synchronization

/// A memtable's rows in ascending id order, kept as the rows arrive: sorted runs whose sizes
/// grow geometrically (each run at least twice the next), so keeping the order costs
/// O(log n) comparisons per row, amortized, and a scroll reads from a lower bound in each of
/// O(log n) runs instead of gathering and sorting every id of the memtable per page.
///
/// Runs are extended lazily, by the first reader whose snapshot holds rows not yet in them;
/// a reader of an older snapshot skips entries of rows beyond its view.
final class RowOrder: Sendable {
    struct Entry: Sendable {
        let id: PointID
        let row: Int32
    }

    typealias Run = [Entry]

    private let state = Mutex<(covered: Int, runs: [Run])>((0, []))

    /// Sorted runs holding every row of `view` (and perhaps later ones).
    func runs(covering view: RowsView) -> [Run] {
        state.withLock { s in
            guard s.covered < view.count else { return s.runs }
            var run: Run = []
            run.reserveCapacity(view.count - s.covered)
            view.forEachChunk { chunk, visible in
                for slot in min(max(0, s.covered - chunk.firstRow), visible)..<visible {
                    run.append(Entry(id: chunk.ids[slot], row: Int32(chunk.firstRow + slot)))
                }
            }
            run.sort(by: Self.precedes)
            s.runs.append(run)
            s.covered = view.count
            while s.runs.count >= 2 && s.runs[s.runs.count - 2].count <= 2 * s.runs[s.runs.count - 1].count {
                let newer = s.runs.removeLast()
                s.runs[s.runs.count - 1] = Self.merge(s.runs[s.runs.count - 1], newer)
            }
            return s.runs
        }
    }

    @inline(__always)
    static func precedes(_ a: Entry, _ b: Entry) -> Bool { a.id < b.id || (a.id == b.id && a.row < b.row) }

    static func merge(_ a: Run, _ b: Run) -> Run {
        var out: Run = []
        out.reserveCapacity(a.count + b.count)
        var (i, j) = (0, 0)
        while i < a.count && j < b.count {
            if precedes(b[j], a[i]) {
                out.append(b[j])
                j += 1
            } else {
                out.append(a[i])
                i += 1
            }
        }
        out.append(contentsOf: a[i...])
        out.append(contentsOf: b[j...])
        return out
    }

    /// The first index of `run` whose id is at or above `id`.
    static func lowerBound(of id: PointID, in run: Run) -> Int {
        var (low, high) = (0, run.count)
        while low < high {
            let mid = (low + high) / 2
            if run[mid].id < id { low = mid + 1 } else { high = mid }
        }
        return low
    }
}
