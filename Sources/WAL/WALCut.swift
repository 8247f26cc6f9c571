import HSDBCore

/// Ends a WAL at a chosen LSN, for a restore to a point in time: the restored directory's
/// log is cut so that recovery replays exactly the records up to that LSN.
public enum WALCut {
    /// Removes every record after `lsn` from the WAL in `directory` (whole files after it,
    /// and the tail of the file that holds it, keeping the clock record that times it), then
    /// syncs what it changed. Returns the LSN the log now ends at, which is lower than `lsn`
    /// when the log ends before it.
    @discardableResult
    public static func cut(fileSystem fs: any FileSystem, directory: String, after lsn: UInt64) throws -> UInt64 {
        let files = try WALRecovery.listWALFiles(fs, directory)
        var lastKept: UInt64 = 0
        for (name, firstLSN) in files {
            let path = directory + "/" + name
            if firstLSN > lsn {
                do { try fs.remove(path) } catch let e as IOError { throw WALError.io(e) }
                continue
            }
            let (end, last) = try endOffset(fs, path, firstLSN: firstLSN, keepingThrough: lsn)
            lastKept = last
            let file = try WALRecovery.openOrThrow(fs, path, .readWrite)
            defer { try? file.close() }
            do {
                if try file.size() > end {
                    try file.truncate(to: end)
                    try file.sync()
                }
            } catch let e as IOError {
                throw WALError.io(e)
            }
        }
        do { try fs.syncDirectory(directory) } catch let e as IOError { throw WALError.io(e) }
        return lastKept
    }

    /// The offset just past the last record at or below `lsn` in one file (and past the
    /// clock record right after it), and that record's LSN.
    static func endOffset(_ fs: any FileSystem, _ path: String, firstLSN: UInt64, keepingThrough lsn: UInt64) throws -> (Int64, UInt64) {
        let region = try WALRecovery.mapOrThrow(fs, path)
        return region.withBytes { bytes -> (Int64, UInt64) in
            var offset = WALFormat.fileHeaderSize
            var last = firstLSN &- 1
            // The clock record after a kept record repeats its LSN, so it is kept with it.
            while case .record(let record, let size) = RecordCodec.parse(bytes, at: offset), record.lsn <= lsn {
                if record.type != .clock { last = record.lsn }
                offset += size
            }
            return (Int64(offset), last)
        }
    }
}
