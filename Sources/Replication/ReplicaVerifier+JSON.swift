import HSDBCore

extension ReplicaVerifier.Report {
    /// `hsdb replica verify --json`: `{"equal": [{"collection", "lsn", "points", "root"}],
    /// "differences": [{"collection", "reason", "buckets"?, "only_leader"?, "only_follower"?,
    /// "changed"?, "round_trips"?}]}`, every differing id listed.
    public func json() -> JSONValue {
        .object([
            "equal": .array(equal.map {
                .object(["collection": .string($0.collection), "lsn": .int(Int64($0.lsn)), "points": .int(Int64($0.points)), "root": .string($0.root)])
            }),
            "differences": .array(differences.map(Self.json)),
        ])
    }

    private static func json(_ d: ReplicaVerifier.Difference) -> JSONValue {
        var o: [String: JSONValue] = ["collection": .string(d.collection), "reason": .string(d.reason)]
        if let found = d.located {
            func leaves(_ list: [StateDigest.Leaf]) -> JSONValue {
                .array(list.map { .object(["id": .string($0.id), "version": .int(Int64($0.version))]) })
            }
            o["buckets"] = .array(found.buckets.map { .int(Int64($0)) })
            o["only_leader"] = leaves(found.onlyFirst)
            o["only_follower"] = leaves(found.onlySecond)
            o["changed"] = .array(found.changed.map {
                .object(["id": .string($0.id), "leader": .int(Int64($0.first)), "follower": .int(Int64($0.second))])
            })
            o["round_trips"] = .int(Int64(found.roundTrips + 1))
        }
        return .object(o)
    }
}
