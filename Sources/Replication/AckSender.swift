import Synchronization

/// Sends a stream's acknowledgements beside it, so applying frames never waits on one: the
/// stream offers its latest durable and applied LSNs, and the sender sends the newest offer
/// whenever the previous acknowledgement is done (offers in between are folded into it).
/// A failed acknowledgement is kept for the stream to throw, which ends the connection.
final class AckSender: Sendable {
    private let latest = Mutex<(durable: UInt64, applied: UInt64)?>(nil)
    private let failed = Mutex<(any Error)?>(nil)
    private let wakeups: AsyncStream<Void>
    private let wake: AsyncStream<Void>.Continuation

    init() {
        (wakeups, wake) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    func offer(durable: UInt64, applied: UInt64) {
        latest.withLock { $0 = (durable, applied) }
        wake.yield()
    }

    /// The error of the last acknowledgement that failed, if one did.
    var failure: (any Error)? { failed.withLock { $0 } }

    /// Sends offers with `send` until cancelled or one fails.
    func run(_ send: @Sendable (UInt64, UInt64) async throws -> Void) async {
        for await _ in wakeups {
            guard let offer = latest.withLock({ o -> (durable: UInt64, applied: UInt64)? in
                defer { o = nil }
                return o
            }) else { continue }
            do {
                try await send(offer.durable, offer.applied)
            } catch {
                failed.withLock { $0 = error }
                return
            }
        }
    }

    func finish() { wake.finish() }
}
