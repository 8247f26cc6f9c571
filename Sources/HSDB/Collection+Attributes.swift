import HSDBCore

extension Collection {
    /// Changes the settings the collection keeps without interpreting them (its attributes:
    /// the HTTP API's strict mode, optimizer settings, metadata).
    public func updateAttributes(_ change: @Sendable (inout Payload) throws -> Void) async throws {
        try await updateSettings { try change(&$0.attributes) }
    }

    /// Changes what may change in a live collection: its attributes, the HNSW parameters of
    /// each dense vector (used by the next flush or merge: segments already written keep
    /// their graphs) and each sparse vector's modifier (used by the next query). The shape
    /// (vector names, dimensions, metrics, multivector flags, sparse names) never changes: a
    /// change of it is refused. The metadata file is rewritten atomically (temporary file,
    /// fsync, rename, directory fsync) before the new settings are seen; a failed rewrite
    /// leaves both the file and the settings as they were.
    public func updateSettings(_ change: @Sendable (inout CollectionConfig) throws -> Void) async throws {
        try await settingUpdates.withLock {
            let current = config
            var next = current
            try change(&next)
            guard next != current else { return }
            guard next.shape == current.shape else {
                throw HSDBError.invalidArgument("collection '\(name)': its vectors' names, dimensions and metrics cannot change")
            }
            try Validation.checkConfig(next)
            let path = directory + "/" + CollectionMetadata.fileName
            let (fs, name) = (fs, name)
            try await runBlocking("hsdb.metadata") { [next] in
                do {
                    let created = try CollectionMetadata.decode(try fs.readFile(path), path: path).created
                    try fs.writeFileAtomically(path, bytes: CollectionMetadata.encode(name: name, config: next, createdMilliseconds: created))
                } catch {
                    throw HSDBError.wrap(error)
                }
            }
            configuration.withLock { $0 = next }
        }
    }
}
