import Foundation
import HSDBCore

extension Database {
    /// A new, empty directory beside the collections (same file system, so installing it is a
    /// rename), for a caller that lays out a collection to install. Its name starts with '.',
    /// so a crash before the install leaves nothing that opens: it is removed at the next open.
    public func makeStagingDirectory() throws -> String {
        _ = try catalogState { _ in () }  // refuses when closed
        let path = collectionsDirectory + "/.staged-" + UUID().uuidString.lowercased()
        do { try fs.createDirectory(path) } catch { throw HSDBError.wrap(error) }
        return path
    }

    /// Replaces the collection `name` (or creates it) with the collection directory `staged`
    /// (made by `makeStagingDirectory`, holding `collection.meta`, the manifest, segments and
    /// WAL as a collection does). Its metadata is rewritten with `name`, and it is opened
    /// (recovered) in place first, so a directory that does not open changes nothing. Then
    /// the old collection is closed and renamed away, the new one renamed into place and the
    /// directory fsynced: a crash leaves the old collection or the new one.
    public func installCollection(_ name: String, from staged: String) async throws {
        try Validation.checkName(name)
        let (fs, parent, options, logger) = (self.fs, collectionsDirectory, self.options, self.logger)
        guard parentDirectory(of: staged) == parent, (staged as NSString).lastPathComponent.hasPrefix(".") else {
            throw HSDBError.invalidArgument("\(staged) is not a staging directory of this database")
        }
        try await catalogChanges.withLock {
            _ = try catalogState { _ in () }
            let trial = try await runBlocking("hsdb.install") {
                do {
                    let metaPath = staged + "/" + CollectionMetadata.fileName
                    let (_, config, _) = try CollectionMetadata.decode(try fs.readFile(metaPath), path: metaPath)
                    let created = UInt64(Date().timeIntervalSince1970 * 1000)
                    try fs.writeFileAtomically(metaPath, bytes: CollectionMetadata.encode(name: name, config: config, createdMilliseconds: created))
                    // A trial: no merge to start and stop, no background hash (the final open has both).
                    var trial = options
                    trial.compaction.enabled = false
                    trial.verifySegmentsOnOpen = false
                    return try Collection.open(directory: staged, fileSystem: fs, options: trial, logger: logger)
                } catch {
                    try? fs.removeTree(staged)
                    throw HSDBError.wrap(error)
                }
            }
            try await trial.close()
            let existing = try catalogState { $0.collections.removeValue(forKey: name) }
            if let existing { try? await existing.close() }
            let collection = try await runBlocking("hsdb.install") {
                do {
                    let final = parent + "/" + name
                    var doomed: String?
                    if fs.directoryExists(final) {
                        doomed = parent + "/.dropped-" + UUID().uuidString.lowercased()
                        try fs.rename(final, to: doomed!)
                    }
                    try fs.rename(staged, to: final)
                    try fs.syncDirectory(parent)
                    if let doomed { try fs.removeTree(doomed) }
                    return try Collection.open(directory: final, fileSystem: fs, options: options, logger: logger)
                } catch {
                    throw HSDBError.wrap(error)
                }
            }
            try catalogState { $0.collections[name] = collection }
            logger.info("installed collection '\(name)'")
        }
    }
}
