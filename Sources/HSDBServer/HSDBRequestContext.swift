import Hummingbird
import Logging
import NIOCore

/// The request context of hsdb's routes: Hummingbird's basic one plus the connection's
/// channel, which `EarlyRefusalMiddleware` needs to answer and end a connection itself. A
/// request made in process (a gRPC call, a read of this node's own shard copy) has no
/// connection of its own.
struct HSDBRequestContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    let channel: (any Channel)?

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }

    /// The context of a request made in process.
    init(inProcess logger: Logger) {
        coreContext = .init(source: InProcessSource(logger: logger))
        channel = nil
    }

    struct InProcessSource: RequestContextSource {
        let logger: Logger
    }
}
