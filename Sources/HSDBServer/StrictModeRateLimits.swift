import HSDB
import HTTPTypes
import Synchronization

/// Strict mode's `read_rate_limit` and `write_rate_limit`: one token bucket per collection
/// and kind, kept by collection name. A bucket is made full when first needed and made anew
/// when its limit changes or the collection's strict mode is patched, created or dropped (as
/// Qdrant rebuilds its limiters on every strict mode update). Only the server that takes the
/// request counts it; followers apply writes without counting them.
final class StrictModeRateLimits: Sendable {
    enum Kind: String, Sendable {
        case read = "Read", write = "Write"
    }

    private struct Key: Hashable {
        let collection: String
        let kind: Kind
    }

    private let buckets = Mutex<[Key: TokenBucket]>([:])

    /// Takes `cost` tokens from the collection's `kind` bucket of `perMinute`, or throws
    /// Qdrant's 429.
    func consume(_ cost: Int, _ kind: Kind, collection: String, perMinute: Int, now: ContinuousClock.Instant = .now) throws {
        let outcome = buckets.withLock { all -> TokenBucket.Outcome in
            let key = Key(collection: collection, kind: kind)
            var bucket = all[key].flatMap { $0.capacity == perMinute ? $0 : nil } ?? TokenBucket(perMinute: perMinute, now: now)
            let outcome = bucket.consume(cost, now: now)
            all[key] = bucket
            return outcome
        }
        if let error = Self.refusal(outcome, kind, cost: cost) { throw error }
    }

    /// Forgets the collection's buckets: the next request starts with full ones.
    func reset(_ collection: String) {
        buckets.withLock { all in
            all[Key(collection: collection, kind: .read)] = nil
            all[Key(collection: collection, kind: .write)] = nil
        }
    }

    /// Qdrant's texts (`CollectionError::rate_limit_error`), 429 with `Retry-After` in whole seconds.
    static func refusal(_ outcome: TokenBucket.Outcome, _ kind: Kind, cost: Int) -> APIError? {
        switch outcome {
        case .allowed:
            return nil
        case .neverFits:
            return APIError(
                status: .tooManyRequests,
                message: "Rate limiting exceeded: \(kind.rawValue) rate limit exceeded, request larger than rate limiter capacity, please try to split your request")
        case .retry(let available, let after):
            let seconds = Int((Double(after.components.seconds) + Double(after.components.attoseconds) * 1e-18).rounded(.up))
            let tokens = (available * 10).rounded() / 10  // Rust's `{:.1}`
            var error = APIError(
                status: .tooManyRequests,
                message: "Rate limiting exceeded: \(kind.rawValue) rate limit exceeded: Operation requires \(cost) tokens but only \(tokens) were available. Retry after \(seconds)s")
            error.retryAfterSeconds = seconds
            return error
        }
    }
}

extension StrictMode {
    /// Charges a read against `read_rate_limit`, if set; `cost` is only worked out then.
    func chargeRead(_ cost: @autoclosure () -> Int, on c: Collection, _ limits: StrictModeRateLimits) throws {
        guard let perMinute = count("read_rate_limit") else { return }
        try limits.consume(cost(), .read, collection: c.name, perMinute: perMinute)
    }

    /// Charges a query: the points it names are looked up first, then its searches run.
    func chargeRead(_ q: QueryRequest, on c: Collection, _ limits: StrictModeRateLimits) throws {
        guard let perMinute = count("read_rate_limit") else { return }
        let cost = StrictModeReadCost(config: c.config) { id, lane in
            let name = c.config.namedVectors[lane - 1].name
            return (try? c.get(ids: [id], projection: Projection(withVector: true, withPayload: false)))?.first?.named?[name]
        }.cost(q)
        if cost.lookups > 0 { try limits.consume(cost.lookups, .read, collection: c.name, perMinute: perMinute) }
        try limits.consume(cost.search, .read, collection: c.name, perMinute: perMinute)
    }

    /// Charges a write against `write_rate_limit`, if set: one token per point it touches
    /// (at least one), estimated for a filter as Qdrant estimates it.
    func chargeWrite(_ operation: WriteOperation, on c: Collection, _ limits: StrictModeRateLimits) throws {
        guard let perMinute = count("write_rate_limit") else { return }
        try limits.consume(max(1, StrictModeWriteCost.points(operation, in: c, schema: schema)), .write, collection: c.name, perMinute: perMinute)
    }
}
