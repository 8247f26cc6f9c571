import Dispatch
import Foundation
import Hummingbird

/// Records every REST response in `RouteStatistics`, by route pattern, status and the
/// collection named in the path, as Qdrant's actix telemetry does: the figures behind
/// `/telemetry`'s `requests.rest` and `/metrics`' `rest_responses_*` families. hsdb's own
/// (`hb_requests`, `http_server_request_duration`) stay beside them.
struct QdrantMetricsMiddleware<Context: RequestContext>: RouterMiddleware {
    let statistics: RouteStatistics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = DispatchTime.now().uptimeNanoseconds
        let response = try await next(request, context)  // errors became envelopes further in
        // A gRPC call answered by these routes is counted as the gRPC call it is.
        if GRPCBridge.answering { return response }
        let elapsed = DispatchTime.now().uptimeNanoseconds - start
        // Router middleware runs after the route was resolved, so its parameters are known.
        let collection = context.parameters.get("collection").map { $0.removingPercentEncoding ?? $0 }
        statistics.record(
            method: request.method.rawValue, route: context.endpointPath ?? "unknown", status: response.status.code,
            collection: collection, nanoseconds: elapsed, respondedAt: Date().timeIntervalSince1970)
        return response
    }
}
