import HSDB
import HSDBCore
import Synchronization

/// A frame's records checked against the running hash and decoded, ready to commit.
struct ReplicatedBatch: Sendable {
    let decoded: ReplicatedRecords
    let hashes: [LogHash]

    var lastLSN: UInt64 { decoded.lastLSN }
}

/// The commit stage of a follower's stream: appends and applies one frame's records, then
/// reports the position and offers the acknowledgement, as soon as each frame is durable
/// (a synchronous write on the leader waits for it). Called one frame at a time, in order.
final class FrameCommitter: Sendable {
    let follower: ReplicationFollower
    let name: String
    let collection: Collection
    let chain: LogChain
    let acks: AckSender
    /// The durable LSN last offered, and when the chain anchor last moved.
    private let progress = Mutex<(offered: UInt64?, anchorMoved: ContinuousClock.Instant)>((nil, .now))

    init(follower: ReplicationFollower, name: String, collection: Collection, chain: LogChain, acks: AckSender) {
        (self.follower, self.name, self.collection, self.chain, self.acks) = (follower, name, collection, chain, acks)
    }

    func commit(_ batch: ReplicatedBatch?, of frame: ReplicationFrame, appliedThrough lsn: UInt64) async throws {
        if let batch {
            try await collection.applyReplicated(batch.decoded)
            await chain.appended(batch.decoded.entries, hashes: batch.hashes)
        }
        follower.record(frame, name: name, appliedLSN: lsn)
        // Every new durable LSN is offered at once; the sender folds offers made while one
        // is in flight.
        let durable = collection.durableLSN
        let (offer, moveAnchor) = progress.withLock { p -> (Bool, Bool) in
            let offer = p.offered != durable
            p.offered = durable
            let due = ContinuousClock.now - p.anchorMoved >= ReplicationFollower.anchorInterval
            if due { p.anchorMoved = .now }
            return (offer, due)
        }
        if offer { acks.offer(durable: durable, applied: lsn) }
        if moveAnchor { try await chain.moveAnchor(toward: min(durable, collection.flushedLSN)) }
    }
}
