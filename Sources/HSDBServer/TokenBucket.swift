/// Qdrant's rate limiter (`RateLimiter::new_per_minute`): a bucket of `capacity` tokens that
/// starts full and refills at `capacity` per minute, so a burst of a minute's worth passes at
/// once and the rest is spread out. Time is passed in (`now`), so tests can step it.
struct TokenBucket: Sendable {
    /// What a request asked of the bucket.
    enum Outcome: Equatable {
        case allowed
        /// The cost is over the capacity: no wait will let it pass.
        case neverFits
        /// Not enough tokens now: `available` were there, and the missing ones refill after `retryAfter`.
        case retry(available: Double, retryAfter: Duration)
    }

    let capacity: Int
    private var tokens: Double
    private var refilledAt: ContinuousClock.Instant

    /// REQUIRES: `perMinute` >= 1 (strict mode refuses 0).
    init(perMinute: Int, now: ContinuousClock.Instant) {
        precondition(perMinute >= 1, "a rate limit allows at least one token a minute")
        capacity = perMinute
        tokens = Double(perMinute)
        refilledAt = now
    }

    private var tokensPerSecond: Double { Double(capacity) / 60 }

    /// Takes `cost` tokens if the bucket holds them; otherwise takes nothing.
    mutating func consume(_ cost: Int, now: ContinuousClock.Instant) -> Outcome {
        guard cost <= capacity else { return .neverFits }
        let elapsed = now - refilledAt
        refilledAt = now
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
        tokens = min(Double(capacity), tokens + tokensPerSecond * max(0, seconds))
        if tokens >= Double(cost) {
            tokens -= Double(cost)
            return .allowed
        }
        let missing = Double(cost) - tokens
        return .retry(available: tokens, retryAfter: .seconds(missing / tokensPerSecond))
    }
}
