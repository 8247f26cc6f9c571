import Foundation
import XCTest

@testable import Replication

/// The etcd client against a real etcd (a child process): leases granted, kept alive and
/// expired, transactions taken and refused, watch events, and the gateway's traps
/// (DESIGN.md, "Automatic failover").
final class EtcdClientTests: EtcdTestCase {
    func testLeaseGrantKeepAliveExpiryAndRevoke() async throws {
        let client = try await etcd.ready()
        let (lease, ttl) = try await client.grantLease(ttl: 2)
        XCTAssertGreaterThanOrEqual(ttl, 2)
        try await client.put("/t/leased", Array("v".utf8), lease: lease)
        let (entry, _) = try await client.get("/t/leased")
        // Lease IDs pass 2^53 and travel as strings: the one read back is the one granted.
        XCTAssertEqual(entry?.leaseID, lease)
        let renewed = try await client.keepAlive(lease)
        XCTAssertNotNil(renewed)
        // Not kept alive: etcd expires the lease and deletes its key.
        let deadline = ContinuousClock.now + .seconds(15)
        while true {
            let (left, _) = try await client.get("/t/leased")
            if left == nil { break }
            guard ContinuousClock.now < deadline else { return XCTFail("the leased key outlived its TTL by far") }
            try await Task.sleep(for: .milliseconds(100))
        }
        // A keepalive on an expired lease answers 200 with no TTL: the lease is gone.
        let late = try await client.keepAlive(lease)
        XCTAssertNil(late)
        // A put under a lease that is gone is refused; revoking it again is no error.
        do throws(EtcdError) {
            try await client.put("/t/leased", [1], lease: lease)
            XCTFail("a put under an expired lease was accepted")
        } catch {
            XCTAssertTrue(error.isLeaseNotFound, "\(error)")
        }
        try await client.revoke(lease)
        let (second, _) = try await client.grantLease(ttl: 30)
        try await client.put("/t/second", [2], lease: second)
        try await client.revoke(second)
        let gone = try await client.get("/t/second").0
        XCTAssertNil(gone, "revoking a lease deletes its keys")
    }

    func testTransactionsTakeAKeyOnceAndCompareRevisions() async throws {
        let client = try await etcd.ready()
        // A compare on the mod revision of a key that does not exist holds at 0.
        let first = try await client.txn(
            if: [.absent("/t/leader"), .modified("/t/epoch", at: 0)],
            then: [.put("/t/leader", Array("a".utf8)), .put("/t/epoch", Array("1".utf8))],
            else: [.get("/t/leader")])
        XCTAssertTrue(first.succeeded)
        XCTAssertEqual(first.read, [])
        let second = try await client.txn(
            if: [.absent("/t/leader")], then: [.put("/t/leader", Array("b".utf8))], else: [.get("/t/leader")])
        XCTAssertFalse(second.succeeded, "the key was taken twice")
        XCTAssertEqual(second.read.map(\.value?.text), ["a"])
        let (epoch, _) = try await client.get("/t/epoch")
        let stale = try await client.txn(if: [.modified("/t/epoch", at: 0)], then: [.put("/t/epoch", Array("9".utf8))])
        XCTAssertFalse(stale.succeeded, "a compare on an old mod revision held")
        let fresh = try await client.txn(
            if: [.modified("/t/epoch", at: epoch!.modified), .holds("/t/leader", Array("a".utf8))],
            then: [.put("/t/epoch", Array("2".utf8)), .delete("/t/leader")])
        XCTAssertTrue(fresh.succeeded)
        let leader = try await client.get("/t/leader").0
        XCTAssertNil(leader)
        let epochNow = try await client.get("/t/epoch").0
        XCTAssertEqual(epochNow?.value?.text, "2")
        try await client.put("/t/members/a", [1])
        try await client.put("/t/members/b", [2])
        try await client.put("/t/membersX", [3])
        let members = try await client.list(prefix: "/t/members/")
        XCTAssertEqual(members.map(\.key.text), ["/t/members/a", "/t/members/b"])
    }

    func testWatchSeesPutsAndDeletesAndTimesOut() async throws {
        let client = try await etcd.ready()
        let (_, revision) = try await client.get("/t/w")
        async let put = client.awaitChange(of: "/t/w", from: revision + 1, timeout: .seconds(10))
        try await Task.sleep(for: .milliseconds(200))
        try await client.put("/t/w", Array("x".utf8))
        let putEvents = await put
        XCTAssertEqual(putEvents.map(\.value), [Array("x".utf8)])
        // From a past revision the watch answers at once with what happened since.
        try await client.delete("/t/w")
        let both = await client.awaitChange(of: "/t/w", from: revision + 1, timeout: .seconds(10))
        XCTAssertEqual(both.first?.value, Array("x".utf8))
        let deleted = await client.awaitChange(of: "/t/w", from: putEvents[0].revision + 1, timeout: .seconds(10))
        XCTAssertEqual(deleted.count, 1)
        XCTAssertNil(deleted.first?.value, "a delete is an event with no value")
        let start = ContinuousClock.now
        let (_, now) = try await client.get("/t/w")
        let none = await client.awaitChange(of: "/t/w", from: now + 1, timeout: .seconds(1))
        XCTAssertEqual(none, [])
        XCTAssertLessThan(ContinuousClock.now - start, .seconds(8))
    }

    func testAnEndpointDownCostsAConnectAndAllDownIsNamed() async throws {
        _ = try await etcd.ready()
        let dead = "http://127.0.0.1:\(try LeaderClientTests.closedPort())"
        let client = try EtcdClient(endpoints: [dead, etcd.url], requestTimeout: .seconds(2))
        try await client.put("/t/k", [7])
        let read = try await client.get("/t/k").0
        XCTAssertEqual(read?.value?.bytes, [7])
        let none = try EtcdClient(endpoints: [dead], requestTimeout: .seconds(2))
        do throws(EtcdError) {
            _ = try await none.get("/t/k")
            XCTFail("an unreachable etcd answered")
        } catch {
            guard case .unreachable(let call, let why) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(call, "range")
            XCTAssertTrue(why.contains(dead), why)
        }
    }
}
