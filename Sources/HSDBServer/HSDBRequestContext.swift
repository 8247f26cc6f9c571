import Hummingbird
import NIOCore

/// The request context of hsdb's routes: Hummingbird's basic one plus the connection's
/// channel, which `EarlyRefusalMiddleware` needs to answer and end a connection itself.
struct HSDBRequestContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    let channel: any Channel

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }
}
