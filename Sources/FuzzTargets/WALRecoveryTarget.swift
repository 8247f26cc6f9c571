import Dispatch
import Foundation
import HSDB
import HSDBCore
import HSDBTestSupport
import Synchronization
import WAL

/// A database whose WAL is built from the input, opened in the fault-injecting (in-memory)
/// file system. The input is a script of chunks `op u8 | length u8 | bytes`, so the fuzzer can
/// build well-framed records (with valid checksums) as easily as garbage:
///
///     op % 8:  0 upsert record (points from the bytes)   1 delete record (ids from the bytes)
///              2 raw bytes appended                      3 rotate to a new file
///              4 record of any type (first byte), body = the rest
///              5 skip an LSN                             6 flip a bit of the current file
///              7 close marker
///
/// Properties: opening either succeeds or fails with a corruption error naming a file; after a
/// successful open, reads work and agree with each other, and a second open (recovery's
/// repairs are durable and idempotent) finds exactly the same state. Salvage mode
/// (`skipCorruption`) never crashes either.
enum WALRecoveryTarget {
    static let root = "/db"
    static let dimension = 4
    /// Further dense vectors: "n" of 2, and "m", a multivector of 2 (points carry 2 rows).
    static let lanes = [NamedVectorConfig(name: "n", dimension: 2), NamedVectorConfig(name: "m", dimension: 2, multivector: true)]
    static var collectionDirectory: String { root + "/" + Database.collectionsDirectoryName + "/c" }
    static var walDirectory: String { collectionDirectory + "/" + Collection.walDirectoryName }

    static func run(_ data: UnsafeRawBufferPointer) {
        let fs = FaultInjectingFileSystem()
        do {
            try buildDatabase(fs, walFiles: walFiles(from: data))
        } catch {
            fatalError("wal-recovery: building the image failed: \(error)")
        }
        var strict = DatabaseOptions()
        strict.createIfMissing = false
        check(fs, strict)
        var salvage = strict
        salvage.skipCorruption = true
        check(fs, salvage)
    }

    /// Opens, reads, closes, reopens; checks the two opens agree.
    static func check(_ fs: FaultInjectingFileSystem, _ options: DatabaseOptions) {
        guard let first = openAndRead(fs, options) else { return }
        guard let second = openAndRead(fs, options) else {
            fatalError("wal-recovery: a database that opened once failed to open again")
        }
        precondition(first == second, "wal-recovery: reopening changed the state: \(first) then \(second)")
    }

    struct Observed: Equatable {
        var count: Int
        var appliedLSN: UInt64
        var ids: [PointID]
    }

    static func openAndRead(_ fs: FaultInjectingFileSystem, _ options: DatabaseOptions) -> Observed? {
        let result = blocking { () async throws -> Observed in
            let db = try await Database.open(at: root, options: options, fileSystem: fs)
            let c = try db.collection("c")
            let all = try c.scroll(limit: 1 << 20, projection: .everything)
            precondition(all.points.count == c.count(), "wal-recovery: scroll and count disagree")
            let got = try c.get(ids: all.points.map(\.id))
            precondition(got.count == all.points.count, "wal-recovery: get misses scrolled points")
            _ = try c.search([1, 0, 0, 0], limit: 3)
            _ = try c.search([1, 0], lane: 1, limit: 3)
            _ = try c.search([1, 0, 0, 1], lane: 2, limit: 3)
            let observed = Observed(count: c.count(), appliedLSN: c.appliedLSN, ids: all.points.map(\.id))
            try await db.close()
            return observed
        }
        switch result {
        case .success(let observed): return observed
        case .failure(HSDBError.corruption(let c)):
            precondition(c.file.hasPrefix(walDirectory), "wal-recovery: corruption names an unexpected file: \(c)")
            return nil
        case .failure(let error):
            fatalError("wal-recovery: open failed with an unexpected error: \(error)")
        }
    }

    /// Interprets the input script as WAL files: (first LSN, bytes).
    static func walFiles(from data: UnsafeRawBufferPointer) -> [(UInt64, [UInt8])] {
        var files: [(UInt64, [UInt8])] = [(1, WALFormat.encodeFileHeader(firstLSN: 1))]
        var lsn: UInt64 = 1
        var i = 0
        func seal(_ type: UInt8, _ body: [UInt8], _ variant: Int) {
            let durable = lsn > UInt64(variant % 3) ? lsn - 1 - UInt64(variant % 3) : 0
            files[files.count - 1].1 += WALFormat.encodeRecord(type: WALRecordType(rawValue: type), lsn: lsn, durableLSN: durable, body: body)
            lsn += 1
        }
        while i + 2 <= data.count {
            let op = data[i] % 9
            let length = Int(data[i + 1])
            i += 2
            let chunk = Array(data[i..<min(i + length, data.count)])
            i += chunk.count
            switch op {
            case 0: seal(1, upsertBody(chunk), chunk.count)
            case 1: seal(2, deleteBody(chunk), chunk.count)
            case 2: files[files.count - 1].1 += chunk
            case 3: files.append((lsn, WALFormat.encodeFileHeader(firstLSN: lsn)))
            case 4: seal(chunk.first ?? 0, Array(chunk.dropFirst()), chunk.count)
            case 5: lsn += 1
            case 6:
                let size = files[files.count - 1].1.count
                let at = chunk.count >= 2 ? (Int(chunk[0]) << 8 | Int(chunk[1])) % size : size - 1
                files[files.count - 1].1[at] ^= UInt8(1 << ((chunk.last ?? 0) % 8))
            case 7: seal(WALRecordType.closeMarker.rawValue, [], chunk.count)
            default:  // a clock record after the last record (its LSN repeated), time from the chunk
                let time = chunk.prefix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
                var body = ByteWriter(capacity: 8)
                body.write(time)
                files[files.count - 1].1 += WALFormat.encodeRecord(
                    type: .clock, lsn: lsn &- 1, durableLSN: lsn > 1 ? lsn - 2 : 0, body: body.bytes)
            }
        }
        return files
    }

