/// Qdrant's REST families in `/metrics`, which dashboards built for Qdrant read:
/// `rest_responses_total`, `rest_responses_fail_total` (status 400 or above), the
/// `rest_responses_{avg,min,max}_duration_seconds` gauges and the
/// `rest_responses_duration_seconds` histogram, by `method`, `endpoint` (the route pattern
/// with Qdrant's parameter names) and `status`. With `?per_collection=true`, as Qdrant, the
/// lines are per collection instead (a `collection` label) and routes without one are left out.
extension PrometheusText {
    mutating func restResponses(_ statistics: RouteStatistics, perCollection: Bool) {
        responses("rest", statistics, perCollection: perCollection) { $0 >= 400 }
    }

    /// Qdrant's gRPC families, `grpc_responses_*`, by `endpoint` (the method's path) and
    /// `status` (the gRPC code; anything but 0 fails).
    mutating func grpcResponses(_ statistics: RouteStatistics) {
        responses("grpc", statistics, perCollection: false) { $0 != 0 }
    }

    private mutating func responses(
        _ api: String, _ statistics: RouteStatistics, perCollection: Bool, failed: (Int) -> Bool
    ) {
        var series: [Series] = []
        func add(_ byEndpoint: [String: [Int: ResponseStatistics]], collection: String?) {
            for (endpoint, byStatus) in byEndpoint.sorted(by: { $0.key < $1.key }) {
                let (method, pattern) = Self.split(endpoint)
                for (status, stats) in byStatus.sorted(by: { $0.key < $1.key }) {
                    var labels = [("endpoint", pattern), ("status", String(status))]
                    if !method.isEmpty { labels.insert(("method", method), at: 0) }
                    if let collection { labels.append(("collection", collection)) }
                    series.append(Series(labels: labels, status: status, stats: stats))
                }
            }
        }
        if perCollection {
            for (collection, byEndpoint) in statistics.byCollection().sorted(by: { $0.key < $1.key }) { add(byEndpoint, collection: collection) }
        } else {
            add(statistics.byEndpoint(), collection: nil)
        }
        func lines(_ value: (ResponseStatistics) -> String) -> [(labels: String, value: String)] {
            series.map { (Self.joinedLabels($0.labels), value($0.stats)) }
        }
        family("\(api)_responses_total", "counter", "total number of responses", lines { String($0.count) })
        family("\(api)_responses_fail_total", "counter", "total number of failed responses",
               series.filter { failed($0.status) }.map { (Self.joinedLabels($0.labels), String($0.stats.count)) })
        family("\(api)_responses_avg_duration_seconds", "gauge", "average response duration", lines { "\($0.averageMicros / 1e6)" })
        family("\(api)_responses_min_duration_seconds", "gauge", "minimum response duration", lines { "\($0.minMicros / 1e6)" })
        family("\(api)_responses_max_duration_seconds", "gauge", "maximum response duration", lines { "\($0.maxMicros / 1e6)" })
        histogram("\(api)_responses_duration_seconds", "response duration histogram", series)
    }

    /// One (endpoint, status[, collection]) line set.
    private struct Series {
        let labels: [(String, String)]
        let status: Int
        let stats: ResponseStatistics
    }

    /// A histogram family from response statistics: `_bucket` lines per bound and `+Inf`,
    /// `_sum` (seconds) and `_count`.
    private mutating func histogram(_ name: String, _ help: String, _ series: [Series]) {
        guard !series.isEmpty else { return }
        header(name, "histogram", help)
        for s in series {
            let (base, stats) = (Self.joinedLabels(s.labels), s.stats)
            for (bound, n) in zip(ResponseStatistics.bucketBoundsSeconds, stats.cumulativeBuckets) {
                sample(name + "_bucket", labels: base + ",le=\"\(bound)\"", String(n))
            }
            sample(name + "_bucket", labels: base + ",le=\"+Inf\"", String(stats.count))
            sample(name + "_sum", labels: base, "\(Double(stats.totalNanoseconds) / 1e9)")
            sample(name + "_count", labels: base, String(stats.count))
        }
    }

    /// `a="x",b="y"` from pairs, values escaped.
    static func joinedLabels(_ pairs: [(String, String)]) -> String {
        pairs.map { "\($0.0)=\"\(ServerMetrics.labelEscaped($0.1))\"" }.joined(separator: ",")
    }

    /// `PUT /collections/{collection_name}/points` as its method and pattern.
    private static func split(_ endpoint: String) -> (String, String) {
        guard let space = endpoint.firstIndex(of: " ") else { return ("", endpoint) }
        return (String(endpoint[..<space]), String(endpoint[endpoint.index(after: space)...]))
    }
}
