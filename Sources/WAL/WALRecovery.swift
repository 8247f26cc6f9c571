import HSDBCore
import Logging

/// Where a record was found, for error messages that name file and offset.
public struct WALLocation: Sendable, Equatable, CustomStringConvertible {
    public let file: String
    public let offset: Int64
    public var description: String { "\(file) at offset \(offset)" }
}

public struct WALRecoveryOptions: Sendable {
    /// Salvage mode: skip records that fail their checksum in the middle of the log and keep
    /// going, instead of refusing to open. The skipped records' writes are lost; each skip is
    /// reported. Off by default: corruption is never skipped silently.
    public var skipCorruption = false
    /// Check only: report a torn tail or an incomplete last file but change nothing on disk
    /// (`hsdb verify`).
    public var readOnly = false

    public init(skipCorruption: Bool = false, readOnly: Bool = false) {
        self.skipCorruption = skipCorruption
        self.readOnly = readOnly
    }
}

/// What recovery found and did.
public struct WALRecoveryReport: Sendable {
    public struct FileSummary: Sendable, Equatable {
        public let name: String
        public let firstLSN: UInt64
        /// The last record's LSN, or firstLSN - 1 for a file with no records.
        public let lastLSN: UInt64
        /// Length of the valid part (header and whole records).
        public let validBytes: Int64
        /// The file's format version (1: no clock records).
        public let version: UInt16
    }

    public struct TruncatedTail: Sendable, Equatable {
        public let file: String
        public let offset: Int64
        public let droppedBytes: Int64
        public let reason: String
    }

    public var files: [FileSummary] = []
    /// LSN of the last valid record (0 if the log is empty).
    public var lastLSN: UInt64 = 0
    /// The time of the last clock record (nanoseconds since the Unix epoch), 0 if none.
    public var lastCommitTime: UInt64 = 0
    public var recordsVisited = 0
    public var bytesScanned: Int64 = 0
    public var truncatedTail: TruncatedTail?
    /// Corruption skipped in salvage mode.
    public var skipped: [CorruptionError] = []
    /// Last files whose header never reached the disk (created just before a crash), removed.
    public var removedIncompleteFiles: [String] = []
}

/// Reads a WAL directory back after a restart. The rules (DESIGN.md, "Recovery"):
///
/// 1. Files are read in LSN order; each must start where the previous ended (no gaps) and
///    every record's LSN is the previous one's plus one.
/// 2. A bad or partial record in the last file is a torn tail, the expected result of a crash
///    during a write that was never acknowledged, unless a later valid record proves it was
///    durable (its durable LSN covers it): then it is corruption. A torn tail is truncated away
///    and reported.
/// 3. A bad record anywhere else is corruption: recovery stops with an error naming the file
///    and offset, unless `skipCorruption` is set.
public enum WALRecovery {
    /// Scans the WAL in `directory`, calling `visit` for every engine record with LSN >
    /// `afterLSN`, in LSN order, and `clock` for every clock record (its LSN and time).
    /// Truncates a torn tail, removes an incomplete last file, and syncs the last file so
    /// everything it returns is durable.
    public static func recover(
        fileSystem fs: any FileSystem, directory: String, afterLSN: UInt64 = 0,
        options: WALRecoveryOptions = .init(), logger: Logger? = nil,
        clock: (_ lsn: UInt64, _ time: UInt64) -> Void = { _, _ in },
        visit: (WALRecord, WALLocation) throws -> Void
    ) throws -> WALRecoveryReport {
        var report = WALRecoveryReport()
        let names = try listWALFiles(fs, directory)
        var expectedLSN: UInt64? = nil
        for (index, (name, nameLSN)) in names.enumerated() {
            let path = directory + "/" + name
            let isLast = index == names.count - 1
            let region = try mapOrThrow(fs, path)
            let outcome = try region.withBytes { bytes in
                try scanFile(
                    bytes, path: path, name: name, nameLSN: nameLSN, isLast: isLast, expectedLSN: expectedLSN,
                    afterLSN: afterLSN, options: options, report: &report, clock: clock, visit: visit)
            }
            switch outcome {
            case .incompleteHeader(let reason):
                if !options.readOnly {
                    try fs.remove(path)
                    try fs.syncDirectory(directory)
                }
                report.removedIncompleteFiles.append(name)
                logger?.warning("WAL file \(path) removed at recovery: \(reason); it held no record")
            case .scanned(let summary, let truncateAt, let tailReason, let size):
                report.files.append(summary)
                report.bytesScanned += size
                report.lastLSN = summary.lastLSN
                expectedLSN = summary.lastLSN &+ 1
                if let truncateAt {
                    if !options.readOnly { try truncate(fs, path, to: truncateAt) }
                    let tail = WALRecoveryReport.TruncatedTail(
                        file: path, offset: truncateAt, droppedBytes: size - truncateAt, reason: tailReason)
                    report.truncatedTail = tail
                    logger?.warning(
                        "WAL \(path) truncated at offset \(truncateAt): \(tailReason); \(tail.droppedBytes) bytes of an unacknowledged write dropped")
                }
            }
        }
        if !options.readOnly, let last = report.files.last {  // what we replay must be durable before we build on it
            let file = try openOrThrow(fs, directory + "/" + last.name, .readWrite)
            defer { try? file.close() }
            do { try file.sync() } catch let e as IOError { throw WALError.io(e) }
        }
        return report
    }