    /// An upsert body of one point per 17 bytes: id seed, then 4 floats; when the first seed
    /// is odd, each point also carries a sparse vector (a version 2 record); when its bit 1 is
    /// set, points whose seed has bit 5 set carry no dense vector (a version 3 record); when its
    /// bit 2 is set, points whose seed has bit 4 set carry the further vector "n" and those
    /// with bit 3 the multivector "m" (a version 4 record).
    static func upsertBody(_ bytes: [UInt8]) -> [UInt8] {
        let count = bytes.count / 17
        let sparse = (bytes.first ?? 0) & 1 == 1
        let laned = (bytes.first ?? 0) & 4 == 4
        let optional = (bytes.first ?? 0) & 2 == 2 || laned
        var record = OperationCodec.beginUpsert(
            count: count, dimension: dimension, sparse: sparse, absentVectors: optional, multivectors: laned)
        for p in 0..<count {
            let seed = bytes[p * 17]
            let vector = (0..<dimension).map { k in
                Float(bitPattern: bytes[(p * 17 + 1 + k * 4)..<(p * 17 + 5 + k * 4)].reversed().reduce(0) { $0 << 8 | UInt32($1) })
            }
            let payload: Payload = seed & 0x40 == 0 ? [:] : ["seed": .int(Int64(seed))]
            let vectors: [String: SparseVector] = sparse ? ["s": SparseVector(indices: [UInt32(seed & 7), 8 + UInt32(seed >> 4)], values: [1, vector[0]])] : [:]
            let dense = optional && seed & 0x20 != 0 ? nil : vector
            var named: [String: [Float]] = [:]
            if laned && seed & 0x10 != 0 { named["n"] = Array(vector.prefix(2)) }
            if laned && seed & 0x08 != 0 { named["m"] = vector }
            OperationCodec.appendPoint(
                Point(id: pointID(seed), vector: dense, sparse: vectors, named: named, payload: payload), lanes: lanes, to: &record)
        }
        return Array(record.writer.bytes.dropFirst(WALFormat.recordHeaderSize))
    }

    static func deleteBody(_ bytes: [UInt8]) -> [UInt8] {
        let record = OperationCodec.encodeDelete(bytes.map(pointID))
        return Array(record.writer.bytes.dropFirst(WALFormat.recordHeaderSize))
    }

    /// Few distinct ids, so writes overwrite and delete each other.
    static func pointID(_ seed: UInt8) -> PointID {
        seed & 0x80 == 0
            ? .integer(UInt64(seed & 0x0F))
            : .uuid(UUID(uuid: (seed & 0x0F, 0, 0, 0, 0, 0, 0x40, 0, 0x80, 0, 0, 0, 0, 0, 0, 1)))
    }

    static func buildDatabase(_ fs: FaultInjectingFileSystem, walFiles: [(UInt64, [UInt8])]) throws {
        try fs.createDirectories(walDirectory)
        try write(fs, root + "/" + DatabaseMarker.fileName, DatabaseMarker.encode())
        let meta = CollectionMetadata.encode(
            name: "c", config: CollectionConfig(dimension: dimension, sparseVectors: ["s": SparseVectorParameters()], namedVectors: lanes),
            createdMilliseconds: 0)
        try write(fs, collectionDirectory + "/" + CollectionMetadata.fileName, meta)
        for (firstLSN, bytes) in walFiles {
            try write(fs, walDirectory + "/" + WALFormat.fileName(firstLSN: firstLSN), bytes)
        }
    }

    static func write(_ fs: FaultInjectingFileSystem, _ path: String, _ bytes: [UInt8]) throws {
        let file = try fs.open(path, mode: .createOrTruncate)
        defer { try? file.close() }
        try bytes.withUnsafeBytes { try file.write($0, at: 0) }
    }
}

/// Runs async work to completion from synchronous code (the fuzz driver's callback).
func blocking<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) -> Result<T, any Error> {
    let box = Mutex<Result<T, any Error>?>(nil)
    let done = DispatchSemaphore(value: 0)
    Task {
        let result: Result<T, any Error>
        do { result = .success(try await body()) } catch { result = .failure(error) }
        box.withLock { $0 = result }
        done.signal()
    }
    done.wait()
    return box.withLock { $0! }
}
