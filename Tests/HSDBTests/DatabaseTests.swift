import Foundation
import HSDB
import HSDBCore
import HSDBTestSupport
import XCTest

final class DatabaseTests: XCTestCase {
    func testCreateListDropAndReopen() async throws {
        let path = temporaryDatabasePath(self)
        var db = try await Database.open(at: path)
        try await db.createCollection("b", config: CollectionConfig(dimension: 3, metric: .dot))
        let a = try await db.createCollection("a", config: CollectionConfig(dimension: 2, metric: .euclidean))
        try await a.upsert([Point(id: 1, vector: [1, 2])])
        XCTAssertEqual(try db.listCollections().map(\.name), ["a", "b"])
        try await db.dropCollection("b")
        XCTAssertEqual(try db.listCollections().map(\.name), ["a"])
        try await db.close()

        db = try await Database.open(at: path)
        XCTAssertEqual(try db.listCollections().map(\.name), ["a"])
        let reopened = try db.collection("a")
        XCTAssertEqual(reopened.config, CollectionConfig(dimension: 2, metric: .euclidean))
        XCTAssertEqual(try reopened.get(ids: [1], projection: .everything).first?.vector, [1, 2])
        XCTAssertThrowsError(try db.collection("b")) { XCTAssertEqual($0 as? HSDBError, .collectionNotFound("b")) }
        try await db.close()
    }

    func testDuplicateAndMissingCollections() async throws {
        let db = try await Database.open(at: temporaryDatabasePath(self))
        try await db.createCollection("x", config: CollectionConfig(dimension: 2))
        do {
            try await db.createCollection("x", config: CollectionConfig(dimension: 2))
            XCTFail("duplicate create")
        } catch HSDBError.collectionAlreadyExists(let name) { XCTAssertEqual(name, "x") }
        do {
            try await db.dropCollection("nope")
            XCTFail("drop of a missing collection")
        } catch HSDBError.collectionNotFound {}
        let same = try await db.collection("x", creatingWith: CollectionConfig(dimension: 2))
        XCTAssertEqual(same.name, "x")
        await XCTAssertInvalid("exists with dimension 2") { _ = try await db.collection("x", creatingWith: CollectionConfig(dimension: 3)) }
        try await db.close()
    }

