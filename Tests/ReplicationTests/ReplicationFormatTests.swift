import HSDBCore
import XCTest

@testable import HSDB

@testable import Replication

/// The replication formats, byte by byte as DESIGN.md ("Replication") gives them.
final class ReplicationFormatTests: XCTestCase {
    static let entry = WALEntry(lsn: 1, type: WALRecordType(rawValue: 1), body: [1, 2, 3])
    /// SHA-256(32 zero bytes | 01 00 00 00 00 00 00 00 | 01 | 03 00 00 00 | 01 02 03),
    /// computed with Python's hashlib.
    static let hashAfterEntry = "294b65932cebffa7ee7dcdc40e6c55181b884d023f654bf6fb01ad51f1254737"

    func testRunningHashGolden() {
        XCTAssertEqual(LogHash.origin.bytes, [UInt8](repeating: 0, count: 32))
        let h = LogHash.origin.next(Self.entry)
        XCTAssertEqual(h.hex, Self.hashAfterEntry)
        XCTAssertEqual(LogHash(hex: h.hex), h)
        XCTAssertNil(LogHash(hex: "zz"))
        XCTAssertNil(LogHash(hex: String(repeating: "g", count: 64)))
        // Every field counts.
        XCTAssertNotEqual(LogHash.origin.next(WALEntry(lsn: 2, type: Self.entry.type, body: Self.entry.body)), h)
        XCTAssertNotEqual(LogHash.origin.next(WALEntry(lsn: 1, type: WALRecordType(rawValue: 2), body: Self.entry.body)), h)
        XCTAssertNotEqual(LogHash.origin.next(WALEntry(lsn: 1, type: Self.entry.type, body: [1, 2, 4])), h)
    }

    /// Body length 0x4d, masked CRC-32C of the body, then kind 1, epoch 7, durable LSN 9,
    /// commit time 10, one record (LSN 1, type 1, 3 bytes, its running hash): computed with
    /// a Python CRC-32C.
    static let goldenFrame =
        "4d00000021e02b97" + "01" + "0700000000000000" + "0900000000000000" + "0a00000000000000" + "01000000"
        + "0100000000000000" + "01" + "03000000" + "010203" + hashAfterEntry

    func testFrameGoldenBytes() throws {
        let frame = ReplicationFrame(
            epoch: 7, leaderDurableLSN: 9, leaderCommitTime: 10,
            records: [.init(entry: Self.entry, hash: LogHash(hex: Self.hashAfterEntry)!)])
        let bytes = frame.encode()
        XCTAssertEqual(hex(bytes), Self.goldenFrame)
        var decoder = ReplicationFrameDecoder()
        decoder.append(ReplicationFrame.streamMagic + bytes)
        XCTAssertEqual(try decoder.next(), frame)
        XCTAssertNil(try decoder.next())
        XCTAssertEqual(decoder.streamOffset, 8 + bytes.count)
    }

    func testDecoderTakesAnySplitOfTheStream() throws {
        let frames = (0..<5).map { i in
            ReplicationFrame(
                epoch: 1, leaderDurableLSN: UInt64(i), leaderCommitTime: 0,
                records: (0..<i).map { j in .init(entry: WALEntry(lsn: UInt64(j + 1), type: WALRecordType(rawValue: 1), body: Array(repeating: UInt8(j), count: j * 100)), hash: .origin) })
        }
        let stream = ReplicationFrame.streamMagic + frames.flatMap { $0.encode() }
        for step in [1, 7, 64, stream.count] {
            var decoder = ReplicationFrameDecoder()
            var out: [ReplicationFrame] = []
            var at = 0
            while at < stream.count {
                decoder.append(stream[at..<min(at + step, stream.count)])
                at += step
                while let f = try decoder.next() { out.append(f) }
            }
            XCTAssertEqual(out, frames, "chunks of \(step) bytes")
        }
    }

