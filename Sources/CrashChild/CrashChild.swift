#if canImport(Glibc)
import Glibc
#endif
import HSDB
import HSDBTestSupport
import Synchronization

/// The child of the crash test: writes `CrashWorkload` batches from several concurrent tasks
/// and reports each acknowledgement on stdout as "A <batch> <lsn>", until it is killed. Its
/// memtables are small, so background flushes run throughout.
/// Usage: CrashChild DB_PATH SEED WRITERS DURABILITY FIRST_BATCH (batch numbers count up from it;
/// the parent gives each run its own range, so a number always means the same batch).
///
/// With `--mixed DB_PATH SEED DURABILITY FIRST_STEP` it runs `MixedCrashWorkload` instead: its
/// steps one after another from FIRST_STEP, each acknowledged as "A <step> <lsn>" (lsn 0 for
/// steps that write nothing), while another task searches all the time ("E <error>" on a
/// failed search).
@main
struct CrashChild {
    static func main() async throws {
        let args = CommandLine.arguments
        if args.count > 1 && args[1] == "--mixed" { return try await runMixed(Array(args.dropFirst(2))) }
        guard args.count == 6, let seed = UInt64(args[2]), let writers = Int(args[3]),
            let durability = DurabilityMode(parsing: args[4]), let first = Int(args[5])
        else {
            report("usage: CrashChild DB_PATH SEED WRITERS DURABILITY FIRST_BATCH\n", fd: 2)
            exit(2)
        }
        let db = try await Database.open(at: args[1], options: smallMemtableOptions(durability))
        let collection = try await openOrCreate(db, CrashWorkload.collection, dimension: CrashWorkload.dimension) { _ in }
        report("READY\n", fd: 1)
        await runWriters(collection, seed: seed, writers: writers, firstBatch: first)
    }

    static func runMixed(_ args: [String]) async throws {
        guard args.count == 4, let seed = UInt64(args[1]), let durability = DurabilityMode(parsing: args[2]), let first = Int(args[3]) else {
            report("usage: CrashChild --mixed DB_PATH SEED DURABILITY FIRST_STEP\n", fd: 2)
            exit(2)
        }
        var options = smallMemtableOptions(durability)
        options.walFileSize = 32 << 10  // one writer writes less: rotate every few dozen steps
        let db = try await Database.open(at: args[0], options: options)
        let c = try await openOrCreate(
            db, MixedCrashWorkload.collection, dimension: MixedCrashWorkload.dimension, sparse: MixedCrashWorkload.sparseVectors,
            lanes: MixedCrashWorkload.lanes
        ) {
            try await $0.createPayloadIndex("g", type: .integer)
        }
        report("READY\n", fd: 1)
        let searcher = Task.detached {
            var rng = SplitMix64(seed: seed)
            while !Task.isCancelled {
                do {
                    _ = try c.search(MixedCrashWorkload.vector(&rng), limit: 10)
                    _ = try c.searchSparse(MixedCrashWorkload.sparseName, MixedCrashWorkload.sparse(&rng), limit: 10)
                    _ = try c.search(Array(MixedCrashWorkload.vector(&rng).prefix(4)), lane: 1, limit: 10)
                    _ = try c.search(Array(MixedCrashWorkload.vector(&rng).prefix(8)), lane: 2, limit: 10)
                } catch {
                    report("E \(error)\n", fd: 1)
                }
                await Task.yield()
            }
        }
        defer { searcher.cancel() }
        for number in first... {
            var lsn: UInt64 = 0
            switch MixedCrashWorkload.step(seed: seed, number: number) {
            case .upsert(let points): lsn = try await c.upsert(points).lsn
            case .delete(let ids): lsn = try await c.delete(ids: ids).lsn
            case .replacePayload(let payload, let ids): lsn = try await c.updatePayload(.replace(payload), ids: ids)?.lsn ?? 0
            case .flush: try await c.flush()
            case .compact: try await c.compact()
            case .search(let q, let group):
                _ = try c.search(q, limit: 10, filter: Filter(must: [.match(key: "g", value: .int(group))]))
            }
            report("A \(number) \(lsn)\n", fd: 1)
        }
    }

    /// The workload's collection: the one an earlier child left, or a new one (dot metric, a
    /// small graph), set up by `prepare`.
    static func openOrCreate(
        _ db: Database, _ name: String, dimension: Int, sparse: [String: SparseVectorParameters] = [:], lanes: [NamedVectorConfig] = [],
        prepare: @Sendable (Collection) async throws -> Void
    ) async throws -> Collection {
        if let existing = try? db.collection(name) { return existing }
        let c = try await db.createCollection(
            name, config: CollectionConfig(
                dimension: dimension, metric: .dot, hnswM: 8, hnswEfConstruction: 32, sparseVectors: sparse, namedVectors: lanes))
        try await prepare(c)
        return c
    }

    /// Small memtables, so flushes (segment writes, manifest switches) run all the time and
    /// kills land inside them too.
    static func smallMemtableOptions(_ durability: DurabilityMode) -> DatabaseOptions {
        var options = DatabaseOptions(durability: durability)
        options.memtableFlushBytes = 64 << 10
        options.minGraphPoints = 64
        options.walFileSize = 256 << 10  // WAL files rotate (and retire) every few hundred batches
        return options
    }
}

final class BatchCounter: Sendable {
    let next: Atomic<Int>
    init(_ first: Int) { next = Atomic(first) }
}

func runWriters(_ collection: Collection, seed: UInt64, writers: Int, firstBatch: Int) async {
    let counter = BatchCounter(firstBatch)
    await withTaskGroup(of: Void.self) { group in
        for _ in 0..<writers {
            group.addTask {
                while true {
                    let number = counter.next.add(1, ordering: .relaxed).newValue
                    guard let result = try? await collection.upsert(CrashWorkload.batch(seed: seed, number: number)) else { return }
                    report("A \(number) \(result.lsn)\n", fd: 1)
                }
            }
        }
    }
}

/// One write(2) per line: atomic on a pipe, and nothing buffered is lost at SIGKILL.
func report(_ line: String, fd: Int32) {
    var bytes = Array(line.utf8)
    _ = bytes.withUnsafeMutableBytes { write(fd, $0.baseAddress, $0.count) }
}
