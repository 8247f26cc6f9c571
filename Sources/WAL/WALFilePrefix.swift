#if canImport(Glibc)
import Glibc
#endif
import HSDBCore

/// The whole records of one WAL file through an LSN (with the clock records that time them),
/// as a backup archives it. Held as a read-only mapping: a file that retention deletes, or
/// the writer appends to, after the scan still reads as it was.
public struct WALFilePrefix: Sendable {
    public let name: String
    public let firstLSN: UInt64
    /// The last record's LSN kept; firstLSN - 1 for a file without one.
    public let lastLSN: UInt64
    /// The mapped file; only its first `length` bytes belong to the prefix.
    public let region: MappedRegion
    public let length: Int
    /// (LSN, commit time in ns) of every clock record kept, in order.
    public let commitTimes: [(lsn: UInt64, time: UInt64)]

    /// The log in `directory` through `lsn`, every file that holds a record at or below it,
    /// oldest first. A file deleted before it could be mapped drops it and every file before
    /// it (retention deletes oldest first), so the prefixes stay contiguous. Throws
    /// `corruption` (file and offset) when a record before `lsn` cannot be read, or the files
    /// leave a gap.
    public static func scan(fileSystem fs: any FileSystem, directory: String, through lsn: UInt64) throws -> [WALFilePrefix] {
        var prefixes: [WALFilePrefix] = []
        for (name, firstLSN) in try WALRecovery.listWALFiles(fs, directory) where firstLSN <= lsn {
            let path = directory + "/" + name
            let region: MappedRegion
            do {
                region = try fs.mapReadOnly(path)
            } catch let e as IOError where e.errno == ENOENT {
                prefixes.removeAll()
                continue
            } catch let e as IOError {
                throw WALError.io(e)
            }
            let prefix = try scanFile(name: name, path: path, firstLSN: firstLSN, region: region, through: lsn)
            if let previous = prefixes.last, previous.lastLSN + 1 != firstLSN {
                throw WALError.corruption(CorruptionError(
                    file: path, offset: 16,
                    reason: "file starts at LSN \(firstLSN) but the previous file ends at LSN \(previous.lastLSN) (a WAL file is missing or damaged)"))
            }
            prefixes.append(prefix)
        }
        if let last = prefixes.last, last.lastLSN != lsn {
            throw WALError.corruption(CorruptionError(
                file: directory + "/" + last.name, offset: Int64(last.length),
                reason: "the log ends at LSN \(last.lastLSN), before LSN \(lsn)"))
        }
        return prefixes
    }

    private static func scanFile(name: String, path: String, firstLSN: UInt64, region: MappedRegion, through lsn: UInt64) throws -> WALFilePrefix {
        try region.withBytes { bytes throws -> WALFilePrefix in
            let version: UInt16
            switch WALFormat.decodeFileHeader(bytes) {
            case .success(let header):
                guard header.firstLSN == firstLSN else {
                    throw WALError.corruption(CorruptionError(file: path, offset: 16, reason: "the header says LSN \(header.firstLSN), the file name \(firstLSN)"))
                }
                version = header.version
            case .failure(let problem):
                throw WALError.corruption(CorruptionError(file: path, offset: 0, reason: problem.reason))
            }
            var offset = WALFormat.fileHeaderSize
            var last = firstLSN &- 1
            var times: [(lsn: UInt64, time: UInt64)] = []
            while offset < bytes.count, case .record(let record, let size) = RecordCodec.parse(bytes, at: offset) {
                if record.type == .clock {
                    // Kept with the record it times (it repeats that LSN).
                    guard version >= 2, record.lsn == last, record.lsn >= firstLSN, let time = WALClock.decode(record) else { break }
                    times.append((record.lsn, time))
                } else {
                    guard record.lsn == last &+ 1, record.lsn <= lsn else { break }
                    last = record.lsn
                }
                offset += size
            }
            return WALFilePrefix(name: name, firstLSN: firstLSN, lastLSN: last, region: region, length: offset, commitTimes: times)
        }
    }
}