    func testDecoderRefusesDamage() {
        let bytes = ReplicationFrame.streamMagic + ReplicationFrame(
            epoch: 1, leaderDurableLSN: 1, leaderCommitTime: 0, records: [.init(entry: Self.entry, hash: .origin)]).encode()
        // A changed byte anywhere in the frame's body fails its checksum; in the length, its
        // bounds or checksum; in the magic, the magic.
        for offset in [0, 8, 12, 16, 40, bytes.count - 1] {
            var damaged = bytes
            damaged[offset] ^= 0x40
            var decoder = ReplicationFrameDecoder()
            decoder.append(damaged)
            XCTAssertThrowsError(try { while try decoder.next() != nil {} }(), "byte \(offset)") { error in
                guard case ReplicationError.badFrame = error else { return XCTFail("\(error)") }
            }
        }
    }

    func testChainAnchorAndNodeStateRoundTripAndRefuseDamage() throws {
        let anchor = ChainAnchor(lsn: 4096, hash: LogHash(hex: Self.hashAfterEntry)!)
        let bytes = anchor.encode()
        XCTAssertEqual(Array(bytes.prefix(9)), Array("HSDBCHN1".utf8) + [1])
        // Its crc (masked CRC-32C of everything before it) computed with Python.
        XCTAssertEqual(hex(bytes), hex(Array("HSDBCHN1".utf8)) + "01" + "0010000000000000" + Self.hashAfterEntry + "d8d792a7")
        XCTAssertEqual(try ChainAnchor.decode(bytes, path: "anchor"), anchor)
        for offset in [0, 8, 9, 20, bytes.count - 1] {
            var damaged = bytes
            damaged[offset] ^= 1
            XCTAssertThrowsError(try ChainAnchor.decode(damaged, path: "anchor"), "byte \(offset)") { error in
                XCTAssertTrue("\(error)".contains("anchor"), "\(error)")
            }
        }
        // Version 2: epoch 3, leading epoch 2 (fenced); its crc computed with Python.
        let id = UUID(uuidString: "00112233-4455-6677-8899-aabbccddeeff")!
        let node = NodeState(nodeID: id, epoch: 3, leadingEpoch: 2)
        XCTAssertTrue(node.isFenced)
        let nodeBytes = node.encode()
        XCTAssertEqual(
            hex(nodeBytes),
            hex(Array("HSDBNODE".utf8)) + "02" + "00112233445566778899aabbccddeeff" + "0300000000000000" + "0200000000000000" + "53123243")
        XCTAssertEqual(try NodeState.decode(nodeBytes, path: "NODE"), node)
        // Version 1, as earlier releases wrote it, opens as leading in its epoch.
        let v1 = Array("HSDBNODE".utf8) + [1] + bytesOf(hex: "00112233445566778899aabbccddeeff0300000000000000421b0feb")
        XCTAssertEqual(try NodeState.decode(v1, path: "NODE"), NodeState(nodeID: id, epoch: 3, leadingEpoch: 3))
        var damaged = nodeBytes
        damaged[12] ^= 1
        XCTAssertThrowsError(try NodeState.decode(damaged, path: "NODE"))
    }

    /// SHA-256(00 | 05 00.. | 06 00.. | 02 00 00 00 | 1.0f | -2.0f | 07 01 01 61 03 02),
    /// the point 5 at version 6 with vector [1, -2] and payload {"a": 1}: Python's hashlib.
    func testDigestLeafGolden() {
        let id = StateDigest.idBytes(.integer(5))
        XCTAssertEqual(hex(id), "000500000000000000")
        let record = Record(id: .integer(5), version: 6, vector: [1, -2], sparse: nil, payload: ["a": .int(1)])
        XCTAssertEqual(hex(StateDigest.leafHash(id: id, record: record)), "394a244988607be2a18d418229d21234fc527ca3333b2d2f90ea94b93012e576")
        XCTAssertEqual(hex(StateDigest.idBytes(.uuid(UUID(uuidString: "00112233-4455-6677-8899-aabbccddeeff")!))), "0100112233445566778899aabbccddeeff")
    }

    private func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }

    private func bytesOf(hex: String) -> [UInt8] {
        let digits = Array(hex.utf8)
        return stride(from: 0, to: digits.count, by: 2).map { UInt8(String(decoding: digits[$0..<$0 + 2], as: UTF8.self), radix: 16)! }
    }
}