    /// The WAL files in `directory`, sorted by first LSN.
    public static func listWALFiles(_ fs: any FileSystem, _ directory: String) throws -> [(String, UInt64)] {
        guard fs.directoryExists(directory) else { return [] }
        let names: [String]
        do { names = try fs.listDirectory(directory) } catch let e as IOError { throw WALError.io(e) }
        return names.compactMap { n in WALFormat.firstLSN(fromFileName: n).map { (n, $0) } }.sorted { $0.1 < $1.1 }
    }

    enum FileOutcome {
        case incompleteHeader(String)
        case scanned(WALRecoveryReport.FileSummary, truncateAt: Int64?, tailReason: String, size: Int64)
    }

    static func scanFile(
        _ bytes: UnsafeRawBufferPointer, path: String, name: String, nameLSN: UInt64, isLast: Bool,
        expectedLSN: UInt64?, afterLSN: UInt64, options: WALRecoveryOptions,
        report: inout WALRecoveryReport, clock: (UInt64, UInt64) -> Void,
        visit: (WALRecord, WALLocation) throws -> Void
    ) throws -> FileOutcome {
        let size = Int64(bytes.count)
        let version: UInt16
        switch WALFormat.decodeFileHeader(bytes) {
        case .failure(let problem):
            // A last file whose header never became durable holds no durable record, unless
            // a valid record after the header says otherwise.
            if isLast, findRecord(bytes, from: WALFormat.fileHeaderSize, after: nameLSN &- 1, provingDurable: false) == nil {
                return .incompleteHeader(problem.reason)
            }
            throw WALError.corruption(CorruptionError(file: path, offset: 0, reason: problem.reason))
        case .success(let (headerLSN, headerVersion)):
            version = headerVersion
            guard headerLSN == nameLSN else {
                throw WALError.corruption(CorruptionError(
                    file: path, offset: 16, reason: "header first LSN \(headerLSN) does not match the file name"))
            }
        }
        if let expectedLSN, expectedLSN != nameLSN {
            let gap = CorruptionError(
                file: path, offset: 16,
                reason: "file starts at LSN \(nameLSN) but the previous file ended before LSN \(expectedLSN) (a WAL file is missing)")
            guard options.skipCorruption, nameLSN > expectedLSN else { throw WALError.corruption(gap) }
            report.skipped.append(gap)
        }
        var expected = nameLSN
        var offset = WALFormat.fileHeaderSize
        while offset < bytes.count {
            let problem: String
            switch RecordCodec.parse(bytes, at: offset) {
            case .record(let record, let recordSize) where record.type == .clock:
                // A clock record follows a record of its own file and repeats its LSN.
                if version >= 2, expected > nameLSN, record.lsn == expected - 1, let time = WALClock.decode(record) {
                    clock(record.lsn, time)
                    report.lastCommitTime = time
                    offset += recordSize
                    continue
                }
                problem = "clock record at LSN \(record.lsn) does not follow the record before it or is malformed"
            case .record(let record, let recordSize):
                if record.lsn == expected {
                    if record.lsn > afterLSN && record.type != .closeMarker {
                        try visit(record, WALLocation(file: path, offset: Int64(offset)))
                        report.recordsVisited += 1
                    }
                    expected += 1
                    offset += recordSize
                    continue
                }
                problem = "record has LSN \(record.lsn) where LSN \(expected) was expected"
            case .truncated:
                problem = "incomplete record (the file ends inside it)"
            case .invalid(let reason):
                problem = reason
            }
            let previous = expected &- 1
            if isLast, findRecord(bytes, from: offset + 1, after: previous, provingDurable: true) == nil {
                let summary = WALRecoveryReport.FileSummary(
                    name: name, firstLSN: nameLSN, lastLSN: previous, validBytes: Int64(offset), version: version)
                return .scanned(summary, truncateAt: Int64(offset), tailReason: problem, size: size)
            }
            let corruption = CorruptionError(file: path, offset: Int64(offset), reason: problem)
            guard options.skipCorruption else { throw WALError.corruption(corruption) }
            report.skipped.append(corruption)
            guard let (next, lsn) = findRecord(bytes, from: offset + 1, after: previous, provingDurable: false) else {
                break  // nothing valid after it in this file
            }
            offset = next
            expected = lsn
        }
        let summary = WALRecoveryReport.FileSummary(
            name: name, firstLSN: nameLSN, lastLSN: expected &- 1, validBytes: Int64(offset), version: version)
        return .scanned(summary, truncateAt: offset < bytes.count ? Int64(offset) : nil, tailReason: "unreadable bytes after skipped corruption", size: size)
    }

