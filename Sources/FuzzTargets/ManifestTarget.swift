import HSDB
import HSDBCore
import HSDBTestSupport

/// The manifest decoder on arbitrary bytes (`ManifestFuzzing`), then a whole collection opened
/// over that manifest (sealed with a valid checksum) in the in-memory file system, with no
/// segment files and an empty WAL. Property: the open either succeeds (a manifest that lists
/// nothing and flushed nothing) or fails with a corruption error naming a file of that
/// collection; it never crashes, whatever the counts, LSNs and ordinals say.
enum ManifestTarget {
    static func run(_ data: UnsafeRawBufferPointer) {
        ManifestFuzzing.run(data)
        let fs = FaultInjectingFileSystem()
        let directory = WALRecoveryTarget.collectionDirectory
        do {
            try WALRecoveryTarget.buildDatabase(fs, walFiles: [])
            try WALRecoveryTarget.write(fs, directory + "/MANIFEST", ManifestFuzzing.seal(Array(data)))
        } catch {
            fatalError("manifest: building the image failed: \(error)")
        }
        let options = {
            var o = DatabaseOptions()
            o.createIfMissing = false
            return o
        }()
        let result = blocking { () async throws -> Int in
            let db = try await Database.open(at: WALRecoveryTarget.root, options: options, fileSystem: fs)
            let c = try db.collection("c")
            let count = c.count()
            _ = try c.search([1, 0, 0, 0], limit: 3)
            try await db.close()
            return count
        }
        switch result {
        case .success(let count): precondition(count == 0, "manifest: a collection without segments has \(count) points")
        case .failure(HSDBError.corruption(let c)):
            precondition(c.file.hasPrefix(directory), "manifest: corruption names an unexpected file: \(c)")
        case .failure(let error):
            fatalError("manifest: open failed with an unexpected error: \(error)")
        }
    }
}
