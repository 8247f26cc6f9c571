import HSDBCore
import WAL

extension Collection {
    /// The WAL's named readers and the oldest LSN each still needs.
    public var walPinLSNs: [String: UInt64] { walPins.withLock { $0.pins } }

    /// Keeps every WAL record from `lsn` on, across restarts, until the pin named `name` moves
    /// on or is removed: a backup archiver pins the first record it has not archived, a
    /// follower's slot the first it has not made durable. Durable when this returns. Moving a
    /// pin forward lets retention delete the files it held.
    public func pinWAL(_ name: String, from lsn: UInt64) async throws {
        guard !name.isEmpty, name.utf8.count <= WALPins.maxNameBytes else {
            throw HSDBError.invalidArgument("a WAL pin name must be 1-\(WALPins.maxNameBytes) bytes")
        }
        try await changePins { $0.pins[name] = lsn }
    }

    /// Removes the pin named `name` (nothing if there is none).
    public func unpinWAL(_ name: String) async throws {
        try await changePins { $0.pins[name] = nil }
    }

    private func changePins(_ change: @Sendable (inout WALPins) -> Void) async throws {
        try await pinUpdates.withLock {
            var pins = walPins.withLock { $0 }
            change(&pins)
            guard pins != walPins.withLock({ $0 }) else { return }
            let (fs, path, bytes) = (fs, directory + "/" + WALPins.fileName, pins.encode())
            try await runBlocking("hsdb.walpins") {
                do { try fs.writeFileAtomically(path, bytes: bytes) } catch { throw HSDBError.wrap(error) }
            }
            walPins.withLock { $0 = pins }
        }
        applyWALRetention(flushedLSN: state.withLock { $0.manifest.flushedLSN })
    }
}
