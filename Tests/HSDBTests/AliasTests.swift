import Foundation
@testable import HSDB
import HSDBCore
import XCTest

/// Aliases: the `ALIASES` file byte for byte, damage named with file and offset, all-or-none
/// updates, resolution everywhere a collection is named, reopen, and drops taking their
/// collection's aliases with them.
final class AliasTests: XCTestCase {
    /// DESIGN.md, "Database directory": {"a": "c", "bb": "c"}.
    func testAliasFileGoldenBytes() throws {
        let bytes = AliasFile.encode(["bb": "c", "a": "c"])
        XCTAssertEqual(
            bytes.lowercaseHex,
            "48534442414c4941" + "0100" + "02000000" + "0100" + "61" + "0100" + "63" + "0200" + "6262" + "0100" + "63" + "0be0141a")
        XCTAssertEqual(try AliasFile.decode(bytes, path: "/x/ALIASES"), ["a": "c", "bb": "c"])
        for offset in [0, 9, 14, bytes.count - 6, bytes.count - 1] {
            var damaged = bytes
            damaged[offset] ^= 0x40
            XCTAssertThrowsError(try AliasFile.decode(damaged, path: "/x/ALIASES")) { error in
                guard case HSDBError.corruption(let c) = error else { return XCTFail("\(error)") }
                XCTAssertEqual(c.file, "/x/ALIASES")
            }
        }
        XCTAssertThrowsError(try AliasFile.decode(Array(bytes.prefix(12)), path: "/x/ALIASES"))
    }

    func testAliasesResolvePersistAndGoWithTheirCollection() async throws {
        let path = temporaryDatabasePath(self)
        var db = try await Database.open(at: path)
        let docs = try await db.createCollection("docs", config: CollectionConfig(dimension: 2))
        try await db.createCollection("other", config: CollectionConfig(dimension: 2))
        try await docs.upsert([Point(id: 1, vector: [1, 0])])
        try await db.updateAliases([.create(alias: "live", collection: "docs"), .create(alias: "old", collection: "other")])
        XCTAssertEqual(try db.collection("live").name, "docs")
        XCTAssertEqual(try db.collection("live").count(), 1)
        // All or none: the second action fails, so the rename does not happen either.
        do {
            try await db.updateAliases([.rename(from: "live", to: "current"), .delete(alias: "missing")])
            XCTFail("expected aliasNotFound")
        } catch HSDBError.aliasNotFound(let name) {
            XCTAssertEqual(name, "missing")
        }
        XCTAssertEqual(try db.aliases().map(\.alias), ["live", "old"])
        do {
            try await db.updateAliases([.create(alias: "other", collection: "docs")])
            XCTFail("an alias cannot take a collection's name")
        } catch HSDBError.collectionAlreadyExists {}
        await XCTAssertInvalid("Alias with name `live` already exists") {
            try await db.createCollection("live", config: CollectionConfig(dimension: 2))
        }
        try await db.updateAliases([.rename(from: "live", to: "current"), .create(alias: "old", collection: "docs")])
        try await db.close()
        db = try await Database.open(at: path)
        XCTAssertEqual(try db.aliases().map { "\($0.alias)=\($0.collection)" }, ["current=docs", "old=docs"])
        XCTAssertEqual(try db.collection("current").count(), 1)
        try await db.dropCollection("docs")
        XCTAssertEqual(try db.aliases().count, 0)
        XCTAssertThrowsError(try db.collection("current"))
        try await db.close()
        db = try await Database.open(at: path)
        XCTAssertEqual(try db.aliases().count, 0)
        try await db.close()
    }
}
