import Foundation
import XCTest

@testable import Replication

/// The follower's HTTP client on its own: addresses, refusals, and a link that goes silent.
/// (Real exchanges with a leader are in Tests/python/test_replication.py.)
final class LeaderClientTests: XCTestCase {
    func testAddresses() throws {
        let a = try LeaderAddress("http://127.0.0.1:6333/")
        XCTAssertEqual([a.host, "\(a.port)", a.prefix, a.url, a.hostHeader], ["127.0.0.1", "6333", "", "http://127.0.0.1:6333", "127.0.0.1:6333"])
        let b = try LeaderAddress("HTTP://db.example/hsdb")
        XCTAssertEqual([b.host, "\(b.port)", b.prefix, b.hostHeader], ["db.example", "80", "/hsdb", "db.example"])
        let c = try LeaderAddress("http://[::1]:7000")
        XCTAssertEqual([c.host, "\(c.port)", c.hostHeader], ["::1", "7000", "[::1]:7000"])
    }

    func testRefusedAddressesSayWhy() {
        let cases = [
            ("https://leader:6333", "plain http:// only"), ("leader:6333", "expected http://host[:port]"),
            ("http://:6333", "names no host"), ("http://leader:0", "expected 1-65535"),
            ("http://leader:x", "expected 1-65535"), ("http://[::1", "cannot parse the host"),
        ]
        for (url, why) in cases {
            XCTAssertThrowsError(try LeaderAddress(url), url) { error in
                XCTAssertTrue("\(error)".contains(why), "\(url): \(error)")
            }
        }
    }

    func testUnreachableLeaderIsAnIOError() async throws {
        let port = try Self.closedPort()
        let client = try LeaderClient(leader: "http://127.0.0.1:\(port)", apiKey: nil)
        do {
            _ = try await client.json(client.request(.GET, "/replication/collections"))
            XCTFail("a closed port answered")
        } catch ReplicationError.io(let why) {
            XCTAssertTrue(why.contains("cannot reach the leader at http://127.0.0.1:\(port)"), why)
        }
    }

    /// A leader that accepts the connection and then says nothing (a half-dead link) fails the
    /// call after the read timeout instead of hanging it.
    func testSilentLeaderTimesOut() async throws {
        let (fd, port) = try Self.listeningSocket()
        defer { close(fd) }
        let client = try LeaderClient(leader: "http://127.0.0.1:\(port)", apiKey: nil)
        let start = ContinuousClock.now
        do {
            _ = try await client.json(client.request(.GET, "/replication/collections"))
            XCTFail("a silent leader answered")
        } catch ReplicationError.io(let why) {
            XCTAssertTrue(why.contains("sent nothing for 5 s"), why)
        }
        let waited = ContinuousClock.now - start
        XCTAssertGreaterThanOrEqual(waited, .seconds(4))
        XCTAssertLessThan(waited, .seconds(30))
    }

    /// A socket listening on a free loopback port that never accepts: the kernel completes
    /// connections into its backlog, so a client connects and then hears nothing.
    static func listeningSocket() throws -> (Int32, Int) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw POSIXError(.EMFILE) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { p in
                bind(fd, p, len) == 0 && listen(fd, 8) == 0 && getsockname(fd, p, &len) == 0
            }
        }
        guard bound else {
            close(fd)
            throw POSIXError(.EADDRINUSE)
        }
        return (fd, Int(UInt16(bigEndian: addr.sin_port)))
    }

    /// A loopback port nobody listens on (bound, then closed).
    static func closedPort() throws -> Int {
        let (fd, port) = try listeningSocket()
        close(fd)
        return port
    }
}
