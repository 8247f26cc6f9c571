import Foundation
@testable import HSDB
import HSDBCore
import HSDBTestSupport
import XCTest

final class CollectionMetadataTests: XCTestCase {
    func testAttributesSurviveReopen() async throws {
        let path = temporaryDatabasePath(self)
        let attributes: Payload = ["vectors": ["size": 3, "distance": "Dot"], "metadata": ["owner": "team"], "vectors_named": true]
        var db = try await Database.open(at: path)
        try await db.createCollection("c", config: CollectionConfig(dimension: 3, metric: .dot, hnswM: 8, attributes: attributes))
        try await db.close()
        db = try await Database.open(at: path)
        let config = try db.collection("c").config
        XCTAssertEqual(config, CollectionConfig(dimension: 3, metric: .dot, hnswM: 8, attributes: attributes))
        try await db.close()
    }

    /// Files written before attributes existed (format version 1) are still read.
    func testVersionOneFilesAreRead() throws {
        var w = ByteWriter()
        w.write(bytes: Array("HSDBCOLL".utf8))
        w.write(UInt16(1))
        w.writeString("old")
        w.write(UInt32(5))
        w.write(Metric.euclidean.rawValue)
        w.write(UInt16(12))
        w.write(UInt32(99))
        w.write(UInt64(1_700_000_000_000))
        w.write(CRC32C.mask(CRC32C.checksum(w.bytes)))
        let (name, config, _) = try CollectionMetadata.decode(w.bytes, path: "collection.meta")
        XCTAssertEqual(name, "old")
        XCTAssertEqual(config, CollectionConfig(dimension: 5, metric: .euclidean, hnswM: 12, hnswEfConstruction: 99))
    }

    func testAttributesLengthPastTheEndIsCorruption() throws {
        var bytes = CollectionMetadata.encode(name: "c", config: CollectionConfig(dimension: 2, attributes: ["a": 1]), createdMilliseconds: 0)
        let lengthOffset = 8 + 2 + 2 + 4 + 1 + 2 + 4 + 8
        bytes[lengthOffset] = 0x7F
        bytes.replaceSubrange((bytes.count - 4)..., with: withUnsafeBytes(of: CRC32C.mask(CRC32C.checksum(Array(bytes.dropLast(4)))).littleEndian, Array.init))
        XCTAssertThrowsError(try CollectionMetadata.decode(bytes, path: "collection.meta")) { error in
            guard case HSDBError.corruption(let c) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(c.offset, Int64(lengthOffset + 1))
        }
    }
}
