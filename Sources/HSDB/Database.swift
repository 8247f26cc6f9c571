import Foundation
import HSDBCore
import Logging
import Synchronization

/// An hsdb database: a directory of collections, opened by one process at a time.
///
///     let db = try await Database.open(at: "./data")
///     let docs = try await db.createCollection("docs", config: CollectionConfig(dimension: 384))
///
/// All methods are safe to call from many tasks at once. Methods that wait on the disk are
/// `async` and do their blocking I/O on threads of their own, never on the cooperative pool.
public final class Database: Sendable {
    public let path: String
    public let options: DatabaseOptions
    let fs: any FileSystem
    let logger: Logger
    private let lock: any FileLock
    private let catalog: Mutex<Catalog>
    /// Serialises create and drop, which await I/O.
    let catalogChanges = AsyncMutex()

    struct Catalog {
        var collections: [String: Collection] = [:]
        /// Alias to collection name (`Database+Aliases`).
        var aliases: [String: String] = [:]
        var closed = false
    }

    /// The default logger of the embedded engine: silent. Pass a logger to see recovery reports.
    public static let silentLogger = Logger(label: "hsdb", factory: { _ in SwiftLogNoOpLogHandler() })

    package static let collectionsDirectoryName = "collections"
    static let lockFileName = "LOCK"
    var collectionsDirectory: String { path + "/" + Self.collectionsDirectoryName }

    /// Collections moved aside at open because a file was missing or damaged (only with
    /// `quarantinesDamagedCollections`).
    public let quarantined: [QuarantinedCollection]

    private init(
        path: String, options: DatabaseOptions, fs: any FileSystem, logger: Logger, lock: any FileLock,
        collections: [String: Collection], aliases: [String: String], quarantined: [QuarantinedCollection]
    ) {
        self.quarantined = quarantined
        self.path = path
        self.options = options
        self.fs = fs
        self.logger = logger
        self.lock = lock
        self.catalog = Mutex(Catalog(collections: collections, aliases: aliases))
    }

    /// Opens (or, with `createIfMissing`, creates) the database at `path`, recovering every
    /// collection from its WAL. Throws `databaseLocked` if another process has it open.
    public static func open(
        at path: String, options: DatabaseOptions = DatabaseOptions(),
        fileSystem: any FileSystem = POSIXFileSystem(), logger: Logger = Database.silentLogger
    ) async throws -> Database {
        try await runBlocking("hsdb.open") {
            try openBlocking(at: path, options: options, fileSystem: fileSystem, logger: logger)
        }
    }

    static func openBlocking(at rawPath: String, options: DatabaseOptions, fileSystem fs: any FileSystem, logger: Logger) throws -> Database {
        let path = rawPath.count > 1 && rawPath.hasSuffix("/") ? String(rawPath.dropLast()) : rawPath
        do {
            if !fs.directoryExists(path) {
                guard options.createIfMissing else { throw HSDBError.notADatabase(path: path, reason: "the directory does not exist") }
                try fs.createDirectories(path)
            }
            let lock = try takeLock(path, fs)
            do {
                try checkOrWriteMarker(path, fs)
                let (collections, quarantined) = try openCollections(path, fs, options, logger)
                let aliases = try readAliases(path, fs, collections: collections, logger)
                logger.info("database \(path) open: \(collections.count) collections, durability \(options.durability)")
                return Database(
                    path: path, options: options, fs: fs, logger: logger, lock: lock, collections: collections, aliases: aliases,
                    quarantined: quarantined)
            } catch {
                lock.unlock()
                throw error
            }
        } catch {
            throw HSDBError.wrap(error)
        }
    }

    static func takeLock(_ path: String, _ fs: any FileSystem) throws -> any FileLock {
        let lockPath = path + "/" + lockFileName
        do {
            return try fs.lockExclusive(lockPath)
        } catch let e as IOError where e.errno == EWOULDBLOCK {
            let holder = (try? fs.readFile(lockPath)).flatMap { Int32(String(decoding: $0, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)) }
            throw HSDBError.databaseLocked(path: path, holderPID: holder)
        }
    }

    private static func checkOrWriteMarker(_ path: String, _ fs: any FileSystem) throws {
        let markerPath = path + "/" + DatabaseMarker.fileName
        if fs.fileExists(markerPath) {
            try DatabaseMarker.check(try fs.readFile(markerPath), root: path)
            return
        }
        // A new database. The marker is published first and everything else is created after
        // it, so a crash during creation leaves at most the lock and the marker's temporary
        // file, and the next open starts over.
        let leftovers: Set<String> = [lockFileName, DatabaseMarker.fileName + ".tmp"]
        let others = try fs.listDirectory(path).filter { !leftovers.contains($0) }
        guard others.isEmpty else {
            throw HSDBError.notADatabase(path: path, reason: "the directory is not empty and has no \(DatabaseMarker.fileName) file")
        }
        try fs.writeFileAtomically(markerPath, bytes: DatabaseMarker.encode())
    }

