import Backup
import Foundation
import HSDBCore
import XCTest

/// The `SHARDS` file beside a sharded collection's backups (DESIGN.md, "Backups of shards").
final class ShardBackupLayoutTests: XCTestCase {
    /// Computed independently (Python: struct, a bitwise CRC-32C and the mask) and in DESIGN.md.
    static let golden = "48534442534852440100056974656d7304752d3766038605baba"

    func testTheFileHasTheDocumentedBytes() throws {
        let layout = ShardBackupLayout(collection: "items", uid: "u-7f", shardCount: 3)
        XCTAssertEqual(layout.encode().map { String(format: "%02x", $0) }.joined(), Self.golden)
        XCTAssertEqual(try ShardBackupLayout.decode(layout.encode(), path: "SHARDS"), layout)
    }

    func testADamagedFileIsRefusedNamingFileAndOffset() {
        var bytes = ShardBackupLayout(collection: "items", uid: "u-7f", shardCount: 3).encode()
        bytes[20] ^= 0x01
        XCTAssertThrowsError(try ShardBackupLayout.decode(bytes, path: "/b/SHARDS")) { error in
            XCTAssertEqual(error as? CorruptionError, CorruptionError(file: "/b/SHARDS", offset: 22, reason: "shard layout file checksum mismatch"))
        }
    }

    func testIncarnationsAreListedFromTheBackupDirectory() throws {
        let root = NSTemporaryDirectory() + "shard-layout-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: root) }
        let fs = POSIXFileSystem()
        XCTAssertEqual(try ShardBackupLayout.incarnations(root: root, collection: "items"), [])
        let first = ShardBackupLayout(collection: "items", uid: "a", shardCount: 2)
        let second = ShardBackupLayout(collection: "items", uid: "b", shardCount: 4)
        for layout in [first, second, first] { try layout.publish(root: root, fileSystem: fs) }
        XCTAssertEqual(first.chainDirectory(root: root, shard: 1, node: "n2"), root + "/shards/items/a/1/n2")
        XCTAssertEqual(try ShardBackupLayout.incarnations(root: root, collection: "items"), [first, second])
    }
}
