import HSDBCore

extension Collection {
    /// Changes the settings the collection keeps without interpreting them (its attributes:
    /// the HTTP API's strict mode, optimizer settings, metadata). The metadata file is
    /// rewritten atomically (temporary file, fsync, rename, directory fsync) before the new
    /// attributes are seen; the shape (dimensions, metrics, vectors) never changes. A failed
    /// rewrite leaves both the file and the attributes as they were.
    public func updateAttributes(_ change: @Sendable (inout Payload) throws -> Void) async throws {
        try await attributeUpdates.withLock {
            var next = config
            try change(&next.attributes)
            guard next.attributes != config.attributes else { return }
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
            configuration.withLock { $0.attributes = next.attributes }
        }
    }
}
