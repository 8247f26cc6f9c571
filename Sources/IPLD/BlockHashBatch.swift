import Dispatch

/// Checks CAR sections against their CIDs in batches, on every core: loading a backup
/// catalogue hashes every block once, and SHA-256 is most of a restore's CPU time.
/// Errors name the CAR file, the section's offset and its CID, as `CARReader`'s do.
/// Not Sendable: one reader, one task.
public struct BlockHashBatch {
    public let file: String
    private var sections: [CARSection] = []
    private var bytes = 0
    /// Enough blocks to keep two cores busy (16 leaves of 256 KiB), few enough to bound
    /// memory (blocks are at most 1 MiB; backups write 256 KiB and 64 KiB leaves).
    public static let batchBytes = 4 << 20

    public init(file: String) { self.file = file }

    public mutating func add(_ section: CARSection) throws {
        sections.append(section)
        bytes += section.bytes.count
        if bytes >= Self.batchBytes { try check() }
    }

    /// Checks every section added so far; the first (lowest offset) mismatch is thrown.
    public mutating func check() throws {
        guard !sections.isEmpty else { return }
        let batch = sections
        sections = []
        bytes = 0
        var good = [Bool](repeating: false, count: batch.count)
        good.withUnsafeMutableBufferPointer { out in
            let out = UnsafeSendablePointer(out)
            DispatchQueue.concurrentPerform(iterations: batch.count) { i in
                out.base[i] = batch[i].cid.matches(batch[i].bytes)
            }
        }
        if let bad = good.firstIndex(of: false) {
            throw ArchiveCodecError.car(file: file, offset: batch[bad].offset, cid: batch[bad].cid, .hashMismatch(batch[bad].cid))
        }
    }
}

/// A buffer the concurrent iterations write at distinct indices (so no two touch one element).
private struct UnsafeSendablePointer: @unchecked Sendable {
    let base: UnsafeMutableBufferPointer<Bool>
    init(_ base: UnsafeMutableBufferPointer<Bool>) { self.base = base }
}
