import HSDB
import HSDBCore

/// Anti-entropy: now and then, each collection caught up with the leader is compared with
/// the leader's by their state trees at one LSN, and what differs is set right
/// (`ReplicaRepair`). DESIGN.md, "Anti-entropy repair".
extension ReplicationFollower {
    /// How long a check waits for this copy and the leader to stand at one LSN.
    static let alignmentTimeout: Duration = .seconds(10)

    /// Checks every collection (or only `name`) now; per collection its outcome or error.
    public func checkAgainstLeader(_ name: String? = nil) async -> [(collection: String, outcome: Result<ReplicaRepair.Outcome, any Error>)] {
        var results: [(collection: String, outcome: Result<ReplicaRepair.Outcome, any Error>)] = []
        for status in status() where name == nil || status.collection == name {
            let outcome: Result<ReplicaRepair.Outcome, any Error>
            do {
                let c = try db.collection(status.collection)
                outcome = .success(try await ReplicaRepair(client: leader, collection: c, timeout: Self.alignmentTimeout).run())
            } catch {
                outcome = .failure(error)
            }
            record(status.collection, outcome)
            results.append((status.collection, outcome))
        }
        return results
    }

    /// Every `interval`, checks the collections that are streaming (caught up).
    func antiEntropyLoop(every interval: Duration) async {
        while !Task.isCancelled {
            try? await Task.sleep(for: interval)
            for s in status() where s.state == .streaming && !Task.isCancelled {
                _ = await checkAgainstLeader(s.collection)
            }
        }
    }

    private func record(_ name: String, _ outcome: Result<ReplicaRepair.Outcome, any Error>) {
        let text: String
        var repaired = 0
        switch outcome {
        case .success(.equal(let lsn)): text = "equal at LSN \(lsn)"
        case .success(.notAligned(let leader, let local)):
            text = "not compared: the leader stood at LSN \(leader), this copy at \(local)"
        case .success(.repaired(let lsn, let found, let result)):
            repaired = result.replaced + result.removed
            text = "differed at LSN \(lsn) in \(found.ids.count) point(s): \(result.replaced) set right, \(result.removed) removed, \(result.skipped.count) left for the next check"
            logger.notice("replication: '\(name)' \(text)")
        case .failure(let error): text = "failed: \(error)"
        }
        update(name) {
            $0.treeChecks += 1
            $0.pointsRepaired += repaired
            $0.lastTreeCheck = text
        }
    }
}
