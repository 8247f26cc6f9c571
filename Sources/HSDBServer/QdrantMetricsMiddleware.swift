import Dispatch
import Hummingbird
import Metrics

/// Qdrant's own REST metric families, which dashboards built for Qdrant read:
/// `rest_responses_total` and the `rest_responses_duration_seconds` histogram, by method,
/// endpoint (the route pattern) and status. hsdb's own (`hb_requests`,
/// `http_server_request_duration`) stay beside them.
struct QdrantMetricsMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = DispatchTime.now().uptimeNanoseconds
        let response = try await next(request, context)  // errors became envelopes further in
        let dimensions = [
            ("method", request.method.rawValue), ("endpoint", context.endpointPath ?? "unknown"),
            ("status", String(response.status.code)),
        ]
        Counter(label: "rest_responses_total", dimensions: dimensions).increment()
        Timer(label: "rest_responses_duration_seconds", dimensions: dimensions, preferredDisplayUnit: .seconds)
            .recordNanoseconds(Int64(DispatchTime.now().uptimeNanoseconds - start))
        return response
    }
}