    func testCollectionNamesThatCouldEscapeTheDirectoryAreRefused() async throws {
        let path = temporaryDatabasePath(self)
        let db = try await Database.open(at: path)
        let config = CollectionConfig(dimension: 2)
        for (name, fragment) in [
            ("", "empty"), ("a/b", "'/'"), ("..", "'..'"), ("../x", "'/'"), ("a..b", "'..'"), (".hidden", "start with '.'"),
            ("a\u{0}b", "control"), ("tab\there", "control"), ("x\\y", "'\\'"), (String(repeating: "n", count: 256), "bytes long"),
        ] {
            await XCTAssertInvalid(fragment) { try await db.createCollection(name, config: config) }
        }
        await XCTAssertInvalid("dimension") { try await db.createCollection("zero", config: CollectionConfig(dimension: 0)) }
        XCTAssertEqual(try db.listCollections().count, 0)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: path + "/collections"), [], "nothing was created on disk")
        try await db.createCollection("ok-name_1.v2 ünïcode", config: config)
        try await db.close()
    }

    func testASecondOpenOfTheSameDirectoryIsRefused() async throws {
        let path = temporaryDatabasePath(self)
        let db = try await Database.open(at: path)
        do {
            _ = try await Database.open(at: path)
            XCTFail("two opens of one directory")
        } catch HSDBError.databaseLocked(let lockedPath, let pid) {
            XCTAssertEqual(lockedPath, path)
            XCTAssertEqual(pid, getpid())
        }
        try await db.close()
        let again = try await Database.open(at: path)
        try await again.close()
    }

    func testADirectoryThatIsNotADatabaseIsRefused() async throws {
        let path = temporaryDatabasePath(self)
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        try Data("hello".utf8).write(to: URL(fileURLWithPath: path + "/notes.txt"))
        do {
            _ = try await Database.open(at: path)
            XCTFail("opened a foreign directory")
        } catch HSDBError.notADatabase(_, let reason) {
            XCTAssertTrue(reason.contains("not empty"))
        }
        var options = DatabaseOptions()
        options.createIfMissing = false
        do {
            _ = try await Database.open(at: path + "/missing", options: options)
            XCTFail("created although createIfMissing is false")
        } catch HSDBError.notADatabase {}
    }

    /// Found by the crash test: a kill between creating `collections/` and publishing the marker
    /// left a directory no open would accept. Now a creation interrupted at any step (a failed
    /// operation, then a process crash or a power loss) leaves a directory the next open completes.
    func testAnInterruptedDatabaseCreationCanBeOpenedAgain() async throws {
        for operation in [FaultInjectingFileSystem.Operation.write, .sync, .rename, .syncDirectory, .createDirectory, .open] {
            for nth in 1...4 {
                for powerLoss in [false, true] {
                    let fs = FaultInjectingFileSystem()
                    fs.inject(.init(operation, nth: nth))
                    if let db = try? await Database.open(at: "/db", fileSystem: fs) { try await db.close() }
                    if powerLoss { fs.simulatePowerLoss() } else { fs.simulateProcessCrash() }
                    fs.clearFaults()
                    fs.restart()
                    let db = try await Database.open(at: "/db", fileSystem: fs)
                    try await db.createCollection("c", config: CollectionConfig(dimension: 2))
                    try await db.close()
                }
            }
        }
    }

    func testLeftoversOfAnInterruptedCreateAreRemovedAtOpen() async throws {
        let fs = FaultInjectingFileSystem()
        var db = try await Database.open(at: "/db", fileSystem: fs)
        try await db.close()
        try fs.createDirectory("/db/collections/.tmp-abc")
        try fs.createDirectory("/db/collections/.dropped-xyz")
        db = try await Database.open(at: "/db", fileSystem: fs)
        XCTAssertEqual(try fs.listDirectory("/db/collections"), [])
        try await db.close()
    }

    func testCorruptCollectionMetadataNamesTheFile() async throws {
        let fs = FaultInjectingFileSystem()
        var db = try await Database.open(at: "/db", fileSystem: fs)
        try await db.createCollection("c", config: CollectionConfig(dimension: 2))
        try await db.close()
        try fs.flipBit("/db/collections/c/collection.meta", byteOffset: 12)
        do {
            db = try await Database.open(at: "/db", fileSystem: fs)
            XCTFail("opened with corrupt metadata")
        } catch HSDBError.corruption(let c) {
            XCTAssertEqual(c.file, "/db/collections/c/collection.meta")
        }
    }

    func testOperationsAfterCloseAndDropAreRefused() async throws {
        let db = try await Database.open(at: temporaryDatabasePath(self))
        let c = try await db.createCollection("c", config: CollectionConfig(dimension: 2))
        try await db.dropCollection("c")
        do {
            try await c.upsert([Point(id: 1, vector: [1, 1])])
            XCTFail("write to a dropped collection")
        } catch HSDBError.closed {}
        try await db.close()
        XCTAssertThrowsError(try db.listCollections()) { XCTAssertEqual($0 as? HSDBError, .closed) }
    }
}

/// A collection with a missing segment: a lone node refuses to open the database, naming the
/// file; with `quarantinesDamagedCollections` (a follower) it is moved aside, listed, and the
/// rest opens.
final class QuarantineTests: XCTestCase {
    func testADamagedCollectionIsRefusedAloneAndSetAsideByAFollower() async throws {
        let path = temporaryDatabasePath(self)
        var db = try await Database.open(at: path)
        let hurt = try await db.createCollection("hurt", config: CollectionConfig(dimension: 2))
        try await hurt.upsert((1...50).map { Point(id: .integer(UInt64($0)), vector: [Float($0), 1]) })
        try await hurt.flush()
        let fine = try await db.createCollection("fine", config: CollectionConfig(dimension: 2))
        try await fine.upsert([Point(id: 1, vector: [1, 2])])
        try await db.close()
        let segments = path + "/collections/hurt/segments"
        let names = try FileManager.default.contentsOfDirectory(atPath: segments).filter { $0.hasSuffix(".seg") }
        XCTAssertEqual(names.count, 1)
        try FileManager.default.removeItem(atPath: segments + "/" + names[0])

        do {
            _ = try await Database.open(at: path)
            XCTFail("a lone node opened a collection with a missing segment")
        } catch HSDBError.corruption(let e) {
            XCTAssertTrue(e.file.hasSuffix(names[0]), e.file)
            XCTAssertTrue(e.reason.contains("segment listed in the manifest is missing"), e.reason)
        }

        var options = DatabaseOptions()
        options.quarantinesDamagedCollections = true
        db = try await Database.open(at: path, options: options)
        XCTAssertEqual(try db.listCollections().map(\.name), ["fine"])
        XCTAssertEqual(db.quarantined.map(\.name), ["hurt"])
        let moved = db.quarantined[0].directory
        XCTAssertTrue(moved.hasPrefix(path + "/quarantine/hurt-"), moved)
        XCTAssertTrue(FileManager.default.fileExists(atPath: moved + "/MANIFEST"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: path + "/collections/hurt"))
        XCTAssertEqual(try db.collection("fine").count(), 1)
        try await db.close()
    }
}
