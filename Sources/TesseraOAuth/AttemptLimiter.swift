import Foundation
import Synchronization

/// Limits password-bearing requests per client and per address (token buckets), answering `429` with
/// `Retry-After` once a bucket is empty. Buckets live in memory, per node, in shards so concurrent
/// requests for different keys do not contend on one lock.
public final class AttemptLimiter: Sendable {
    struct Bucket {
        var tokens: Double
        var updated: ContinuousClock.Instant
    }

    /// Attempts allowed in a burst, refilled at `perMinute` a minute.
    public let burst: Int
    public let perMinute: Int
    private final class Shard: Sendable {
        let buckets = Mutex<[String: Bucket]>([:])
    }

    private let shards: [Shard]
    /// Each shard forgets full buckets past this many entries, bounding memory under a flood of keys.
    static let maximumEntriesPerShard = 4096

    public init(perMinute: Int, burst: Int? = nil, shards: Int = 16) {
        self.perMinute = max(1, perMinute)
        self.burst = max(1, burst ?? perMinute)
        self.shards = (0..<max(1, shards)).map { _ in Shard() }
    }

    /// Takes one attempt from every bucket named, or throws `slow_down` (429) without taking any.
    public func admit(keys: [String], now: ContinuousClock.Instant = .now) throws(OAuthError) {
        var wait = 0.0
        for key in keys {
            let shard = shards[Int(UInt(bitPattern: key.hashValue) % UInt(shards.count))]
            let needed = shard.buckets.withLock { buckets -> Double in
                var bucket = refilled(buckets[key], at: now)
                guard bucket.tokens >= 1 else { return (1 - bucket.tokens) * 60 / Double(perMinute) }
                bucket.tokens -= 1
                if buckets.count >= Self.maximumEntriesPerShard, buckets[key] == nil {
                    buckets = buckets.filter { refilled($0.value, at: now).tokens < Double(burst) }
                }
                buckets[key] = bucket
                return 0
            }
            wait = max(wait, needed)
        }
        if wait > 0 { throw .tooManyRequests(retryAfter: Int(wait.rounded(.up))) }
    }

    private func refilled(_ bucket: Bucket?, at now: ContinuousClock.Instant) -> Bucket {
        guard let bucket else { return Bucket(tokens: Double(burst), updated: now) }
        let elapsed = now - bucket.updated
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        return Bucket(tokens: min(Double(burst), bucket.tokens + seconds * Double(perMinute) / 60), updated: now)
    }
}
