import Foundation
import HSDB
import Metrics
import Prometheus
import Synchronization

/// Prometheus metrics: HTTP requests and latencies (Hummingbird's metrics middleware through
/// swift-metrics), and the engine's counters read at scrape time.
final class ServerMetrics: Sendable {
    let registry: PrometheusCollectorRegistry
    /// REST responses by route, status and collection (`/telemetry`, `rest_responses_*`).
    let routes = RouteStatistics()
    /// gRPC calls by method path and gRPC status (`GRPCMetricsInterceptor`).
    let grpc = RouteStatistics()

    /// Engine counters as last scraped, per metric and collection, so Prometheus counters
    /// advance by the difference.
    private let lastCounts = Mutex<[String: Int]>([:])

    private init(registry: PrometheusCollectorRegistry) { self.registry = registry }

    private static let shared = Mutex<ServerMetrics?>(nil)

    /// The process's metrics; swift-metrics can be bootstrapped once per process.
    static func bootstrap() -> ServerMetrics {
        shared.withLock { current in
            if let current { return current }
            let registry = PrometheusCollectorRegistry()
            var factory = PrometheusMetricsFactory(registry: registry)
            factory.defaultDurationHistogramBuckets = [
                .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2.5), .milliseconds(5),
                .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500),
                .seconds(1), .seconds(2.5), .seconds(5), .seconds(10),
            ]
            factory.defaultValueHistogramBuckets = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024]
            MetricsSystem.bootstrap(factory)
            let metrics = ServerMetrics(registry: registry)
            current = metrics
            return metrics
        }
    }

    /// The text exposition of every metric, after refreshing the engine gauges from `db`,
    /// followed by Qdrant's server families (`app_info`, `collections_total`,
    /// `collections_vector_total`, `collection_points` by `id`) and REST families
    /// (`rest_responses_*`, per collection when `perCollection`), written fresh at each scrape
    /// so a dropped collection leaves no stale line.
    func exposition(_ db: Database, version: String, perCollection: Bool = false) throws -> [UInt8] {
        let collections = try db.listCollections()
        var points: [(String, Int)] = []
        for (name, _) in collections {
            if let c = try? db.collection(name) { points.append((name, c.statistics().points)) }
        }
        var qdrant = """
            # HELP app_info information about the server
            # TYPE app_info gauge
            app_info{name="hsdb",version="\(version)"} 1
            # HELP collections_total number of collections
            # TYPE collections_total gauge
            collections_total \(collections.count)
            # HELP collections_vector_total total number of vectors in all collections
            # TYPE collections_vector_total gauge
            collections_vector_total \(points.reduce(0) { $0 + $1.1 })
            # HELP collection_points number of points, per collection
            # TYPE collection_points gauge

            """
        for (name, n) in points { qdrant += "collection_points{id=\"\(Self.labelEscaped(name))\"} \(n)\n" }
        for (name, _) in collections {
            guard let c = try? db.collection(name) else { continue }
            let s = c.statistics()
            let wal = c.walStatistics
            let labels = [("collection", name)]
            func gauge(_ metric: String, _ help: String, _ value: Double) {
                registry.makeGauge(name: metric, labels: labels, help: help).set(value)
            }
            gauge("hsdb_points", "Live points.", Double(s.points))
            gauge("hsdb_segments", "Segment files.", Double(s.segments))
            gauge("hsdb_segment_bytes", "Bytes of segment files.", Double(s.segmentBytes))
            gauge("hsdb_memtable_bytes", "Bytes of writes in the active memtable.", Double(s.memtableBytes))
            gauge("hsdb_unflushed_bytes", "Bytes of writes not yet in segments.", Double(s.unflushedBytes))
            func counter(_ metric: String, _ help: String, _ value: Int) {
                let delta = lastCounts.withLock { last -> Int in
                    let key = metric + "\u{0}" + name
                    defer { last[key] = value }
                    return value - (last[key] ?? 0)
                }
                if delta > 0 { registry.makeCounter(name: metric, labels: labels, help: help).increment(by: Int64(delta)) }
            }
            counter("hsdb_flushes_total", "Memtable flushes.", s.flushes)
            counter("hsdb_compactions_total", "Segment compactions.", s.compactions)
            counter("hsdb_stalled_writes_total", "Writes that waited for flushes (write stalls).", s.stalledWrites)
            counter("hsdb_wal_appends_total", "Records appended to the WAL.", wal.recordsWritten)
            counter("hsdb_wal_bytes_total", "Bytes appended to the WAL.", wal.bytesWritten)
            counter("hsdb_wal_syncs_total", "WAL fdatasync calls (group commits).", wal.syncs)
            counter("hsdb_wal_sync_nanoseconds_total", "Time spent in WAL fdatasync.", wal.syncNanoseconds)
        }
        var rest = PrometheusText()
        rest.restResponses(routes, perCollection: perCollection)
        rest.grpcResponses(grpc)
        return registry.emitToBuffer() + Array((qdrant + rest.text).utf8)
    }

    /// A Prometheus label value: backslash, quote and newline escaped.
    static func labelEscaped(_ s: String) -> String {
        s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n")
    }
}
