import GRPCCore
import GRPCNIOTransportHTTP2Posix
import Logging
import ServiceLifecycle

/// Qdrant's gRPC API on its own port (6334 by default), a service beside the REST server in
/// its process: every call is answered by the REST routes through `GRPCBridge`, so both APIs
/// share one engine, one set of checks and one shutdown. Plain HTTP/2 (no TLS, as on the REST
/// port). Methods not yet answered get gRPC's UNIMPLEMENTED.
struct GRPCEndpoint: Service {
    let server: GRPCServer<HTTP2ServerTransport.Posix>
    let port: Int
    let logger: Logger
    /// Receives the bound port once the listener is up.
    let onListening: @Sendable (Int) -> Void

    init(
        host: String, port: Int, bridge: GRPCBridge, maxMessageBytes: Int, statistics: RouteStatistics, logger: Logger,
        onListening: @escaping @Sendable (Int) -> Void
    ) {
        var config = HTTP2ServerTransport.Posix.Config.defaults
        config.rpc.maxRequestPayloadSize = maxMessageBytes
        let transport = HTTP2ServerTransport.Posix(
            address: .ipv4(host: host, port: port), transportSecurity: .plaintext, config: config)
        server = GRPCServer(
            transport: transport,
            services: [
                GRPCHealthService(bridge: bridge), GRPCCollectionsService(bridge: bridge), GRPCPointsService(bridge: bridge),
                GRPCSnapshotsService(bridge: bridge),
            ],
            interceptors: [GRPCMetricsInterceptor(statistics: statistics), GRPCCredentialsInterceptor()])
        self.port = port
        self.logger = logger
        self.onListening = onListening
    }

    /// Serves until a graceful shutdown (calls in flight finish). A port that cannot be bound
    /// is logged and the REST server goes on without gRPC.
    func run() async throws {
        let reporting = Task { [server, onListening] in
            guard let address = try? await server.transport.listeningAddress,
                  let bound = address.ipv4?.port ?? address.ipv6?.port else { return }
            onListening(bound)
        }
        defer { reporting.cancel() }
        do {
            try await withGracefulShutdownHandler {
                try await server.serve()
            } onGracefulShutdown: { [server] in
                server.beginGracefulShutdown()
            }
        } catch {
            logger.warning("could not serve gRPC on port \(port): \(error); gRPC clients will see the connection refused (--grpc-port, --no-grpc)")
        }
    }
}
