// Load generator for hsdb's gRPC API (Qdrant's): N concurrent clients, each with a connection
// of its own as qdrant-client's, calling one method in a loop for S seconds. Prints one JSON
// object: {"kind":"grpc_<work>","clients":N,"requests_per_s":...,"points_per_s":...,"p50_ms":...,"p99_ms":...,"errors":...}
// Usage: GRPCBench --port P --base FILE.f16 --work query|upsert|upsert64 [--clients N]
//                  [--seconds S] [--queries FILE.fvecs] [--collection NAME]
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2Posix
import GRPCProtobuf
import QdrantAPI
import Synchronization

struct Options {
    var port = 6334
    var base = "../../shared/data/dev/base.f16"
    var queries = "../../shared/data/dev/query.fvecs"
    var work = "query"
    var clients = 1
    var seconds = 10.0
    var collection = ""
    let dimension = 384

    init(_ args: [String]) {
        var i = 1
        func next() -> String {
            i += 1
            return args[i]
        }
        while i < args.count {
            switch args[i] {
            case "--port": port = Int(next())!
            case "--base": base = next()
            case "--queries": queries = next()
            case "--work": work = next()
            case "--clients": clients = Int(next())!
            case "--seconds": seconds = Double(next())!
            case "--collection": collection = next()
            default: fatalError("unknown argument \(args[i])")
            }
            i += 1
        }
        if collection.isEmpty { collection = work == "query" ? "bench" : "ingest" }
    }
}

func halfFloats(_ path: String, dimension: Int, limit: Int) throws -> [[Float]] {
    let data = try Data(contentsOf: URL(fileURLWithPath: path))
    let count = min(limit, data.count / (2 * dimension))
    return data.withUnsafeBytes { raw in
        (0..<count).map { v in
            (0..<dimension).map { d in Float(Float16(bitPattern: raw.loadUnaligned(fromByteOffset: (v * dimension + d) * 2, as: UInt16.self))) }
        }
    }
}

func fvecs(_ path: String) throws -> [[Float]] {
    let data = try Data(contentsOf: URL(fileURLWithPath: path))
    return data.withUnsafeBytes { raw in
        var out: [[Float]] = []
        var at = 0
        while at + 4 <= raw.count {
            let d = Int(raw.loadUnaligned(fromByteOffset: at, as: Int32.self))
            out.append((0..<d).map { raw.loadUnaligned(fromByteOffset: at + 4 + 4 * $0, as: Float.self) })
            at += 4 + 4 * d
        }
        return out
    }
}

func percentile(_ sorted: [Double], _ p: Double) -> Double {
    sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, Int(p * Double(sorted.count - 1)))]
}

/// One client's calls: the request for call number `i`, and the points it carries.
struct Work: Sendable {
    let method: MethodDescriptor
    let pointsPerCall: Int
    let call: @Sendable (GRPCClient<HTTP2ClientTransport.Posix>, Int) async throws -> Void
}

@Sendable func point(_ v: [Float], _ id: Int) -> Qdrant_PointStruct {
    var p = Qdrant_PointStruct()
    p.id.num = UInt64(id)
    p.vectors.vector.dense.data = v
    return p
}

func makeWork(_ o: Options) throws -> Work {
    switch o.work {
    case "query":
        let queries = try fvecs(o.queries)
        let method = MethodDescriptor(fullyQualifiedService: "qdrant.Points", method: "Query")
        return Work(method: method, pointsPerCall: 1) { client, i in
            var q = Qdrant_QueryPoints()
            q.collectionName = o.collection
            q.query.nearest.dense.data = queries[i % queries.count]
            q.limit = 10
            _ = try await client.unary(
                request: ClientRequest(message: q), descriptor: method, serializer: ProtobufSerializer<Qdrant_QueryPoints>(),
                deserializer: ProtobufDeserializer<Qdrant_QueryResponse>(), options: .defaults) { try $0.message }
        }
    case "upsert", "upsert64":
        let batch = o.work == "upsert" ? 1 : 64
        let vectors = try halfFloats(o.base, dimension: o.dimension, limit: 20 * 64)
        let method = MethodDescriptor(fullyQualifiedService: "qdrant.Points", method: "Upsert")
        return Work(method: method, pointsPerCall: batch) { client, i in
            var u = Qdrant_UpsertPoints()
            u.collectionName = o.collection
            u.wait = true
            u.points = (0..<batch).map { k in point(vectors[(i * batch + k) % vectors.count], i * batch + k) }
            _ = try await client.unary(
                request: ClientRequest(message: u), descriptor: method, serializer: ProtobufSerializer<Qdrant_UpsertPoints>(),
                deserializer: ProtobufDeserializer<Qdrant_PointsOperationResponse>(), options: .defaults) { try $0.message }
        }
    default:
        fatalError("unknown work \(o.work): query, upsert, upsert64")
    }
}

final class Tally: Sendable {
    let latencies = Mutex<[Double]>([])
    let errors = Atomic<Int>(0)
}

let options = Options(CommandLine.arguments)
let work = try makeWork(options)
let tally = Tally()
let start = ContinuousClock.now
let deadline = start + .milliseconds(Int(options.seconds * 1000))
try await withThrowingTaskGroup(of: Void.self) { group in
    for c in 0..<options.clients {
        group.addTask {
            let transport = try HTTP2ClientTransport.Posix(target: .ipv4(address: "127.0.0.1", port: options.port), transportSecurity: .plaintext)
            try await withGRPCClient(transport: transport) { client in
                var mine: [Double] = []
                var i = c * 1_000_000
                while ContinuousClock.now < deadline {
                    let t = ContinuousClock.now
                    do { try await work.call(client, i) } catch { tally.errors.add(1, ordering: .relaxed) }
                    let d = ContinuousClock.now - t
                    mine.append(Double(d.components.seconds) * 1e3 + Double(d.components.attoseconds) / 1e15)
                    i += 1
                }
                tally.latencies.withLock { $0 += mine }
            }
        }
    }
    try await group.waitForAll()
}
let elapsed = ContinuousClock.now - start
let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
let sorted = tally.latencies.withLock { $0.sorted() }
let rate = Double(sorted.count) / seconds
print(String(
    format: "{\"kind\":\"grpc_%@\",\"clients\":%d,\"requests_per_s\":%.1f,\"points_per_s\":%.1f,\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"errors\":%d,\"seconds\":%.2f}",
    options.work, options.clients, rate, rate * Double(work.pointsPerCall), percentile(sorted, 0.5), percentile(sorted, 0.99),
    tally.errors.load(ordering: .relaxed), seconds))
