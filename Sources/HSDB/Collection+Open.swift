import Foundation
import HSDBCore
import Logging
import Segments
import WAL

extension Collection {
    package static let walDirectoryName = "wal"

    /// Opens a collection directory: reads its metadata and manifest, removes segment files
    /// the manifest does not list (left by an interrupted flush or compaction), maps the live
    /// segments, replays the WAL after the flushed LSN into the memtable (repairing a torn
    /// tail) and starts its WAL writer. Blocking: call off the cooperative pool.
    static func open(directory: String, fileSystem fs: any FileSystem, options: DatabaseOptions, logger: Logger) throws -> Collection {
        let metaPath = directory + "/" + CollectionMetadata.fileName
        let meta = try CollectionMetadata.decode(try fs.readFile(metaPath), path: metaPath)
        let manifestPath = directory + "/" + Manifest.fileName
        if fs.fileExists(manifestPath + ".tmp") {  // a manifest switch cut short: the old one stands
            logger.info("removing \(manifestPath).tmp, left by an interrupted manifest switch")
            try fs.remove(manifestPath + ".tmp")
        }
        let manifest = fs.fileExists(manifestPath) ? try Manifest.decode(try fs.readFile(manifestPath), path: manifestPath) : Manifest()
        let handles = try openSegments(
            directory: directory, manifest: manifest, lanes: meta.config.namedVectors, fs: fs, logger: logger)
        var state = CollectionState(
            dimension: meta.config.dimension, manifest: manifest, segments: handles.reversed(), lanes: meta.config.namedVectors)

        let walDirectory = directory + "/" + walDirectoryName
        let started = Date()
        let report: WALRecoveryReport
        do {
            report = try WALRecovery.recover(
                fileSystem: fs, directory: walDirectory, afterLSN: manifest.flushedLSN,
                options: WALRecoveryOptions(skipCorruption: options.skipCorruption), logger: logger
            ) { record, location in
                let operation: Operation
                do {
                    operation = try OperationCodec.decode(
                            type: record.type, body: record.body, dimension: meta.config.dimension, lanes: meta.config.namedVectors)
                } catch {
                    throw HSDBError.corruption(CorruptionError(
                        file: location.file, offset: location.offset, reason: "record LSN \(record.lsn): \(error)"))
                }
                state.apply(operation, lsn: record.lsn, recordBytes: record.body.count)
            }
        } catch {
            throw HSDBError.wrap(error)
        }
        guard report.lastLSN >= manifest.flushedLSN else {
            throw HSDBError.corruption(CorruptionError(
                file: walDirectory, offset: 0,
                reason: "the WAL ends at LSN \(report.lastLSN) but the manifest says LSN \(manifest.flushedLSN) was flushed (WAL files are missing)"))
        }
        let elapsed = Date().timeIntervalSince(started)
        logger.info(
            "collection '\(meta.name)': \(handles.count) segment(s) up to LSN \(manifest.flushedLSN); replayed \(report.recordsVisited) WAL records (last LSN \(report.lastLSN), \(report.bytesScanned) bytes, \(report.files.count) files) in \(String(format: "%.3f", elapsed)) s")
        for skipped in report.skipped { logger.error("collection '\(meta.name)': skipped corrupt WAL data: \(skipped)") }
        let pinsPath = directory + "/" + WALPins.fileName
        let pins = fs.fileExists(pinsPath) ? try WALPins.decode(try fs.readFile(pinsPath), path: pinsPath) : WALPins()
        let walOptions = WALWriterOptions(
            durability: options.durability, maxFileSize: options.walFileSize, writesCloseMarker: options.writesWALCloseMarkers)
        let wal = try WALWriter(fileSystem: fs, directory: walDirectory, recovered: report, options: walOptions, logger: logger)
        let collection = Collection(
            name: meta.name, config: meta.config, directory: directory, wal: wal, state: state, options: options, fileSystem: fs, logger: logger)
        collection.walPins.withLock { $0 = pins }
        // A WAL replayed past the threshold is flushed now rather than at the next write.
        if collection.state.withLock({ $0.active.bytes >= options.memtableFlushBytes }) { collection.scheduleFlush() }
        collection.watchForIdleMemtable()
        collection.scheduleMerge()  // segments a flush left without a graph before a crash get one
        if options.verifySegmentsOnOpen && !handles.isEmpty {
            Task.detached { collection.verifySegments(handles) }
        }
        return collection
    }

