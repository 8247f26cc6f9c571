import Segments
import Synchronization

/// The payload block a merge last read from each input: a merge reads every input in
/// ordinal order, so each block is decompressed once rather than once per point in it
/// (which was about a sixth of a merge's time on the dev set).
final class MergePayloads: Sendable {
    private let current: Mutex<[Int: PayloadBlock]> = Mutex([:])

    /// The stored payload of `ordinal` of input `input`, whose segment is `segment`.
    func bytes(input: Int, ordinal: Int, of segment: Segment) throws -> [UInt8] {
        if let block = current.withLock({ $0[input] }), block.holds(ordinal) { return block[ordinal] }
        let block = try segment.payloadBlock(holding: ordinal)
        current.withLock { $0[input] = block }
        return block[ordinal]
    }
}
