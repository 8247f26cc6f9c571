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
@main
struct CrashChild {
    static func main() async throws {
        let args = CommandLine.arguments
        guard args.count == 6, let seed = UInt64(args[2]), let writers = Int(args[3]),
            let durability = DurabilityMode(parsing: args[4]), let first = Int(args[5])
        else {
            report("usage: CrashChild DB_PATH SEED WRITERS DURABILITY FIRST_BATCH\n", fd: 2)
            exit(2)
        }
        // Small memtables, so flushes (segment writes, manifest switches) run all the time and
        // kills land inside them too.
        var options = DatabaseOptions(durability: durability)
        options.memtableFlushBytes = 64 << 10
        options.minGraphPoints = 64
        options.walFileSize = 256 << 10  // WAL files rotate (and retire) every few hundred batches
        let db = try await Database.open(at: args[1], options: options)
        let collection: Collection
        if let existing = try? db.collection(CrashWorkload.collection) {
            collection = existing
        } else {
            collection = try await db.createCollection(
                CrashWorkload.collection,
                config: CollectionConfig(dimension: CrashWorkload.dimension, metric: .dot, hnswM: 8, hnswEfConstruction: 32))
        }
        report("READY\n", fd: 1)
        await runWriters(collection, seed: seed, writers: writers, firstBatch: first)
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
