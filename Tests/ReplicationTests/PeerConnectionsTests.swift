import Foundation
import Synchronization
import XCTest

@testable import Replication

/// The kept-alive connections between nodes (`PeerConnections`), against a loopback HTTP/1.1
/// peer that counts the connections it accepts and can close them in each way a peer does.
final class PeerConnectionsTests: XCTestCase {
    func testCallsToOnePeerShareOneConnection() async throws {
        let peer = try TinyPeer(closing: .never)
        defer { peer.stop() }
        let client = PeerClient(apiKey: "k")
        for i in 1...3 {
            let answer = try await client.call(.POST, peer.url, "/collections/c/points/search", body: Array("q\(i)".utf8))
            XCTAssertEqual(answer.status, 200)
            XCTAssertEqual(String(buffer: answer.body), "POST /collections/c/points/search q\(i)")
        }
        XCTAssertEqual(peer.accepted, 1)
    }

    /// A peer answering `Connection: close` gets a new connection for the next call.
    func testAnAnswerThatClosesIsNotKept() async throws {
        let peer = try TinyPeer(closing: .sayingSo)
        defer { peer.stop() }
        for _ in 1...2 { _ = try await PeerClient(apiKey: nil).call(.GET, peer.url, "/x", body: nil) }
        XCTAssertEqual(peer.accepted, 2)
    }

    /// A peer that drops a kept connection without a word as the next call arrives: the call
    /// fails on it before any answer (the peer never took it) and is sent once more on a new
    /// connection, so no call fails.
    func testAConnectionClosedWhileIdleIsReplacedOnce() async throws {
        let peer = try TinyPeer(closing: .silently)
        defer { peer.stop() }
        for i in 1...3 {
            let answer = try await PeerClient(apiKey: nil).call(.GET, peer.url, "/n\(i)", body: nil)
            XCTAssertEqual(String(buffer: answer.body), "GET /n\(i) ")
        }
        XCTAssertEqual(peer.accepted, 3)
    }

    func testAPeerThatIsDownIsAnIOError() async throws {
        let port = try LeaderClientTests.closedPort()
        do {
            _ = try await PeerClient(apiKey: nil).call(.GET, "http://127.0.0.1:\(port)", "/", body: nil)
            XCTFail("a closed port answered")
        } catch ReplicationError.io(let why) {
            XCTAssertTrue(why.contains("cannot reach node at http://127.0.0.1:\(port)"), why)
        }
    }
}

/// A blocking HTTP/1.1 peer on a thread: answers each request with its method, path and body.
private final class TinyPeer: Sendable {
    enum Closing { case never, sayingSo, silently }

    let fd: Int32
    let url: String
    private let count = Atomic<Int>(0)
    var accepted: Int { count.load(ordering: .relaxed) }

    init(closing: Closing) throws {
        let (fd, port) = try LeaderClientTests.listeningSocket()
        self.fd = fd
        url = "http://127.0.0.1:\(port)"
        Thread.detachNewThread { [self] in
            while true {
                let conn = accept(fd, nil, nil)
                guard conn >= 0 else { return }
                count.add(1, ordering: .relaxed)
                Self.serve(conn, closing: closing)
                close(conn)
            }
        }
    }

    func stop() { shutdown(fd, Int32(SHUT_RDWR)); close(fd) }

    private static func serve(_ conn: Int32, closing: Closing) {
        var pending: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        var answered = 0
        while true {
            guard let end = pending.firstRange(of: Array("\r\n\r\n".utf8)) else {
                let n = read(conn, &chunk, chunk.count)
                guard n > 0 else { return }
                pending += chunk[..<n]
                continue
            }
            let head = String(decoding: pending[..<end.lowerBound], as: UTF8.self)
            let length = head.split(separator: "\r\n").first { $0.lowercased().hasPrefix("content-length:") }
                .flatMap { Int($0.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) } ?? 0
            while pending.count < end.upperBound + length {
                let n = read(conn, &chunk, chunk.count)
                guard n > 0 else { return }
                pending += chunk[..<n]
            }
            // Silently: a second request on the connection is dropped unanswered, as by a peer
            // that closed the idle connection just as the call was sent.
            if closing == .silently && answered == 1 { return }
            let words = head.split(separator: " ")
            let body = String(decoding: pending[end.upperBound..<end.upperBound + length], as: UTF8.self)
            pending.removeFirst(end.upperBound + length)
            let text = Array("\(words[0]) \(words[1]) \(body)".utf8)
            let extra = closing == .sayingSo ? "Connection: close\r\n" : ""
            let answer = Array("HTTP/1.1 200 OK\r\nContent-Length: \(text.count)\r\n\(extra)\r\n".utf8) + text
            _ = answer.withUnsafeBytes { write(conn, $0.baseAddress, $0.count) }
            answered += 1
            if closing == .sayingSo { return }
        }
    }
}
