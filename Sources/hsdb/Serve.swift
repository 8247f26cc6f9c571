import ArgumentParser
import Dispatch
import Foundation
import HSDB
import Logging

/// `hsdb serve`: opens the database and serves it. The Qdrant-compatible HTTP API is not
/// built yet (issue 4); until then the command opens and recovers the database, reports what
/// it found, holds the directory lock, and closes cleanly on SIGINT or SIGTERM.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Open the database and serve it (HTTP API: coming in the next milestone).")

    @Option(name: .long, help: "Database directory.")
    var data = "./hsdb-data"

    @Option(name: .long, help: "Address to listen on.")
    var host = "127.0.0.1"

    @Option(name: .long, help: "Port to listen on.")
    var port = 6333

    @Option(name: .long, help: "Durability: fsync (default), interval[:MS], none.")
    var durability = "fsync"

    func run() async throws {
        LoggingSystem.bootstrap { StreamLogHandler.standardError(label: $0) }
        let logger = Logger(label: "hsdb")
        guard let mode = DurabilityMode(parsing: durability) else {
            throw ValidationError("unknown durability mode '\(durability)': use fsync, interval, interval:MS or none")
        }
        var options = DatabaseOptions(durability: mode)
        options.createIfMissing = true
        let db = try await Database.open(at: data, options: options, logger: logger)
        let collections = try db.listCollections()
        logger.info("hsdb \(HSDBVersion.string): data in \(data), \(collections.count) collection(s), durability \(mode)")
        logger.warning("the HTTP API (\(host):\(port)) is not implemented in this build; holding the database open until SIGINT/SIGTERM")
        await waitForTerminationSignal()
        logger.info("signal received: syncing and closing")
        try await db.close()
    }
}

/// Suspends until SIGINT or SIGTERM arrives.
func waitForTerminationSignal() async {
    signal(SIGINT, SIG_IGN)
    signal(SIGTERM, SIG_IGN)
    await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
        let queue = DispatchQueue(label: "hsdb.signals")
        let once = OnceFlag()
        let sources = [SIGINT, SIGTERM].map { DispatchSource.makeSignalSource(signal: $0, queue: queue) }
        for source in sources {
            source.setEventHandler {
                if once.claim() { continuation.resume() }
            }
            source.resume()
        }
        signalSources = sources
    }
}

nonisolated(unsafe) private var signalSources: [any DispatchSourceSignal] = []  // kept alive for the process

/// True exactly once.
final class OnceFlag: @unchecked Sendable {
    // @unchecked Sendable: `done` is only touched on the serial signal queue.
    private var done = false
    func claim() -> Bool {
        if done { return false }
        done = true
        return true
    }
}
