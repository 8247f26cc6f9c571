import Foundation
import HSDBCore
import Logging
import WAL

extension Collection {
    package static let walDirectoryName = "wal"

    /// Opens a collection directory: reads its metadata, replays its WAL into the memtable
    /// (repairing a torn tail) and starts its WAL writer. Blocking: call off the cooperative pool.
    static func open(directory: String, fileSystem fs: any FileSystem, options: DatabaseOptions, logger: Logger) throws -> Collection {
        let metaPath = directory + "/" + CollectionMetadata.fileName
        let meta = try CollectionMetadata.decode(try fs.readFile(metaPath), path: metaPath)
        let walDirectory = directory + "/" + walDirectoryName
        var memtable = Memtable(dimension: meta.config.dimension)
        let started = Date()
        let report: WALRecoveryReport
        do {
            report = try WALRecovery.recover(
                fileSystem: fs, directory: walDirectory, options: WALRecoveryOptions(skipCorruption: options.skipCorruption),
                logger: logger
            ) { record, location in
                let operation: Operation
                do {
                    operation = try OperationCodec.decode(type: record.type, body: record.body, dimension: meta.config.dimension)
                } catch {
                    throw HSDBError.corruption(CorruptionError(
                        file: location.file, offset: location.offset, reason: "record LSN \(record.lsn): \(error)"))
                }
                memtable.apply(operation, lsn: record.lsn)
            }
        } catch {
            throw HSDBError.wrap(error)
        }
        let elapsed = Date().timeIntervalSince(started)
        logger.info(
            "collection '\(meta.name)': recovered \(report.recordsVisited) WAL records (last LSN \(report.lastLSN), \(report.bytesScanned) bytes, \(report.files.count) files) in \(String(format: "%.3f", elapsed)) s; \(memtable.count) points")
        for skipped in report.skipped { logger.error("collection '\(meta.name)': skipped corrupt WAL data: \(skipped)") }
        let walOptions = WALWriterOptions(durability: options.durability, maxFileSize: options.walFileSize)
        let wal = try WALWriter(fileSystem: fs, directory: walDirectory, recovered: report, options: walOptions, logger: logger)
        return Collection(name: meta.name, config: meta.config, directory: directory, wal: wal, memtable: memtable, limits: options.limits)
    }

    /// Creates a collection directory under `parent`, durably, and returns its path. The
    /// directory appears under its final name only when complete (built under a temporary
    /// name, then renamed; both directories synced).
    static func create(name: String, config: CollectionConfig, parent: String, fileSystem fs: any FileSystem) throws -> String {
        let final = parent + "/" + name
        guard !fs.directoryExists(final) else { throw HSDBError.collectionAlreadyExists(name) }
        let temporary = parent + "/.tmp-" + UUID().uuidString.lowercased()
        try fs.createDirectory(temporary)
        try fs.createDirectory(temporary + "/" + walDirectoryName)
        let created = UInt64(Date().timeIntervalSince1970 * 1000)
        let meta = CollectionMetadata.encode(name: name, config: config, createdMilliseconds: created)
        let file = try fs.open(temporary + "/" + CollectionMetadata.fileName, mode: .createNew)
        defer { try? file.close() }
        try meta.withUnsafeBytes { try file.write($0, at: 0) }
        try file.sync()
        try fs.syncDirectory(temporary + "/" + walDirectoryName)
        try fs.syncDirectory(temporary)
        try fs.rename(temporary, to: final)
        try fs.syncDirectory(parent)
        return final
    }
}
