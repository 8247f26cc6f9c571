import Foundation
import Logging
import Synchronization
import XCTest

@testable import Replication

/// The election driven by a manual clock against a real etcd: who wins, who defers, and
/// when a leader stops acknowledging writes, decided by the injected time alone (the
/// real-process scenarios are in Tests/python/test_cluster.py).
final class ClusterElectionTests: EtcdTestCase {
    func testALoneNodeLeadsAndStopsAcknowledgingAtItsDeadline() async throws {
        _ = try await etcd.ready()
        let clock = ManualClock()
        let roles = FakeRoles(epoch: 4, total: 0)
        let election = try makeElection("a", roles: roles, clock: clock)
        let running = Task { await election.run() }
        try await drive(clock) { roles.led != [] }
        XCTAssertEqual(roles.led, [5], "elected past the highest epoch the node has seen")
        XCTAssertTrue(election.mayAcknowledge)
        let client = try EtcdClient(endpoints: [etcd.url])
        let leader = ClusterJSON.decode(ClusterLeader.self, try await client.get("/hsdb/t/leader").0?.value?.bytes)
        XCTAssertEqual(leader, ClusterLeader(name: "a", advertise: "http://a", epoch: 5, nodeID: "id-a"))
        let counter = try await client.get("/hsdb/t/epoch").0
        XCTAssertEqual(counter?.value?.text, "5")

        // etcd stops answering: no keepalive is renewed, and once the clock passes the last
        // renewal's send + TTL - margin the leader refuses to acknowledge, on its own.
        etcd.pause()
        let renewedAt = try XCTUnwrap(election.state.withLock { $0.deadline.renewedAt })
        let expires = renewedAt + election.settings.leaseTTL - election.settings.deadlineMargin
        clock.advance(by: expires - clock.now - .milliseconds(1))
        XCTAssertTrue(election.mayAcknowledge, "it stopped before its deadline")
        clock.advance(by: .milliseconds(1))
        XCTAssertFalse(election.mayAcknowledge, "it still acknowledged past its deadline")
        etcd.resume()
        running.cancel()
        await running.value
        // Stopping revokes the lease: the leader key goes at once.
        let after = try await client.get("/hsdb/t/leader").0
        XCTAssertNil(after)
    }

    func testTheMostAdvancedCandidateWinsAndTheOtherFollows() async throws {
        _ = try await etcd.ready()
        let clock = ManualClock()
        let behind = FakeRoles(epoch: 3, total: 5)
        let ahead = FakeRoles(epoch: 3, total: 9)
        // "a" would win a tie by name: it must defer to "b", which holds more.
        let a = try makeElection("a", roles: behind, clock: clock)
        let b = try makeElection("b", roles: ahead, clock: clock)
        let tasks = [Task { await a.run() }, Task { await b.run() }]
        // Both publish for round 1 before time moves, so neither decides on a partial view.
        let client = try EtcdClient(endpoints: [etcd.url])
        try await waitReal {
            let members = try await client.list(prefix: "/hsdb/t/members/")
            return members.compactMap { ClusterJSON.decode(ClusterMember.self, $0.value?.bytes) }.filter { $0.round == 1 }.count == 2
        }
        try await drive(clock) { ahead.led != [] && behind.followed != [] }
        XCTAssertEqual(ahead.led, [4])
        XCTAssertEqual(behind.led, [])
        XCTAssertEqual(behind.followed.map(\.name), ["b"])
        XCTAssertEqual(a.leader?.name, "b")
        for t in tasks { t.cancel() }
        for t in tasks { await t.value }
    }

    /// Taking the lead fails once after the txn (say `NODE` could not be written): the node
    /// drops that lease, finds the key under its old lease, removes it, and is elected again.
    func testANodeThatFailsToTakeTheLeadGivesTheKeyBackAndTriesAgain() async throws {
        _ = try await etcd.ready()
        let clock = ManualClock()
        let roles = FakeRoles(epoch: 1, total: 0)
        roles.failures = 1
        let election = try makeElection("a", roles: roles, clock: clock)
        let running = Task { await election.run() }
        try await drive(clock) { roles.led.count == 1 && election.mayAcknowledge }
        XCTAssertEqual(roles.led, [3], "the failed attempt took epoch 2; the next one is 3")
        running.cancel()
        await running.value
    }

    // MARK: Helpers

    func makeElection(_ name: String, roles: FakeRoles, clock: ManualClock) throws -> ClusterElection {
        var s = ClusterSettings(endpoints: [etcd.url], nodeName: name, advertise: "http://\(name)")
        s.cluster = "t"
        s.derive(fromTTL: .seconds(10))
        roles.id = "id-\(name)"
        return try ClusterElection(settings: s, roles: roles, logger: Logger(label: "test"), clock: clock)
    }

    /// Moves the manual clock on in small steps (letting real calls to etcd complete between
    /// them) until `done` holds; fails after 20 s of real time.
    func drive(_ clock: ManualClock, until done: () -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(20)
        while !done() {
            guard ContinuousClock.now < deadline else { return XCTFail("the election did not get there") }
            clock.advance(by: .milliseconds(100))
            try await Task.sleep(for: .milliseconds(10))
        }
    }

    func waitReal(_ done: () async throws -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(20)
        while try await !done() {
            guard ContinuousClock.now < deadline else { return XCTFail("not reached in 20 s") }
            try await Task.sleep(for: .milliseconds(20))
        }
    }
}

/// Records what the election asked of the node.
final class FakeRoles: ClusterRoleControl, @unchecked Sendable {
    // @unchecked Sendable: `id` is set before the election starts; the rest is in `calls`.
    private let calls = Mutex<(led: [UInt64], followed: [ClusterLeader], role: String)>(([], [], "standby"))
    let fixed: ClusterProgress
    var id = ""
    /// How many calls of `lead` fail first (set before the election starts; one task calls).
    var failures = 0

    init(epoch: UInt64, total: UInt64) {
        fixed = ClusterProgress(epoch: epoch, lsns: ["c": total])
    }

    var nodeID: String { id }
    var roleName: String { calls.withLock { $0.role } }
    var led: [UInt64] { calls.withLock { $0.led } }
    var followed: [ClusterLeader] { calls.withLock { $0.followed } }

    var cannotLead: String? { nil }
    func progress() -> ClusterProgress { fixed }
    func stopFollowing() async { calls.withLock { $0.role = "standby" } }
    func lead(epoch: UInt64, former: String?) async throws {
        if failures > 0 {
            failures -= 1
            throw ReplicationError.io("cannot write NODE (a test's failure)")
        }
        calls.withLock {
            $0.led.append(epoch)
            $0.role = "leader"
        }
    }
    func follow(_ leader: ClusterLeader) async throws {
        calls.withLock {
            if $0.followed.last != leader { $0.followed.append(leader) }
            $0.role = "follower"
        }
    }
    func standBy(_ reason: String) async { calls.withLock { $0.role = "standby" } }
}
