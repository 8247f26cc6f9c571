import Foundation
import XCTest

@testable import Replication

/// A real one-member etcd for a test: a child process on free loopback ports with a
/// temporary data directory, killed and removed by `stop`. (scripts/deps.sh installs
/// Debian's etcd-server; without it these tests fail and say so.)
final class EtcdProcess: @unchecked Sendable {
    // @unchecked Sendable: the process and paths are set in init and only read after.
    let process = Process()
    let directory: URL
    let url: String

    init() throws {
        guard let binary = Self.find("etcd") else {
            throw ReplicationError.io("etcd is not on PATH: scripts/deps.sh installs Debian's etcd-server")
        }
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("hsdb-etcd-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let client = try LeaderClientTests.closedPort()
        let peer = try LeaderClientTests.closedPort()
        url = "http://127.0.0.1:\(client)"
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = [
            "--data-dir", directory.appendingPathComponent("data").path, "--name", "test",
            "--listen-client-urls", url, "--advertise-client-urls", url,
            "--listen-peer-urls", "http://127.0.0.1:\(peer)", "--initial-advertise-peer-urls", "http://127.0.0.1:\(peer)",
            "--initial-cluster", "test=http://127.0.0.1:\(peer)",
        ]
        let log = directory.appendingPathComponent("etcd.log")
        FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
    }

    /// Waits until etcd answers a read (up to 20 s).
    func ready() async throws -> EtcdClient {
        let client = try EtcdClient(endpoints: [url], requestTimeout: .seconds(2))
        let deadline = ContinuousClock.now + .seconds(20)
        while true {
            do {
                _ = try await client.get("/ready")
                return client
            } catch {
                if ContinuousClock.now > deadline || !process.isRunning {
                    let log = (try? String(contentsOf: directory.appendingPathComponent("etcd.log"), encoding: .utf8)) ?? ""
                    XCTFail("etcd at \(url) did not start: \(error)\n\(log.suffix(2000))")
                    throw error
                }
                try await Task.sleep(for: .milliseconds(50))
            }
        }
    }

    func pause() { kill(process.processIdentifier, SIGSTOP) }
    func resume() { kill(process.processIdentifier, SIGCONT) }

    func stop() {
        if process.isRunning {
            kill(process.processIdentifier, SIGCONT)
            process.terminate()
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(at: directory)
    }

    static func find(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        return path.split(separator: ":").map { "\($0)/\(name)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }
}

/// A test case with a fresh real etcd for each test.
class EtcdTestCase: XCTestCase {
    var etcd: EtcdProcess!

    override func setUp() async throws {
        etcd = try EtcdProcess()
    }

    override func tearDown() async throws {
        etcd?.stop()
    }
}
