import HSDBCore

/// A collection's kept digest at one LSN, and the points of one bucket when asked.
public struct CollectionDigest: Sendable {
    public let lsn: UInt64
    public let digest: PointSetDigest
    /// The live (id, version) pairs of the bucket asked for, in id order.
    public let bucketPoints: [(id: PointID, version: UInt64)]?
}

extension Collection {
    /// The digest kept up to date by every write, as of the applied LSN: O(1), no read of
    /// points. With `bucket`, also that bucket's points as of the same LSN (one pass over
    /// the ids, no vectors or payloads read).
    public func digest(listingBucket bucket: Int? = nil) -> CollectionDigest {
        let (digest, s) = state.withLock { ($0.digest, $0.snapshot()) }
        guard let bucket else { return CollectionDigest(lsn: s.lsn, digest: digest, bucketPoints: nil) }
        var listed: [(id: PointID, version: UInt64)] = []
        s.forEachLiveMemtablePoint { id, p in
            if PointSetDigest.bucket(of: id) == bucket { listed.append((id, p.version)) }
        }
        for seg in s.segments {
            for o in 0..<seg.count where seg.isAlive(o, at: s.lsn) {
                let id = seg.segment.id(at: o)
                if PointSetDigest.bucket(of: id) == bucket { listed.append((id, seg.segment.version(at: o))) }
            }
        }
        listed.sort { $0.id < $1.id }
        return CollectionDigest(lsn: s.lsn, digest: digest, bucketPoints: listed)
    }
}
