#if canImport(Glibc)
import Glibc
#endif
import HSDBCore

/// Commit times in the WAL: the body of a clock record (DESIGN.md, "Clock record") is one
/// u64, nanoseconds since the Unix epoch. The syncer writes one after each group-commit
/// write, so every record's commit time is the time of the first clock record after it.
public enum WALClock {
    public static let bodySize = 8

    /// The wall clock now, in nanoseconds since the Unix epoch.
    @Sendable public static func now() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return UInt64(max(0, ts.tv_sec)) * 1_000_000_000 + UInt64(max(0, ts.tv_nsec))
    }

    /// A whole clock record: it repeats `lsn`, the LSN of the record it follows.
    static func encode(time: UInt64, lsn: UInt64, durableLSN: UInt64) -> [UInt8] {
        var body = ByteWriter(capacity: bodySize)
        body.write(time)
        return WALFormat.encodeRecord(type: .clock, lsn: lsn, durableLSN: durableLSN, body: body.bytes)
    }

    /// The time in a clock record, or nil if its body is not one u64.
    public static func decode(_ record: WALRecord) -> UInt64? {
        guard record.type == .clock, record.body.count == bodySize else { return nil }
        return record.body.loadUnaligned(as: UInt64.self).littleEndian
    }
}
