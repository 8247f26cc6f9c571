import Foundation
@testable import HSDB
import HSDBCore
import HSDBTestSupport
import WAL
import XCTest

/// WAL pins: a named reader's oldest needed LSN holds back retention, across restarts.
final class WALPinTests: XCTestCase {
    func options() -> DatabaseOptions {
        var o = DatabaseOptions()
        o.memtableFlushBytes = 1 << 30
        o.compaction.enabled = false
        o.walFileSize = 4096
        o.walRetention = WALRetentionPolicy(maxAgeSeconds: nil, maxBytes: 0)  // delete flushed files at once
        return o
    }

    /// The LSNs still in the collection's WAL.
    func walLSNs(_ path: String) throws -> [UInt64] {
        var lsns: [UInt64] = []
        _ = try WALRecovery.recover(
            fileSystem: POSIXFileSystem(), directory: path + "/collections/c/wal", options: WALRecoveryOptions(readOnly: true)
        ) { r, _ in lsns.append(r.lsn) }
        return lsns
    }

    func write(_ c: HSDB.Collection, _ n: Int, _ rng: inout SplitMix64) async throws {
        for _ in 0..<n {
            try await c.upsert([Point(id: .integer(rng.next() % 50), vector: randomVector(16, &rng))])
        }
    }

    func testAPinKeepsTheWALFromItsLSNAcrossFlushesAndRestarts() async throws {
        let path = temporaryDatabasePath(self)
        var rng = SplitMix64(seed: 11)
        var db = try await Database.open(at: path, options: options())
        var c = try await db.collection("c", creatingWith: CollectionConfig(dimension: 16))
        try await c.pinWAL("backup", from: 1)
        try await write(c, 200, &rng)
        try await c.flush()
        XCTAssertEqual(try walLSNs(path).first, 1, "the pin keeps every record from LSN 1")

        // A new pin protects what is still there; a pin moving forward frees what it held.
        try await c.pinWAL("replica-a", from: 120)
        try await c.pinWAL("backup", from: 150)
        XCTAssertEqual(c.walPinLSNs, ["backup": 150, "replica-a": 120])
        let held = try walLSNs(path)
        XCTAssertLessThanOrEqual(held.first!, 120, "the oldest pin rules")
        XCTAssertGreaterThan(held.first!, 1, "files before the oldest pin went")
        try await db.close()

        db = try await Database.open(at: path, options: options())
        c = try db.collection("c")
        XCTAssertEqual(c.walPinLSNs, ["backup": 150, "replica-a": 120], "pins survive a restart")
        try await write(c, 100, &rng)
        try await c.flush()
        XCTAssertLessThanOrEqual(try walLSNs(path).first!, 120)

        try await c.unpinWAL("replica-a")
        try await c.unpinWAL("backup")
        try await write(c, 10, &rng)
        try await c.flush()
        XCTAssertGreaterThan(try walLSNs(path).first ?? .max, 150, "without pins retention deletes flushed files")
        try await db.close()
    }

    func testADamagedPinsFileRefusesTheOpenNamingFileAndOffset() async throws {
        let path = temporaryDatabasePath(self)
        let db = try await Database.open(at: path, options: options())
        let c = try await db.collection("c", creatingWith: CollectionConfig(dimension: 16))
        try await c.pinWAL("backup", from: 7)
        try await db.close()
        let file = path + "/collections/c/" + WALPins.fileName
        var bytes = try POSIXFileSystem().readFile(file)
        for offset in 0..<bytes.count {
            bytes[offset] ^= 0x10
            XCTAssertThrowsError(try WALPins.decode(bytes, path: file)) { error in
                guard let c = error as? CorruptionError else { return XCTFail("\(error)") }
                XCTAssertEqual(c.file, file)
                XCTAssertTrue((0..<Int64(bytes.count)).contains(c.offset))
            }
            bytes[offset] ^= 0x10
        }
        XCTAssertEqual(try WALPins.decode(bytes, path: file).pins, ["backup": 7])
        bytes[12] ^= 1
        try Data(bytes).write(to: URL(fileURLWithPath: file))
        do {
            _ = try await Database.open(at: path, options: options())
            XCTFail("a damaged WAL-PINS file was accepted")
        } catch {
            XCTAssertTrue("\(error)".contains(WALPins.fileName), "\(error)")
        }
    }

    func testPinGoldenBytes() {
        let pins = WALPins(pins: ["backup": 42])
        let hex = pins.encode().map { String(format: "%02x", $0) }.joined(separator: " ")
        XCTAssertEqual(hex, goldenPins)
        XCTAssertEqual(try WALPins.decode(pins.encode(), path: "p"), pins)
    }
}

let goldenPins = "48 53 44 42 50 49 4e 53 01 00 01 06 62 61 63 6b 75 70 2a 00 00 00 00 00 00 00 32 db 76 35"
