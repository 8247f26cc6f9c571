import Dispatch
import Hummingbird
import Metrics
import Synchronization

/// Qdrant's own REST metric families, which dashboards built for Qdrant read:
/// `rest_responses_total`, `rest_responses_fail_total` (status 400 or above), the
/// `rest_responses_duration_seconds` histogram and the `rest_responses_{min,avg,max}_duration_seconds`
/// gauges, by method, endpoint (the route pattern) and status. hsdb's own (`hb_requests`,
/// `http_server_request_duration`) stay beside them.
struct QdrantMetricsMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = DispatchTime.now().uptimeNanoseconds
        let response = try await next(request, context)  // errors became envelopes further in
        let dimensions = [
            ("method", request.method.rawValue), ("endpoint", Self.qdrantPattern(context.endpointPath ?? "unknown")),
            ("status", String(response.status.code)),
        ]
        let elapsed = DispatchTime.now().uptimeNanoseconds - start
        Counter(label: "rest_responses_total", dimensions: dimensions).increment()
        if response.status.code >= 400 { Counter(label: "rest_responses_fail_total", dimensions: dimensions).increment() }
        Timer(label: "rest_responses_duration_seconds", dimensions: dimensions, preferredDisplayUnit: .seconds)
            .recordNanoseconds(Int64(elapsed))
        let d = restDurations.withLock { all in
            let key = dimensions.map(\.1).joined(separator: "\u{0}")
            all[key, default: RestDurations()].add(Double(elapsed) / 1e9)
            return all[key]!
        }
        Gauge(label: "rest_responses_min_duration_seconds", dimensions: dimensions).record(d.min)
        Gauge(label: "rest_responses_avg_duration_seconds", dimensions: dimensions).record(d.sum / Double(d.count))
        Gauge(label: "rest_responses_max_duration_seconds", dimensions: dimensions).record(d.max)
        return response
    }

    /// The route pattern with Qdrant's parameter names (`/collections/{name}/points/{id}`,
    /// `.../index/{field_name}`, `.../snapshots/{snapshot_name}`), so label filters written
    /// for Qdrant match.
    static func qdrantPattern(_ path: String) -> String {
        guard path.hasPrefix("/collections/") else { return path }
        return path.replacingOccurrences(of: "{collection}", with: "{name}")
            .replacingOccurrences(of: "{field}", with: "{field_name}")
            .replacingOccurrences(of: "{snapshot}", with: "{snapshot_name}")
    }
}

/// Durations of the responses of one (method, endpoint, status), for the min/avg/max gauges.
struct RestDurations {
    var count = 0
    var sum = 0.0
    var min = Double.infinity
    var max = 0.0

    mutating func add(_ seconds: Double) {
        count += 1
        sum += seconds
        min = Swift.min(min, seconds)
        max = Swift.max(max, seconds)
    }
}

/// Every (method, endpoint, status) seen since the server started.
let restDurations = Mutex<[String: RestDurations]>([:])
