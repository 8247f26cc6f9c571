#if canImport(Glibc)
import Glibc
#endif
import Dispatch
import HSDBCore

/// A block of vector slots in anonymous memory (a memtable row chunk's vectors), unmapped
/// when the last reference goes. One mapping per chunk instead of one allocation per point,
/// and chunks of 2 MiB and more are advised to use transparent huge pages, so loading a large
/// WAL page-faults 2 MiB at a time instead of 4 KiB (measured: the per-point allocations and
/// their first-touch page faults were most of WAL replay's time).
///
/// `@unchecked Sendable`: every stored property is a `let`. Each slot is written exactly once,
/// by `MemtableRows.append` while the collection's state lock is held (or during
/// single-threaded recovery), before the row is published; it is only read afterwards.
/// Readers reach rows only through a snapshot taken under the same lock, which orders the
/// write before every read.
final class VectorChunk: @unchecked Sendable {
    let base: UnsafeMutablePointer<Float>
    let dimension: Int
    let slots: Int
    private let mappedBytes: Int

    init(dimension: Int, slots: Int) {
        let vectorBytes = dimension * MemoryLayout<Float>.stride
        self.slots = max(1, slots)
        self.dimension = dimension
        let page = 4096
        mappedBytes = (slots * vectorBytes + page - 1) / page * page
        let raw = mmap(nil, mappedBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
        guard let raw, raw != MAP_FAILED else {
            fatalError("out of memory: mmap of \(mappedBytes) bytes for memtable vectors failed (errno \(errno))")
        }
        if mappedBytes >= 2 << 20 { _ = madvise(raw, mappedBytes, MADV_HUGEPAGE) }
        base = raw.bindMemory(to: Float.self, capacity: slots * dimension)
    }

    /// Asks the kernel to allocate (and zero) every page now. Writes nothing the process can
    /// see, so it may run while another thread fills the chunk.
    func populate() {
        let populateWrite: Int32 = 23  // MADV_POPULATE_WRITE, Linux 5.14+; older kernels refuse it harmlessly
        _ = madvise(base, mappedBytes, populateWrite)
    }

    deinit { munmap(base, mappedBytes) }
}
