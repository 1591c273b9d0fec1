import Foundation
import Synchronization
public import TesseraCore

/// Limits password-bearing requests per client and per address (token buckets), answering `429` with
/// `Retry-After` once a bucket is empty. User passwords count every attempt (per address and per
/// account); client secrets (256 random bits, so guessing is hopeless) count only failures, per address,
/// so a busy client with a valid secret is never slowed down and nobody can shut it out. Buckets live in memory, per node, in shards so concurrent
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

    /// The bucket of the person a sign-in name stands for, however it is written: case, surrounding
    /// spaces (which directories ignore) and a managed domain make no difference (`Jane`, ` jane`,
    /// `jane@appleid.example.com` share one bucket).
    public static func accountKey(_ name: String, managedDomains: ManagedDomains) -> String {
        var key = name.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
        if let at = key.lastIndex(of: "@"), managedDomains.contains(String(key[key.index(after: at)...])) {
            key = String(key[..<at])
        }
        return "account:" + key
    }

    /// Takes one attempt from every bucket named; throws `slow_down` (429) when one is empty.
    public func admit(keys: [String], now: ContinuousClock.Instant = .now) throws(OAuthError) {
        var wait = 0.0
        for key in keys {
            // Check and take under the bucket's lock, so concurrent attempts cannot overdraw it.
            let needed = shard(key).buckets.withLock { buckets -> Double in
                var bucket = refilled(buckets[key], at: now)
                guard bucket.tokens >= 1 else { return (1 - bucket.tokens) * 60 / Double(perMinute) }
                bucket.tokens -= 1
                store(bucket, for: key, in: &buckets, at: now)
                return 0
            }
            wait = max(wait, needed)
        }
        if wait > 0 { throw .tooManyRequests(retryAfter: Int(wait.rounded(.up))) }
    }

    /// Throws `slow_down` (429) when the bucket is empty, taking nothing.
    public func check(key: String, now: ContinuousClock.Instant? = nil) throws(OAuthError) {
        let wait = shard(key).buckets.withLock { buckets -> Double in
            guard let bucket = buckets[key] else { return 0 }  // never drawn from: full
            let refilled = refilled(bucket, at: now ?? .now)
            return refilled.tokens >= 1 ? 0 : (1 - refilled.tokens) * 60 / Double(perMinute)
        }
        if wait > 0 { throw .tooManyRequests(retryAfter: Int(wait.rounded(.up))) }
    }

    /// Takes one attempt from every bucket named (down to empty).
    public func recordAttempt(keys: [String], now: ContinuousClock.Instant = .now) {
        for key in keys {
            shard(key).buckets.withLock { buckets in
                var bucket = refilled(buckets[key], at: now)
                bucket.tokens = max(0, bucket.tokens - 1)
                store(bucket, for: key, in: &buckets, at: now)
            }
        }
    }

    private func store(
        _ bucket: Bucket, for key: String, in buckets: inout [String: Bucket], at now: ContinuousClock.Instant
    ) {
        if buckets.count >= Self.maximumEntriesPerShard, buckets[key] == nil {
            buckets = buckets.filter { refilled($0.value, at: now).tokens < Double(burst) }
        }
        buckets[key] = bucket
    }

    private func shard(_ key: String) -> Shard {
        shards[Int(UInt(bitPattern: key.hashValue) % UInt(shards.count))]
    }

    private func refilled(_ bucket: Bucket?, at now: ContinuousClock.Instant) -> Bucket {
        guard let bucket else { return Bucket(tokens: Double(burst), updated: now) }
        let elapsed = now - bucket.updated
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        return Bucket(tokens: min(Double(burst), bucket.tokens + seconds * Double(perMinute) / 60), updated: now)
    }
}
