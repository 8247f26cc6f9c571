import HSDBCore

/// Reads a live log's records in LSN order from any retained LSN on, while the writer
/// appends: what a leader ships to its followers. It reads with pread, never past the LSN it
/// is told is committed, so it never sees a record being written. A cursor remembers the
/// file and offset reached, so following the tail costs only the new bytes.
public struct WALTailReader: Sendable {
    public let directory: String
    let fs: any FileSystem
    /// The LSN of the next record to return.
    public private(set) var nextLSN: UInt64
    private var file: (name: String, firstLSN: UInt64)?
    private var offset: Int64 = 0

    /// A reader whose first record will be the one after `lsn`. Throws
    /// `WALError.notRetained` when that record is no longer in the log.
    public init(fileSystem: any FileSystem, directory: String, after lsn: UInt64) throws {
        self.fs = fileSystem
        self.directory = directory
        self.nextLSN = lsn + 1
        let files = try WALRecovery.listWALFiles(fileSystem, directory)
        // A log not written yet has no file: the reader waits for the first.
        if files.isEmpty { return }
        guard let chosen = files.last(where: { $0.1 <= lsn + 1 }) else {
            throw WALError.notRetained(after: lsn, firstRetained: files.first?.1)
        }
        file = chosen
        offset = Int64(WALFormat.fileHeaderSize)
        nextLSN = chosen.1
        // Skip to the record after `lsn` (a reader starts once; following costs nothing more).
        _ = try read(through: lsn, maxBytes: .max, keep: false)
        guard nextLSN == lsn + 1 else { throw WALError.notRetained(after: lsn, firstRetained: files.first?.1) }
    }

    /// The records from `nextLSN` through `through` (the caller's committed LSN), stopping
    /// after about `maxBytes` of bodies (at least one record). Close markers are returned
    /// (they hold an LSN); clock records are not.
    public mutating func read(through: UInt64, maxBytes: Int) throws -> [WALEntry] {
        try read(through: through, maxBytes: maxBytes, keep: true)
    }

    private mutating func read(through: UInt64, maxBytes: Int, keep: Bool) throws -> [WALEntry] {
        var out: [WALEntry] = []
        var bytes = 0
        var buffer: [UInt8] = []
        while nextLSN <= through && bytes < maxBytes {
            if file == nil {
                guard let first = try WALRecovery.listWALFiles(fs, directory).last(where: { $0.1 <= nextLSN }) else { break }
                file = first
                offset = Int64(WALFormat.fileHeaderSize)
            }
            guard let current = file else { break }
            let path = directory + "/" + current.name
            let handle: any File
            do { handle = try fs.open(path, mode: .readOnly) } catch let e as IOError { throw WALError.io(e) }
            defer { try? handle.close() }
            let size: Int64
            do { size = try handle.size() } catch let e as IOError { throw WALError.io(e) }
            var progressed = false
            var want = Int(min(size - offset, 1 << 20))
            while nextLSN <= through && bytes < maxBytes && offset < size {
                buffer = try readChunk(handle, at: offset, count: want, into: buffer)
                var used = 0
                try buffer.withUnsafeBytes { raw in
                    while nextLSN <= through && bytes < maxBytes {
                        switch RecordCodec.parse(raw, at: used) {
                        case .record(let record, let recordSize):
                            if record.type == .clock {
                                used += recordSize
                                continue
                            }
                            guard record.lsn == nextLSN else {
                                throw corruption(path, offset + Int64(used), "record has LSN \(record.lsn) where LSN \(nextLSN) was expected")
                            }
                            if keep {
                                out.append(WALEntry(lsn: record.lsn, type: record.type, body: Array(record.body)))
                                bytes += record.body.count + WALFormat.recordHeaderSize
                            }
                            nextLSN += 1
                            used += recordSize
                        case .truncated:
                            return
                        case .invalid(let reason):
                            throw corruption(path, offset + Int64(used), reason)
                        }
                    }
                }
                if used == 0 {
                    // The next record does not fit in the chunk: read it whole, if the file holds it.
                    guard buffer.count >= WALFormat.recordHeaderSize else { break }
                    let length = buffer.withUnsafeBytes { Int($0.loadUnaligned(fromByteOffset: 4, as: UInt32.self).littleEndian) }
                    let whole = WALFormat.recordHeaderSize + length
                    guard whole > buffer.count, offset + Int64(whole) <= size else { break }
                    want = whole
                    continue
                }
                offset += Int64(used)
                progressed = true
                want = Int(min(size - offset, 1 << 20))
            }
            guard nextLSN <= through && bytes < maxBytes else { break }
            // This file holds nothing more that is committed: the record wanted is in the next one.
            let files = try WALRecovery.listWALFiles(fs, directory)
            if let next = files.first(where: { $0.1 > current.firstLSN }) {
                guard next.1 == nextLSN else {
                    throw corruption(directory + "/" + next.0, 16, "file starts at LSN \(next.1) but LSN \(nextLSN) was expected next")
                }
                file = next
                offset = Int64(WALFormat.fileHeaderSize)
            } else if !progressed {
                throw corruption(path, offset, "LSN \(nextLSN) is committed but not in the log")
            }
        }
        return out
    }

    private func readChunk(_ handle: any File, at offset: Int64, count: Int, into buffer: [UInt8]) throws -> [UInt8] {
        var chunk = buffer
        if chunk.count != count { chunk = [UInt8](repeating: 0, count: count) }
        let n: Int
        do { n = try chunk.withUnsafeMutableBytes { try handle.read(into: $0, at: offset) } } catch let e as IOError { throw WALError.io(e) }
        if n < count { chunk.removeLast(count - n) }
        return chunk
    }

    private func corruption(_ file: String, _ offset: Int64, _ reason: String) -> WALError {
        .corruption(CorruptionError(file: file, offset: offset, reason: reason))
    }
}
