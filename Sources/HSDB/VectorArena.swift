#if canImport(Glibc)
import Glibc
#endif
import Dispatch
import HSDBCore

/// Append-only memory for the memtable's vectors: chunks of anonymous memory, each holding
/// many vectors back to back. One allocation per chunk instead of one per point, and chunks
/// of 2 MiB and more are advised to use transparent huge pages, so loading a large WAL
/// page-faults 2 MiB at a time instead of 4 KiB (measured: the per-point allocations and their
/// first-touch page faults were most of WAL replay's time). Once chunks reach full size, the
/// next one is mapped ahead and populated by the kernel on another thread
/// (`MADV_POPULATE_WRITE`), so zeroing fresh memory (measured: half of replay time on this VM)
/// overlaps with filling the current chunk. Vectors of overwritten or deleted points stay in
/// their chunk until the memtable is dropped (after a flush).
///
/// Non-copyable: two copies would hand out the same slots.
struct VectorArena: ~Copyable {
    let dimension: Int
    private var current: VectorChunk?
    /// A full-size chunk mapped ahead of need, being populated in the background.
    private var ahead: VectorChunk?
    private var used = 0
    private var nextChunkBytes: Int

    static let firstChunkBytes = 256 << 10
    static let maxChunkBytes = 64 << 20

    init(dimension: Int) {
        precondition(dimension > 0)
        self.dimension = dimension
        nextChunkBytes = Self.firstChunkBytes
    }

    /// Copies `vector` (exactly `dimension` values) into the arena.
    mutating func append(_ vector: UnsafeBufferPointer<Float>) -> VectorRef {
        precondition(vector.count == dimension)
        if current == nil || used == current!.slots {
            if let next = ahead {
                current = next
                ahead = nil
            } else {
                current = VectorChunk(dimension: dimension, bytes: nextChunkBytes)
            }
            used = 0
            if nextChunkBytes == Self.maxChunkBytes {
                let next = VectorChunk(dimension: dimension, bytes: nextChunkBytes)
                DispatchQueue.global(qos: .utility).async { next.populate() }
                ahead = next
            }
            nextChunkBytes = min(nextChunkBytes * 2, Self.maxChunkBytes)
        }
        let chunk = current!
        (chunk.base + used * dimension).initialize(from: vector.baseAddress!, count: dimension)
        defer { used += 1 }
        return VectorRef(chunk: chunk, slot: Int32(used))
    }
}

/// One vector in a `VectorArena`. Keeps its chunk alive, so a reader's snapshot stays valid
/// after the memtable moves on.
struct VectorRef: Sendable {
    let chunk: VectorChunk
    let slot: Int32

    func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<Float>) throws -> R) rethrows -> R {
        try withExtendedLifetime(chunk) {
            try body(UnsafeBufferPointer(start: chunk.base + Int(slot) * chunk.dimension, count: chunk.dimension))
        }
    }

    var array: [Float] { withUnsafeBufferPointer { Array($0) } }
}

/// A block of vector slots in anonymous memory, unmapped when the last reference goes.
///
/// `@unchecked Sendable`: every stored property is a `let`. Each slot is written exactly once,
/// by `VectorArena.append` while the memtable's mutex is held (or during single-threaded
/// recovery), before any `VectorRef` to it is published; it is only read afterwards. Readers
/// obtain refs only from a memtable snapshot taken under the same mutex, which orders the
/// write before every read.
final class VectorChunk: @unchecked Sendable {
    let base: UnsafeMutablePointer<Float>
    let dimension: Int
    let slots: Int
    private let mappedBytes: Int

    init(dimension: Int, bytes requested: Int) {
        let vectorBytes = dimension * MemoryLayout<Float>.stride
        slots = max(1, requested / vectorBytes)
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
