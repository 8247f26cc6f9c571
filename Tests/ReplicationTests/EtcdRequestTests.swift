import Foundation
import XCTest

@testable import Replication

/// The bodies sent to etcd, byte for byte, and the check that keeps a body etcd would
/// silently misread from being sent (its gateway ignores unknown fields).
final class EtcdRequestTests: XCTestCase {
    func testElectionTransactionGoldenBody() throws {
        let client = try EtcdClient(endpoints: ["http://127.0.0.1:2379"])
        let txn = EtcdTxnRequest(
            compare: [.absent("/hsdb/c/leader"), .modified("/hsdb/c/epoch", at: 12)],
            success: [.put("/hsdb/c/leader", Array("n1".utf8), lease: 7_587_869_203_125_477_451), .delete("/hsdb/c/switchover")],
            failure: [.get("/hsdb/c/leader")])
        let bytes = try client.encode(txn, call: "txn", shape: EtcdRequestCheck.txn)
        XCTAssertEqual(
            String(decoding: bytes, as: UTF8.self),
            #"{"compare":[{"create_revision":"0","key":"L2hzZGIvYy9sZWFkZXI=","result":"EQUAL","target":"CREATE"},"#
                + #"{"key":"L2hzZGIvYy9lcG9jaA==","mod_revision":"12","result":"EQUAL","target":"MOD"}],"#
                + #""failure":[{"request_range":{"key":"L2hzZGIvYy9sZWFkZXI="}}],"#
                + #""success":[{"request_put":{"key":"L2hzZGIvYy9sZWFkZXI=","lease":"7587869203125477451","value":"bjE="}},"#
                + #"{"request_delete_range":{"key":"L2hzZGIvYy9zd2l0Y2hvdmVy"}}]}"#)
    }

    func testUnknownOrMissingFieldsAreRefusedBeforeSending() {
        let misspelled = #"{"compare":[{"key":"aw==","target":"CREATE","result":"EQUAL","create_revison":"0"}]}"#
        XCTAssertThrowsError(try EtcdRequestCheck.check(Array(misspelled.utf8), against: EtcdRequestCheck.txn, call: "txn")) {
            XCTAssertEqual("\($0)", "etcd txn: the request is malformed: field 'compare[0].create_revison' is not in etcd's message")
        }
        let noKey = #"{"range_end":"AA=="}"#
        XCTAssertThrowsError(try EtcdRequestCheck.check(Array(noKey.utf8), against: EtcdRequestCheck.range, call: "range")) {
            XCTAssertEqual("\($0)", "etcd range: the request is malformed: field 'key' is required")
        }
        let wrongType = #"{"TTL":{"seconds":5}}"#
        XCTAssertThrowsError(try EtcdRequestCheck.check(Array(wrongType.utf8), against: EtcdRequestCheck.leaseGrant, call: "lease grant"))
        XCTAssertNoThrow(try EtcdRequestCheck.check(Array(#"{"TTL":"5"}"#.utf8), against: EtcdRequestCheck.leaseGrant, call: "lease grant"))
    }

    func testInt64sTravelAsStringsAndReadFromEither() throws {
        let big = try JSONDecoder().decode(EtcdInt.self, from: Data(#""7587869203125477451""#.utf8))
        XCTAssertEqual(big.value, 7_587_869_203_125_477_451)
        XCTAssertEqual(try JSONDecoder().decode(EtcdInt.self, from: Data("12".utf8)).value, 12)
        XCTAssertThrowsError(try JSONDecoder().decode(EtcdInt.self, from: Data(#""1e3""#.utf8)))
        XCTAssertEqual(EtcdBytes([0x61, 0xFF]).prefixEnd.bytes, Array("b".utf8))
        XCTAssertEqual(EtcdBytes("/m/").prefixEnd.text, "/m0")
    }
}
