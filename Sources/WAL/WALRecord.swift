import HSDBCore

/// One decoded record. `body` points into the scanned file and is valid only during the visit
/// callback that receives it.
public struct WALRecord {
    public let lsn: UInt64
    public let durableLSN: UInt64
    public let type: WALRecordType
    public let body: UnsafeRawBufferPointer
}

/// A record being built: the caller writes its body after a reserved header, and the writer
/// fills the header in once the LSN is known. One buffer, no copy of the body.
public struct WALRecordBuffer: Sendable {
    public var writer: ByteWriter
    public let type: WALRecordType

    public init(type: WALRecordType, capacity: Int = 256) {
        precondition(type.isValid && type.rawValue < WALRecordType.closeMarker.rawValue, "engine record types are 1...127")
        self.type = type
        writer = ByteWriter(capacity: WALFormat.recordHeaderSize + capacity)
        writer.append(zeros: WALFormat.recordHeaderSize)
    }

    init(internalType: WALRecordType) {
        type = internalType
        writer = ByteWriter(capacity: WALFormat.recordHeaderSize)
        writer.append(zeros: WALFormat.recordHeaderSize)
    }

    public var bodySize: Int { writer.count - WALFormat.recordHeaderSize }
}

extension WALFormat {
    /// One whole record (header and body) as the writer would write it. For tools and tests
    /// that build WAL files directly (fuzzing, fixtures); the engine appends through `WALWriter`.
    public static func encodeRecord(type: WALRecordType, lsn: UInt64, durableLSN: UInt64, body: some Collection<UInt8>) -> [UInt8] {
        var record = WALRecordBuffer(internalType: type)
        record.writer.write(bytes: body)
        RecordCodec.seal(&record, lsn: lsn, durableLSN: durableLSN, bodyChecksum: RecordCodec.bodyChecksum(record))
        return record.writer.bytes
    }
}

/// The record framing codec. DESIGN.md, "Record".
enum RecordCodec {
    /// The CRC of the body, computed before the LSN is known (outside any lock).
    static func bodyChecksum(_ record: WALRecordBuffer) -> UInt32 {
        record.writer.bytes.withUnsafeBytes {
            CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[WALFormat.recordHeaderSize...]))
        }
    }

    /// Fills in the header of `record` in place.
    static func seal(_ record: inout WALRecordBuffer, lsn: UInt64, durableLSN: UInt64, bodyChecksum: UInt32) {
        record.writer.patch(UInt32(record.bodySize), at: 4)
        record.writer.patch(lsn, at: 8)
        record.writer.patch(durableLSN, at: 16)
        record.writer.patch(record.type.rawValue, at: 24)
        let crc = record.writer.bytes.withUnsafeBytes {
            CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[4..<WALFormat.recordHeaderSize]), continuing: bodyChecksum)
        }
        record.writer.patch(CRC32C.mask(crc), at: 0)
    }

    enum Parse {
        case record(WALRecord, size: Int)
        /// Not enough bytes for the header or the body the header declares.
        case truncated
        /// The bytes at this offset are not a valid record.
        case invalid(String)
    }

    /// Parses the record starting at `offset` in `bytes`.
    static func parse(_ bytes: UnsafeRawBufferPointer, at offset: Int) -> Parse {
        let h = WALFormat.recordHeaderSize
        guard bytes.count - offset >= h else { return .truncated }
        let storedCRC = bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self).littleEndian
        let length = Int(bytes.loadUnaligned(fromByteOffset: offset + 4, as: UInt32.self).littleEndian)
        let type = WALRecordType(rawValue: bytes[offset + 24])
        guard type.isValid else { return .invalid("record type 0 (zeroed or unwritten space)") }
        guard length <= WALFormat.maxBodySize else { return .invalid("body length \(length) exceeds the format's limit") }
        guard bytes.count - offset - h >= length else { return .truncated }
        let body = UnsafeRawBufferPointer(rebasing: bytes[(offset + h)..<(offset + h + length)])
        let crc = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: bytes[(offset + 4)..<(offset + h)]), continuing: CRC32C.checksum(body))
        guard CRC32C.mask(crc) == storedCRC else { return .invalid("record checksum mismatch") }
        guard bytes[offset + 25] == 0, bytes[offset + 26] == 0, bytes[offset + 27] == 0 else {
            return .invalid("reserved header bytes are not zero")
        }
        let lsn = bytes.loadUnaligned(fromByteOffset: offset + 8, as: UInt64.self).littleEndian
        let durable = bytes.loadUnaligned(fromByteOffset: offset + 16, as: UInt64.self).littleEndian
        return .record(WALRecord(lsn: lsn, durableLSN: durable, type: type, body: body), size: h + length)
    }
}

