import Segments

/// The payload block a scroll page last read from each segment: a page's points of one
/// segment are consecutive ordinals, so each block is decompressed once per page instead of
/// once per point (perf: nine tenths of a 100-point page over a segment was LZ4).
struct PagePayloads {
    private var blocks: [ObjectIdentifier: PayloadBlock] = [:]

    mutating func payload(of handle: SegmentHandle, at ordinal: Int) throws -> Payload {
        let key = ObjectIdentifier(handle)
        if let block = blocks[key], block.holds(ordinal) { return try handle.segment.payload(at: ordinal, in: block) }
        let block = try handle.segment.payloadBlock(holding: ordinal)
        blocks[key] = block
        return try handle.segment.payload(at: ordinal, in: block)
    }
}
