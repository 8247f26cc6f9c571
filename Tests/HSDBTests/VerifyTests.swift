import Foundation
import HSDB
import Logging
import HSDBTestSupport
import XCTest

/// `Database.verify` (behind `hsdb verify`): every file checked, nothing changed, the first
/// problem named by file and offset, refused while the database is open.
final class VerifyTests: XCTestCase {
    func testCleanDatabaseVerifies() async throws {
        let path = temporaryDatabasePath(self)
        try await makeVerifyDatabase(path)
        let report = try await Database.verify(at: path)
        XCTAssertEqual(report.collections, 1)
        XCTAssertEqual(report.segments, 2)
        XCTAssertGreaterThan(report.walFiles, 0)
        XCTAssertTrue(report.tornTails.isEmpty)
    }

    func testCorruptSegmentAndWALAreNamed() async throws {
        for target in ["segments", "wal"] {
            let path = temporaryDatabasePath(self)
            try await makeVerifyDatabase(path)
            let dir = path + "/collections/c/" + target
            let file = dir + "/" + (try FileManager.default.contentsOfDirectory(atPath: dir).sorted().first!)
            var bytes = try Data(contentsOf: URL(fileURLWithPath: file))
            let offset = target == "wal" ? 100 : bytes.count / 2
            bytes[offset] ^= 0x40
            try bytes.write(to: URL(fileURLWithPath: file))
            do {
                _ = try await Database.verify(at: path)
                XCTFail("\(target): corruption not found")
            } catch HSDBError.corruption(let c) {
                XCTAssertEqual(c.file, file, target)
            }
            XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: file)), bytes, "verify changes nothing")
        }
    }

    func testVerifyRefusesAnOpenDatabase() async throws {
        let path = temporaryDatabasePath(self)
        try await makeVerifyDatabase(path)
        let db = try await Database.open(at: path)
        do {
            _ = try await Database.verify(at: path)
            XCTFail("verified a database another opener holds")
        } catch HSDBError.databaseLocked {}
        try await db.close()
    }
}

/// Opening a database checks its segments in the background and reports a damaged one.
final class BackgroundVerificationTests: XCTestCase {
    final class Collected: LogHandler, @unchecked Sendable {
        // @unchecked Sendable: `lines` is only touched under `lock`.
        let lock = NSLock()
        var lines: [String] = []
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .info
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(level: Logger.Level, message: Logger.Message, metadata: Logger.Metadata?, source: String, file: String, function: String, line: UInt) {
            lock.lock()
            defer { lock.unlock() }
            lines.append("\(level) \(message)")
        }
        var snapshot: [String] { lock.lock(); defer { lock.unlock() }; return lines }
    }

    /// A flip inside a section is refused at open (section CRCs are checked there); one in
    /// the padding between sections, which only the content hash covers, is reported by the
    /// background check.
    func testADamagedSegmentIsRefusedAtOpenOrReportedAfterOpen() async throws {
        let path = temporaryDatabasePath(self)
        try await makeVerifyDatabase(path)
        let dir = path + "/collections/c/segments"
        let file = dir + "/" + (try FileManager.default.contentsOfDirectory(atPath: dir).sorted().first!)
        let original = try Data(contentsOf: URL(fileURLWithPath: file))
        let sections = segmentSections(Array(original))
        var bytes = original
        let inside = sections[sections.count / 2]
        bytes[inside.offset + inside.length / 2] ^= 0x01
        try bytes.write(to: URL(fileURLWithPath: file))
        do {
            _ = try await Database.open(at: path)
            XCTFail("opened a segment with a damaged section")
        } catch HSDBError.corruption(let c) {
            XCTAssertEqual(c.file, file)
            XCTAssertEqual(c.offset, Int64(inside.offset), "names the damaged section's offset")
        }
        let padding = try XCTUnwrap((64..<sections.last!.offset).first { o in !sections.contains { $0.offset <= o && o < $0.offset + $0.length } })
        bytes = original
        bytes[padding] ^= 0x01
        try bytes.write(to: URL(fileURLWithPath: file))
        let collected = Collected()
        let db = try await Database.open(at: path, logger: Logger(label: "test", factory: { _ in collected }))
        let deadline = Date().addingTimeInterval(30)
        while !collected.snapshot.contains(where: { $0.hasPrefix("critical") }) && Date() < deadline { try await Task.sleep(for: .milliseconds(20)) }
        let report = collected.snapshot.first { $0.hasPrefix("critical") }
        XCTAssertNotNil(report, "no critical report of the damaged segment")
        XCTAssertTrue(report?.contains(file) ?? false, "the report names the file: \(report ?? "")")
        try await db.close()
    }
}

/// A database with two flushed segments and writes in its WAL.
func makeVerifyDatabase(_ path: String) async throws {
    var o = DatabaseOptions()
    o.minGraphPoints = 50
    o.compaction.enabled = false
    let db = try await Database.open(at: path, options: o)
    let c = try await db.createCollection("c", config: CollectionConfig(dimension: 8))
    var rng = SplitMix64(seed: 1)
    for round in 0..<3 {
        try await c.upsert((0..<200).map { Point(id: .integer(UInt64(round * 200 + $0)), vector: randomVector(8, &rng), payload: ["r": .int(Int64(round))]) })
        if round < 2 { try await c.flush() }
    }
    try await db.close()
}

/// A segment file's sections (offset, length), read from its section table as DESIGN.md
/// lays it out: the tail's first 8 bytes give the table's offset, the next 4 the count;
/// each 24-byte entry holds the offset at +8 and the length at +16.
func segmentSections(_ bytes: [UInt8]) -> [(offset: Int, length: Int)] {
    func u64(_ at: Int) -> Int { (0..<8).reduce(0) { $0 | Int(bytes[at + $1]) << (8 * $1) } }
    let tail = bytes.count - 32
    let table = u64(tail)
    let count = (0..<4).reduce(0) { $0 | Int(bytes[tail + 8 + $1]) << (8 * $1) }
    return (0..<count).map { (offset: u64(table + 24 * $0 + 8), length: u64(table + 24 * $0 + 16)) }.sorted { $0.offset < $1.offset }
}
