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
        let elapsed = DispatchTime.now().uptimeNanoseconds - start
        let key = RestSeries.Key(method: request.method.rawValue, path: context.endpointPath ?? "unknown", status: response.status.code)
        let series = restSeries.withLock { all in
            if let known = all[key] { return known }
            let made = RestSeries(key)
            all[key] = made
            return made
        }
        series.record(nanoseconds: elapsed)
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

/// The metrics of one (method, endpoint, status): their handles made once (a lookup in the
/// metrics registry per request cost more than the search it measured on a small collection),
/// and the durations behind the min/avg/max gauges.
final class RestSeries: Sendable {
    struct Key: Hashable, Sendable {
        let method: String
        let path: String
        let status: Int
    }

    private let total: Counter
    private let fail: Counter?
    private let duration: Timer
    private let minimum, average, maximum: Gauge
    private let durations = Mutex(RestDurations())

    init(_ key: Key) {
        let dimensions = [("method", key.method), ("endpoint", QdrantMetricsMiddleware<BasicRequestContext>.qdrantPattern(key.path)),
                          ("status", String(key.status))]
        total = Counter(label: "rest_responses_total", dimensions: dimensions)
        fail = key.status >= 400 ? Counter(label: "rest_responses_fail_total", dimensions: dimensions) : nil
        duration = Timer(label: "rest_responses_duration_seconds", dimensions: dimensions, preferredDisplayUnit: .seconds)
        minimum = Gauge(label: "rest_responses_min_duration_seconds", dimensions: dimensions)
        average = Gauge(label: "rest_responses_avg_duration_seconds", dimensions: dimensions)
        maximum = Gauge(label: "rest_responses_max_duration_seconds", dimensions: dimensions)
    }

    func record(nanoseconds elapsed: UInt64) {
        total.increment()
        fail?.increment()
        duration.recordNanoseconds(Int64(elapsed))
        let d = durations.withLock { d in
            d.add(Double(elapsed) / 1e9)
            return d
        }
        minimum.record(d.min)
        average.record(d.sum / Double(d.count))
        maximum.record(d.max)
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
let restSeries = Mutex<[RestSeries.Key: RestSeries]>([:])
