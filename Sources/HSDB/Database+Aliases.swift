import HSDBCore
import Logging

/// A change to the aliases (Qdrant's alias actions).
public enum AliasAction: Sendable, Equatable {
    case create(alias: String, collection: String)
    case delete(alias: String)
    case rename(from: String, to: String)
}

extension Database {
    /// Every alias and the collection it names, by alias.
    public func aliases() throws -> [(alias: String, collection: String)] {
        try catalogState { $0.aliases.sorted { $0.key < $1.key }.map { ($0.key, $0.value) } }
    }

    /// Applies `actions` in order, all or none: the first that cannot apply (an alias that
    /// exists or is a collection's name, a collection or alias that does not exist) throws
    /// and nothing changes. The new table is durable (the `ALIASES` file replaced atomically)
    /// before any reader sees it.
    public func updateAliases(_ actions: [AliasAction]) async throws {
        try await catalogChanges.withLock {
            var (aliases, collections) = try catalogState { ($0.aliases, Set($0.collections.keys)) }
            for action in actions {
                switch action {
                case .create(let alias, let collection):
                    try Validation.checkName(alias)
                    guard collections.contains(collection) else { throw HSDBError.collectionNotFound(collection) }
                    guard !collections.contains(alias) else { throw HSDBError.collectionAlreadyExists(alias) }
                    aliases[alias] = collection  // as Qdrant: an existing alias is re-pointed
                case .delete(let alias):
                    guard aliases.removeValue(forKey: alias) != nil else { throw HSDBError.aliasNotFound(alias) }
                case .rename(let from, let to):
                    try Validation.checkName(to)
                    guard let collection = aliases.removeValue(forKey: from) else { throw HSDBError.aliasNotFound(from) }
                    guard !collections.contains(to) else { throw HSDBError.collectionAlreadyExists(to) }
                    aliases[to] = collection
                }
            }
            try await persist(aliases)
        }
    }

    /// Removes the aliases of a dropped collection (under `catalogChanges`).
    func dropAliases(of collection: String) async throws {
        let aliases = try catalogState { $0.aliases.filter { $0.value != collection } }
        if aliases.count != (try catalogState { $0.aliases.count }) { try await persist(aliases) }
    }

    private func persist(_ aliases: [String: String]) async throws {
        let (fs, file) = (self.fs, path + "/" + AliasFile.fileName)
        try await runBlocking("hsdb.aliases") {
            do { try fs.writeFileAtomically(file, bytes: AliasFile.encode(aliases)) } catch { throw HSDBError.wrap(error) }
        }
        try catalogState { $0.aliases = aliases }
        logger.info("aliases now \(aliases.count)")
    }

    /// The aliases file at open (none: no aliases), without aliases whose collection is gone
    /// (a drop interrupted before it rewrote the file).
    static func readAliases(_ path: String, _ fs: any FileSystem, collections: [String: Collection], _ logger: Logger) throws -> [String: String] {
        let file = path + "/" + AliasFile.fileName
        guard fs.fileExists(file) else { return [:] }
        let all = try AliasFile.decode(try fs.readFile(file), path: file)
        let kept = all.filter { collections[$0.value] != nil }
        if kept.count < all.count { logger.info("ignoring \(all.count - kept.count) alias(es) of dropped collections") }
        return kept
    }
}
