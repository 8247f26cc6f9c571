import HSDB
import Replication

extension API {
    /// Holds a write's answer until as many copies as the collection's
    /// `write_consistency_factor` (leader included) hold it durably: the leader already does
    /// when the engine returns, so it waits for `factor - 1` followers' acknowledgements. Past
    /// `--replica-ack-timeout` the write is not acknowledged (503): it is in the leader's log
    /// and may still reach the followers, as with any write whose answer was lost.
    func awaitCopies(of c: Collection, through lsn: UInt64?) async throws {
        guard let lsn, let leader = replication.leader else { return }
        let factor = CollectionSpec.writeConsistencyFactor(of: c, default: settings.writeConsistencyFactor)
        guard factor > 1 else { return }
        let have = await leader.waitForFollowers(factor - 1, of: c, through: lsn, timeout: settings.replicaAckTimeout)
        guard have < factor - 1 else { return }
        throw APIError(
            status: .serviceUnavailable,
            message: "Service unavailable: the write (LSN \(lsn)) is durable on \(have + 1) of the \(factor) copies "
                + "write_consistency_factor asks for after \(settings.replicaAckTimeout); it is not acknowledged")
    }
}
