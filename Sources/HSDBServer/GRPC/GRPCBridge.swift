import Dispatch
import Foundation
import GRPCCore
import HSDBCore
import HTTPTypes
import Hummingbird
import Logging

/// A gRPC call answered by the REST API in process (DESIGN.md, "gRPC API"): the request is
/// turned into the REST route's JSON, sent through the same router (API key, cluster and
/// follower rules, the handlers, their checks and messages), and the JSON answer turned into
/// the reply. One implementation behind both APIs; an error keeps its message and takes the
/// gRPC status Qdrant gives the same error.
struct GRPCBridge: Sendable {
    let responder: RouterResponder<HSDBRequestContext>
    let logger: Logger

    /// The `api-key` (or `authorization`) metadata of the call being answered.
    @TaskLocal static var credentials: HTTPFields = [:]
    /// Set while a gRPC call is answered (its REST requests are not counted as REST ones).
    @TaskLocal static var answering = false

    /// The envelope's `result` and `time` of `method path` with `body`, or the REST error as an
    /// `RPCError`. `enveloped: false`: a route answering bare JSON (the root), returned whole.
    func call(
        _ method: HTTPRequest.Method, _ path: String, body: JSONValue? = nil, enveloped: Bool = true
    ) async throws -> (result: JSONValue, time: Double) {
        if let body, GRPCJSON.nests(body, deeperThan: JSONParser.defaultMaxDepth) {
            // What REST's parser refuses, refused here too (protobuf's own limit is deeper).
            throw RPCError(code: .invalidArgument, message: "Format error in JSON body: JSON nests deeper than \(JSONParser.defaultMaxDepth) levels")
        }
        // The body goes over parsed: no JSON text is written or read for it (the floats of an
        // upsert stay binary until the engine's decoder takes them).
        let answer = try await InProcessCall.send(
            method, path, body: body.map { _ in [] }, parsed: body, headers: Self.credentials, to: responder,
            context: HSDBRequestContext(inProcess: logger))
        let envelope = try? answer.body.withUnsafeReadableBytes { try JSONParser.parse($0) }
        guard case .object(let top)? = envelope else {
            throw RPCError(code: Self.code(answer.status), message: String(buffer: answer.body))
        }
        if !enveloped, (200..<300).contains(answer.status.code) { return (.object(top), 0) }
        let time = GRPCJSON.double(top["time"]) ?? 0
        guard (200..<300).contains(answer.status.code), let result = top["result"] else {
            var message = "\(answer.status.reasonPhrase)"
            if case .object(let status)? = top["status"], case .string(let error)? = status["error"] { message = error }
            throw RPCError(code: Self.code(answer.status), message: message)
        }
        return (result, time)
    }

    /// The gRPC status Qdrant gives the error a REST status stands for.
    static func code(_ status: HTTPResponse.Status) -> RPCError.Code {
        switch status.code {
        case 400, 422: .invalidArgument
        case 401: .unauthenticated
        case 403: .permissionDenied
        case 404: .notFound
        case 408: .deadlineExceeded
        case 409: .alreadyExists
        case 413, 429: .resourceExhausted
        case 501: .unimplemented
        case 503: .unavailable
        default: .internalError
        }
    }

    /// A collection name as one path segment.
    static func segment(_ s: String) -> String { ShardCoordinator.segment(s) }
}

/// Hands each call's credentials to the bridge, which sends them on as the REST headers.
struct GRPCCredentialsInterceptor: ServerInterceptor {
    func intercept<Input: Sendable, Output: Sendable>(
        request: StreamingServerRequest<Input>, context: ServerContext,
        next: (StreamingServerRequest<Input>, ServerContext) async throws -> StreamingServerResponse<Output>
    ) async throws -> StreamingServerResponse<Output> {
        var fields: HTTPFields = [:]
        if let key = request.metadata[stringValues: "api-key"].first(where: { _ in true }) { fields[HTTPField.Name("api-key")!] = key }
        if let auth = request.metadata[stringValues: "authorization"].first(where: { _ in true }) { fields[.authorization] = auth }
        return try await GRPCBridge.$credentials.withValue(fields) { try await next(request, context) }
    }
}

/// Counts each call in `/metrics`' `grpc_responses_*` and `/telemetry`'s `requests.grpc`, by
/// method path and gRPC status; the REST requests the call becomes are not counted as REST.
struct GRPCMetricsInterceptor: ServerInterceptor {
    let statistics: RouteStatistics

    func intercept<Input: Sendable, Output: Sendable>(
        request: StreamingServerRequest<Input>, context: ServerContext,
        next: (StreamingServerRequest<Input>, ServerContext) async throws -> StreamingServerResponse<Output>
    ) async throws -> StreamingServerResponse<Output> {
        let start = DispatchTime.now().uptimeNanoseconds
        let response: StreamingServerResponse<Output>
        do {
            response = try await GRPCBridge.$answering.withValue(true) { try await next(request, context) }
        } catch let error as RPCError {
            record(context, code: error.code.rawValue, since: start)
            throw error
        }
        let code = switch response.accepted { case .success: 0; case .failure(let e): e.code.rawValue }
        record(context, code: code, since: start)
        return response
    }

    private func record(_ context: ServerContext, code: Int, since start: UInt64) {
        statistics.record(
            method: "", route: "/" + context.descriptor.fullyQualifiedMethod, status: code, collection: nil,
            nanoseconds: DispatchTime.now().uptimeNanoseconds - start, respondedAt: Date().timeIntervalSince1970)
    }
}
