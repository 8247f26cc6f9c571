import HSDB
import HSDBCore

/// What a leader's WAL stream carries: after the 8-byte stream magic, frames of
///
///     body length u32 | crc u32 = mask(crc32c(body)) | body
///     body: kind u8 (1: records) | epoch u64 | leader durable LSN u64 |
///           leader commit time u64 (ns since the Unix epoch) | count u32 |
///           count x (LSN u64 | type u8 | body length u32 | body | running hash (32))
///
/// integers little-endian. A frame with no records is a heartbeat: it tells the follower how
/// far the leader is (its lag) and that the link is alive. DESIGN.md, "Replication".
public struct ReplicationFrame: Sendable, Equatable {
    public static let streamMagic = Array("HSDBRPL1".utf8)
    public static let recordsKind: UInt8 = 1
    static let fixedBodySize = 1 + 8 + 8 + 8 + 4
    /// Larger than any record the WAL takes, with room for the frame's own fields.
    public static let maxBodySize = (256 << 20) + (1 << 20)

    public struct Record: Sendable, Equatable {
        public let entry: WALEntry
        /// The running hash after this record.
        public let hash: LogHash
    }

    public var epoch: UInt64
    public var leaderDurableLSN: UInt64
    public var leaderCommitTime: UInt64
    public var records: [Record]

    public init(epoch: UInt64, leaderDurableLSN: UInt64, leaderCommitTime: UInt64, records: [Record]) {
        self.epoch = epoch
        self.leaderDurableLSN = leaderDurableLSN
        self.leaderCommitTime = leaderCommitTime
        self.records = records
    }

    public func encode() -> [UInt8] {
        let bodySize = Self.fixedBodySize + records.reduce(0) { $0 + 8 + 1 + 4 + $1.entry.body.count + LogHash.byteCount }
        var w = ByteWriter(capacity: 8 + bodySize)
        w.write(UInt32(bodySize))
        w.write(UInt32(0))
        w.write(Self.recordsKind)
        w.write(epoch)
        w.write(leaderDurableLSN)
        w.write(leaderCommitTime)
        w.write(UInt32(records.count))
        for r in records {
            w.write(r.entry.lsn)
            w.write(r.entry.type.rawValue)
            w.write(UInt32(r.entry.body.count))
            w.write(bytes: r.entry.body)
            w.write(bytes: r.hash.bytes)
        }
        let crc = w.bytes.withUnsafeBytes { CRC32C.mask(CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[8...]))) }
        w.patch(crc, at: 4)
        return w.bytes
    }

    /// Decodes one frame's body (after its length and crc were checked).
    static func decodeBody(_ body: UnsafeRawBufferPointer, streamOffset: Int) throws(ReplicationError) -> ReplicationFrame {
        var r = ByteReader(body)
        do throws(FormatError) {
            let kind: UInt8 = try r.read()
            guard kind == recordsKind else { throw FormatError.invalid(offset: 0, reason: "unknown frame kind \(kind)") }
            let epoch: UInt64 = try r.read()
            let durable: UInt64 = try r.read()
            let time: UInt64 = try r.read()
            let count = Int(try r.read(UInt32.self))
            var records: [Record] = []
            records.reserveCapacity(min(count, 1 << 16))
            for _ in 0..<count {
                let lsn: UInt64 = try r.read()
                let type = WALRecordType(rawValue: try r.read(UInt8.self))
                let length = Int(try r.read(UInt32.self))
                let bytes = Array(try r.readBytes(length))
                let hash = LogHash(bytes: Array(try r.readBytes(LogHash.byteCount)))
                records.append(Record(entry: WALEntry(lsn: lsn, type: type, body: bytes), hash: hash))
            }
            guard r.isAtEnd else { throw FormatError.invalid(offset: r.offset, reason: "trailing bytes in frame") }
            return ReplicationFrame(epoch: epoch, leaderDurableLSN: durable, leaderCommitTime: time, records: records)
        } catch {
            throw .badFrame("frame at stream offset \(streamOffset): \(error)")
        }
    }
}

/// Splits a byte stream into checked frames, however the bytes arrive.
public struct ReplicationFrameDecoder: Sendable {
    private var buffer: [UInt8] = []
    private var start = 0
    private var sawMagic = false
    /// Bytes of the stream consumed so far (for error messages).
    public private(set) var streamOffset = 0

    public init() {}

    public mutating func append(_ bytes: some Sequence<UInt8>) {
        if start > 0 && start >= buffer.count / 2 {
            buffer.removeFirst(start)
            start = 0
        }
        buffer.append(contentsOf: bytes)
    }

    /// The next whole frame, or nil until more bytes arrive.
    public mutating func next() throws(ReplicationError) -> ReplicationFrame? {
        if !sawMagic {
            guard buffer.count - start >= 8 else { return nil }
            guard Array(buffer[start..<(start + 8)]) == ReplicationFrame.streamMagic else {
                throw .badFrame("the stream does not start with \(String(decoding: ReplicationFrame.streamMagic, as: UTF8.self))")
            }
            start += 8
            streamOffset += 8
            sawMagic = true
        }
        guard buffer.count - start >= 8 else { return nil }
        let (length, stored) = buffer.withUnsafeBytes { raw in
            (Int(raw.loadUnaligned(fromByteOffset: start, as: UInt32.self).littleEndian),
             raw.loadUnaligned(fromByteOffset: start + 4, as: UInt32.self).littleEndian)
        }
        guard length >= ReplicationFrame.fixedBodySize, length <= ReplicationFrame.maxBodySize else {
            throw .badFrame("frame at stream offset \(streamOffset) declares \(length) bytes")
        }
        guard buffer.count - start - 8 >= length else { return nil }
        let offset = streamOffset
        let decoded = buffer.withUnsafeBytes { raw -> Result<ReplicationFrame, ReplicationError> in
            let body = UnsafeRawBufferPointer(rebasing: raw[(start + 8)..<(start + 8 + length)])
            guard CRC32C.mask(CRC32C.checksum(body)) == stored else {
                return .failure(.badFrame("frame at stream offset \(offset) fails its checksum"))
            }
            do throws(ReplicationError) { return .success(try ReplicationFrame.decodeBody(body, streamOffset: offset)) } catch { return .failure(error) }
        }
        let frame = try decoded.get()
        start += 8 + length
        streamOffset += 8 + length
        return frame
    }
}
