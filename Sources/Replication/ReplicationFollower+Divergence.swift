import HSDB
import HSDBCore

extension ReplicationFollower {
    /// Before a bootstrap replaces this copy of `name`: finds, by the running hashes of both
    /// logs, the last LSN this copy shares with the leader (binary search; a running hash
    /// that agrees at an LSN agrees on everything before it), and logs the records after it
    /// that this copy alone holds (a former leader's unreplicated tail) as discarded.
    func reportDivergence(_ name: String) async {
        do {
            guard let collection = try? db.collection(name) else { return }
            let chain = try await LogChain.open(collection)
            let mine = try await chain.extend()
            guard mine.lsn > 0 else { return }
            let theirs = try await leaderHash(name, at: 0)
            var low = await chain.anchorLSN
            var high = min(mine.lsn, theirs.tip)
            guard low <= high, try await agree(name, chain, at: low) else {
                logger.warning(
                    "replication: '\(name)': this copy (at LSN \(mine.lsn)) shares no checkable LSN with the leader's log; it is replaced by the leader's snapshot")
                return
            }
            while low < high {  // agree(low) holds; find the last LSN that agrees
                let mid = low + (high - low + 1) / 2
                if try await agree(name, chain, at: mid) { low = mid } else { high = mid - 1 }
            }
            if low < mine.lsn {
                logger.warning(
                    "replication: '\(name)': LSNs \(low + 1)...\(mine.lsn) of this copy are not in the leader's history (they were never replicated): discarded, and the copy is replaced by the leader's snapshot")
            }
        } catch {
            logger.info("replication: '\(name)': cannot tell where this copy left the leader's history: \(error)")
        }
    }

    private func agree(_ name: String, _ chain: LogChain, at lsn: UInt64) async throws -> Bool {
        guard let local = try await chain.hash(at: lsn) else { return false }
        return try await leaderHash(name, at: lsn).hash == local
    }

    /// The leader's running hash at `lsn` (nil outside its retained log) and its tip.
    private func leaderHash(_ name: String, at lsn: UInt64) async throws -> (hash: LogHash?, tip: UInt64) {
        let path = "/replication/collections/\(LeaderClient.segment(name))/hash?lsn=\(lsn)"
        guard case .object(let o) = try await leader.json(leader.request(.GET, path)), case .int(let tip)? = o["tip"], tip >= 0 else {
            throw ReplicationError.leader(status: 200, message: "malformed hash answer")
        }
        if case .string(let hex)? = o["hash"] { return (LogHash(hex: hex), UInt64(tip)) }
        return (nil, UInt64(tip))
    }
}