    /// The manifest's segments, oldest first, with their dead points marked.
    private static func openSegments(
        directory: String, manifest: Manifest, lanes: [NamedVectorConfig], fs: any FileSystem, logger: Logger
    ) throws -> [SegmentHandle] {
        let segmentsDirectory = directory + "/" + segmentsDirectoryName
        try fs.createDirectory(segmentsDirectory)
        let live = Set(manifest.segments.map { SegmentFormat.fileName(contentID: $0.contentID) })
        var removed = false
        for name in try fs.listDirectory(segmentsDirectory) where !live.contains(name) {
            logger.info("removing \(segmentsDirectory)/\(name): not in the manifest (left by an interrupted flush or compaction)")
            do {
                try fs.remove(segmentsDirectory + "/" + name)
            } catch let e as IOError where e.errno == ENOENT {
                // Already gone: in one process, a closed collection's last reference to a
                // merged segment removes its file when it goes, which can be now (DiskFaultTests
                // saw it under load: seed 289451, call 5).
            }
            removed = true
        }
        if removed { try fs.syncDirectory(segmentsDirectory) }
        return try manifest.segments.map { entry in
            let path = segmentsDirectory + "/" + SegmentFormat.fileName(contentID: entry.contentID)
            guard fs.fileExists(path) else {
                throw HSDBError.corruption(CorruptionError(file: path, offset: 0, reason: "segment listed in the manifest is missing"))
            }
            let segment: Segment
            do {
                segment = try Segment.open(path: path, fileSystem: fs)
                try segment.verifySections()
            } catch {
                throw HSDBError.wrap(error)
            }
            guard segment.count == entry.count, segment.bytes == entry.bytes else {
                throw HSDBError.corruption(CorruptionError(
                    file: path, offset: 0, reason: "segment has \(segment.count) points in \(segment.bytes) bytes; the manifest says \(entry.count) in \(entry.bytes)"))
            }
            guard segment.lanes.map(\.dimension) == lanes.map(\.dimension) else {
                throw HSDBError.corruption(CorruptionError(
                    file: path, offset: 0, reason: "segment's further dense vectors do not match the collection's"))
            }
            let handle = SegmentHandle(segment: segment, fileSystem: fs, logger: logger, laneNames: lanes.map(\.name))
            // Deaths the manifest recorded happened at or before the flushed LSN, which every
            // snapshot from now on is at or after.
            for o in entry.dead { handle.shadow(o, at: max(manifest.flushedLSN, 1)) }
            return handle
        }
    }

    /// Checks every segment's content hash (its section CRCs were checked at open); a
    /// failure is logged as critical (it names the file; `hsdb verify` reports the same).
    func verifySegments(_ handles: [SegmentHandle]) {
        for h in handles {
            do { try h.segment.verifyContentHash() } catch {
                logger.critical("collection '\(name)': segment failed verification: \(error)")
            }
        }
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
        try fs.createDirectory(temporary + "/" + segmentsDirectoryName)
        let created = UInt64(Date().timeIntervalSince1970 * 1000)
        let meta = CollectionMetadata.encode(name: name, config: config, createdMilliseconds: created)
        let file = try fs.open(temporary + "/" + CollectionMetadata.fileName, mode: .createNew)
        defer { try? file.close() }
        try meta.withUnsafeBytes { try file.write($0, at: 0) }
        try file.sync()
        try fs.syncDirectory(temporary + "/" + walDirectoryName)
        try fs.syncDirectory(temporary + "/" + segmentsDirectoryName)
        try fs.syncDirectory(temporary)
        try fs.rename(temporary, to: final)
        try fs.syncDirectory(parent)
        return final
    }
}
