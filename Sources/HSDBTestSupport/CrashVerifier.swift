import HSDB
import Synchronization

/// Acknowledgements collected from concurrent writers.
public final class AckLog: Sendable {
    private let list = Mutex<[(Int, UInt64)]>([])
    public init() {}

    /// Records batch `number` acknowledged at `lsn`; returns how many are recorded.
    @discardableResult
    public func add(_ number: Int, _ lsn: UInt64) -> Int {
        list.withLock {
            $0.append((number, lsn))
            return $0.count
        }
    }

    public var entries: [(Int, UInt64)] { list.withLock { $0 } }
}

public struct VerificationFailure: Error, CustomStringConvertible {
    public let description: String
}

/// Checks a collection written by `CrashWorkload` after a crash:
/// 1. the applied LSN covers every acknowledged write;
/// 2. every point of every acknowledged batch is there at that batch's version or a later one;
/// 3. every point there is exactly what its batch wrote (the vector names the batch), and if
///    that batch was acknowledged, at the acknowledged LSN;
/// 4. no batch is half there: every point of a visible batch is at its version or later.
public enum CrashVerifier {
    public static func verify(_ c: Collection, seed: UInt64, acknowledged: [(Int, UInt64)], context: String) throws {
        var expectations = AcknowledgedWrites(seed: seed)
        expectations.add(acknowledged)
        try verify(c, expectations, context: context)
    }

    public static func verify(_ c: Collection, _ acked: AcknowledgedWrites, context: String) throws {
        func fail(_ message: String) -> VerificationFailure { VerificationFailure(description: "\(context): \(message)") }
        let seed = acked.seed
        guard c.appliedLSN >= acked.maxLSN else {
            throw fail("applied LSN \(c.appliedLSN) is below the acknowledged LSN \(acked.maxLSN): acknowledged writes lost")
        }
        let all = try c.scroll(limit: Int(CrashWorkload.idRange) + 1, projection: .everything).points
        guard all.count == c.count() else { throw fail("scroll saw \(all.count) points, count() says \(c.count())") }
        var stored: [PointID: Record] = [:]
        for r in all { stored[r.id] = r }

        for (id, required) in acked.minimumVersion {
            guard let r = stored[id] else { throw fail("acknowledged batch \(required.batch) (LSN \(required.lsn)): point \(id) is missing") }
            guard r.version >= required.lsn else {
                throw fail("acknowledged batch \(required.batch) (LSN \(required.lsn)): point \(id) has older version \(r.version)")
            }
        }
        var batchVersion: [Int: UInt64] = [:]
        for r in all {
            guard let v = r.vector, let (number, index) = CrashWorkload.origin(of: v) else { throw fail("point \(r.id) has a malformed vector") }
            let batch = CrashWorkload.batch(seed: seed, number: number)
            guard index < batch.count, batch[index].id == r.id, batch[index].vector == v, batch[index].payload == r.payload else {
                throw fail("point \(r.id) (version \(r.version)) does not match batch \(number)")
            }
            if let lsn = acked.lsn[number], lsn != r.version {
                throw fail("point \(r.id) of batch \(number) has version \(r.version), acknowledged as \(lsn)")
            }
            if let known = batchVersion[number], known != r.version {
                throw fail("batch \(number) appears with versions \(known) and \(r.version)")
            }
            batchVersion[number] = r.version
        }
        for (number, version) in batchVersion {
            for p in CrashWorkload.batch(seed: seed, number: number) {
                guard let r = stored[p.id], r.version >= version else {
                    throw fail("batch \(number) (LSN \(version)) is half applied: point \(p.id) is missing or older")
                }
            }
        }
    }
}

/// What the acknowledgements so far require, folded as they arrive (each batch is generated
/// once), so checking after every crash costs the same however many writes came before:
/// every point of every acknowledged batch must be at that batch's LSN or later, that is, at
/// the highest acknowledged LSN of any batch that wrote it.
public struct AcknowledgedWrites: Sendable {
    public let seed: UInt64
    public private(set) var lsn: [Int: UInt64] = [:]
    public private(set) var minimumVersion: [PointID: (lsn: UInt64, batch: Int)] = [:]
    public private(set) var maxLSN: UInt64 = 0
    public var count: Int { lsn.count }

    public init(seed: UInt64) { self.seed = seed }

    public mutating func add(_ acknowledgements: [(Int, UInt64)]) {
        for (number, ackLSN) in acknowledgements where lsn[number] == nil {
            lsn[number] = ackLSN
            maxLSN = max(maxLSN, ackLSN)
            for p in CrashWorkload.batch(seed: seed, number: number) where (minimumVersion[p.id]?.lsn ?? 0) < ackLSN {
                minimumVersion[p.id] = (ackLSN, number)
            }
        }
    }
}