    /// The first offset at or after `from` holding a valid record with an LSN after `previous`
    /// (and, with `provingDurable`, a durable LSN that covers record `previous + 1`).
    /// Cheap header checks come before the checksum, so scanning garbage is fast.
    static func findRecord(_ bytes: UnsafeRawBufferPointer, from: Int, after previous: UInt64, provingDurable: Bool) -> (Int, UInt64)? {
        let h = WALFormat.recordHeaderSize
        var offset = from
        while offset + h <= bytes.count {
            defer { offset += 1 }
            let type = bytes[offset + 24]
            // A clock record repeats an LSN, so it cannot be where a scan resumes.
            guard type != 0, type != WALRecordType.clock.rawValue, bytes[offset + 25] == 0, bytes[offset + 26] == 0, bytes[offset + 27] == 0 else { continue }
            let lsn = bytes.loadUnaligned(fromByteOffset: offset + 8, as: UInt64.self).littleEndian
            guard lsn > previous, lsn - previous < (1 << 32) else { continue }
            if provingDurable {
                let durable = bytes.loadUnaligned(fromByteOffset: offset + 16, as: UInt64.self).littleEndian
                guard durable > previous else { continue }
            }
            if case .record(let r, _) = RecordCodec.parse(bytes, at: offset) { return (offset, r.lsn) }
        }
        return nil
    }

    static func mapOrThrow(_ fs: any FileSystem, _ path: String) throws -> MappedRegion {
        do { return try fs.mapReadOnly(path) } catch let e as IOError { throw WALError.io(e) }
    }

    static func openOrThrow(_ fs: any FileSystem, _ path: String, _ mode: FileOpenMode) throws -> any File {
        do { return try fs.open(path, mode: mode) } catch let e as IOError { throw WALError.io(e) }
    }

    static func truncate(_ fs: any FileSystem, _ path: String, to size: Int64) throws {
        let file = try openOrThrow(fs, path, .readWrite)
        defer { try? file.close() }
        do {
            try file.truncate(to: size)
            try file.sync()
        } catch let e as IOError {
            throw WALError.io(e)
        }
    }
}
