import HSDBCore
import IPLD

/// `hsdb backup verify`: every block hashed (while the catalogue loads), the chain complete,
/// every link of every root resolved (UnixFS files read through, sizes checked), and each
/// backup's WAL continuous: files back to back and reaching down to the flushed LSN.
/// The first problem is thrown, naming the file, offset and CID.
public enum BackupVerifier {
    public struct Report: Sendable {
        public let archives: [BackupArchive]
        public let blocks: Int
    }

    public static func verify(directory: String, fileSystem fs: any FileSystem = POSIXFileSystem()) throws(BackupError) -> Report {
        let catalog = try BackupCatalog.load(directory: directory, fs: fs)
        defer { catalog.close() }
        try check(catalog)
        return Report(archives: catalog.archives, blocks: catalog.locations.count)
    }

    static func check(_ catalog: BackupCatalog) throws(BackupError) {
        guard !catalog.archives.isEmpty else { throw .noBackups(directory: catalog.directory) }
        // Each backup describes the whole state, so most files recur down the chain: a DAG
        // is read through once (same root CID, same bytes).
        var verified: [CID: UInt64] = [:]
        for archive in catalog.archives {
            for c in archive.root.collections {
                try checkLinks(c, archive, catalog, verified: &verified)
                try checkWAL(c, archive, catalog)
            }
        }
    }

    private static func checkLinks(
        _ c: BackupCollection, _ archive: BackupArchive, _ catalog: BackupCatalog, verified: inout [CID: UInt64]
    ) throws(BackupError) {
        for cid in [c.metadata] + (c.manifest.map { [$0] } ?? []) {
            guard catalog.locations[cid] != nil else {
                throw catalog.problem(in: archive, cid: cid, "collection '\(c.name)': a metadata or manifest block is in no CAR")
            }
        }
        let files = c.segments.map { ($0.file, $0.bytes, "segment \($0.contentID)") }
            + c.wal.map { ($0.file, $0.bytes, "WAL file \($0.name)") }
        for (cid, bytes, what) in files {
            do {
                let size = try verified[cid] ?? catalog.fileSizes(cid).fileSizeBytes
                verified[cid] = size
                guard size == bytes else {
                    throw catalog.problem(in: archive, cid: cid, "collection '\(c.name)': \(what) is \(size) bytes, the root says \(bytes)")
                }
            } catch let e as BackupError {
                throw e
            } catch ArchiveCodecError.blockNotFound(let missing) {
                throw catalog.problem(in: archive, cid: missing, "collection '\(c.name)': \(what) links a block that is in no CAR")
            } catch {
                throw catalog.problem(in: archive, cid: cid, "collection '\(c.name)': \(what): \(error)")
            }
        }
    }

    private static func checkWAL(_ c: BackupCollection, _ archive: BackupArchive, _ catalog: BackupCatalog) throws(BackupError) {
        var expected = c.firstLSN
        for w in c.wal {
            guard w.firstLSN == expected, w.lastLSN + 1 >= w.firstLSN else {
                throw catalog.problem(in: archive, cid: w.file, "collection '\(c.name)': WAL file \(w.name) starts at LSN \(w.firstLSN), expected \(expected): the WAL is not continuous")
            }
            expected = w.lastLSN + 1
        }
        guard c.wal.isEmpty || (expected - 1 == c.lastLSN && c.firstLSN <= c.flushedLSN + 1) else {
            throw catalog.problem(in: archive, cid: c.wal.first?.file, "collection '\(c.name)': the WAL holds LSNs \(c.firstLSN)...\(c.lastLSN), which does not continue from the flushed LSN \(c.flushedLSN)")
        }
    }
}