    /// Opens every collection, after removing what an interrupted create or drop left behind
    /// (names starting with '.', which collection names never do).
    private static func openCollections(
        _ path: String, _ fs: any FileSystem, _ options: DatabaseOptions, _ logger: Logger
    ) throws -> ([String: Collection], [QuarantinedCollection]) {
        let parent = path + "/" + collectionsDirectoryName
        try fs.createDirectories(parent)
        var result: [String: Collection] = [:]
        var quarantined: [QuarantinedCollection] = []
        for name in try fs.listDirectory(parent) {
            let directory = parent + "/" + name
            if name.hasPrefix(".") {
                logger.info("removing \(directory), left by an interrupted create or drop")
                try fs.removeTree(directory)
                try fs.syncDirectory(parent)
                continue
            }
            guard fs.directoryExists(directory) else { continue }
            do {
                let collection = try Collection.open(directory: directory, fileSystem: fs, options: options, logger: logger)
                result[collection.name] = collection
            } catch let damage where options.quarantinesDamagedCollections && QuarantinedCollection.isDamage(damage) {
                let moved = try QuarantinedCollection.move(directory, name: name, database: path, fs)
                logger.error("collection '\(name)' cannot be opened (\(damage)): moved to \(moved) to be fetched again")
                quarantined.append(QuarantinedCollection(name: name, directory: moved, reason: "\(damage)"))
            }
        }
        return (result, quarantined)
    }

    // MARK: Collections

    /// Creates an empty collection. Throws `collectionAlreadyExists` if the name is taken.
    @discardableResult
    public func createCollection(_ name: String, config: CollectionConfig) async throws -> Collection {
        try Validation.checkName(name)
        try Validation.checkConfig(config)
        return try await catalogChanges.withLock {
            guard try catalogState({ $0.collections[name] }) == nil else { throw HSDBError.collectionAlreadyExists(name) }
            guard try catalogState({ $0.aliases[name] }) == nil else {
                throw HSDBError.invalidArgument("Alias with name `\(name)` already exists; a collection cannot take its name")
            }
            let (fs, parent, options, logger) = (self.fs, collectionsDirectory, self.options, self.logger)
            let collection = try await runBlocking("hsdb.create") {
                do {
                    let directory = try Collection.create(name: name, config: config, parent: parent, fileSystem: fs)
                    return try Collection.open(directory: directory, fileSystem: fs, options: options, logger: logger)
                } catch {
                    throw HSDBError.wrap(error)
                }
            }
            try catalogState { $0.collections[name] = collection }
            logger.info("created collection '\(name)': dimension \(config.dimension), metric \(config.metric)")
            return collection
        }
    }

    /// The collection with this name, created with `config` if it does not exist. Throws
    /// `invalidArgument` if it exists with another dimension or metric.
    public func collection(_ name: String, creatingWith config: CollectionConfig) async throws -> Collection {
        if let existing = try catalogState({ $0.collections[name] }) {
            guard existing.config.dimension == config.dimension, existing.config.metric == config.metric else {
                throw HSDBError.invalidArgument(
                    "collection '\(name)' exists with dimension \(existing.config.dimension) and metric \(existing.config.metric)")
            }
            return existing
        }
        do {
            return try await createCollection(name, config: config)
        } catch HSDBError.collectionAlreadyExists {
            return try await collection(name, creatingWith: config)  // created concurrently
        }
    }

    /// The open collection with this name or alias.
    public func collection(_ name: String) throws -> Collection {
        guard let c = try catalogState({ c in c.collections[name] ?? c.aliases[name].flatMap { c.collections[$0] } }) else {
            throw HSDBError.collectionNotFound(name)
        }
        return c
    }

    /// Names and configurations of every collection, sorted by name.
    public func listCollections() throws -> [(name: String, config: CollectionConfig)] {
        try catalogState { $0.collections.values.map { ($0.name, $0.config) }.sorted { $0.name < $1.name } }
    }

    /// Deletes a collection and its files. Writes in flight to it finish or fail with `closed`.
    public func dropCollection(_ name: String) async throws {
        try await catalogChanges.withLock {
            guard let collection = try catalogState({ $0.collections.removeValue(forKey: name) }) else {
                throw HSDBError.collectionNotFound(name)
            }
            try await dropAliases(of: name)
            try? await collection.close()
            let (fs, parent) = (self.fs, collectionsDirectory)
            try await runBlocking("hsdb.drop") {
                do {
                    // Rename first (atomic), so a crash mid-removal leaves a '.' name cleaned at open.
                    let doomed = parent + "/.dropped-" + UUID().uuidString.lowercased()
                    try fs.rename(collection.directory, to: doomed)
                    try fs.syncDirectory(parent)
                    try fs.removeTree(doomed)
                    try fs.syncDirectory(parent)
                } catch {
                    throw HSDBError.wrap(error)
                }
            }
            logger.info("dropped collection '\(name)'")
        }
    }

    /// Makes every write durable, closes every collection and releases the directory.
    public func close() async throws {
        let collections = catalog.withLock { c -> [Collection] in
            guard !c.closed else { return [] }
            c.closed = true
            return Array(c.collections.values)
        }
        var firstError: (any Error)?
        for c in collections {
            do { try await c.close() } catch { firstError = firstError ?? error }
        }
        lock.unlock()
        if let firstError { throw HSDBError.wrap(firstError) }
    }

    func catalogState<T>(_ body: (inout Catalog) throws -> T) throws -> T {
        try catalog.withLock { c in
            guard !c.closed else { throw HSDBError.closed }
            return try body(&c)
        }
    }
}
