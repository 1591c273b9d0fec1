#if canImport(FoundationEssentials)
    public import FoundationEssentials
#else
    public import Foundation
#endif

/// A token-signing key's place in its lifecycle (DESIGN.md "Signing keys"):
/// `next` (published, not signing) → `current` (signing) → `retired` (published until every token it
/// signed has expired) → removed.
public enum SigningKeyState: String, Sendable, CaseIterable, Codable {
    case next, current, retired
}

/// A signing key as stored: the private key sealed with the key-encryption key, the public half as a JWK.
public struct SigningKeyRecord: Sendable, Equatable, Identifiable {
    public var id: String  // the JWS `kid`
    public var algorithm: String
    public var state: SigningKeyState
    public var sealedPrivateKey: [UInt8]
    /// The public JWK as JSON text, served by the JWKS endpoint.
    public var publicJWK: String
    public var createdAt: Date
    /// When a `next` key starts signing.
    public var activatesAt: Date
    public var retiredAt: Date?
    /// When a retired key leaves the JWKS: every token it signed has expired by then.
    public var removeAfter: Date?

    public init(
        id: String, algorithm: String, state: SigningKeyState, sealedPrivateKey: [UInt8], publicJWK: String,
        createdAt: Date,
        activatesAt: Date, retiredAt: Date? = nil, removeAfter: Date? = nil
    ) {
        self.id = id
        self.algorithm = algorithm
        self.state = state
        self.sealedPrivateKey = sealedPrivateKey
        self.publicJWK = publicJWK
        self.createdAt = createdAt
        self.activatesAt = activatesAt
        self.retiredAt = retiredAt
        self.removeAfter = removeAfter
    }
}

/// The rules of rotation, as pure functions over the stored keys.
public enum KeyRotation {
    /// What must change at `now`: due `next` keys become `current` (the newest due one wins; an older
    /// current key retires), and retired keys past `removeAfter` are removed.
    public struct Plan: Sendable, Equatable {
        public var updates: [SigningKeyRecord] = []
        public var removals: [String] = []
        public var isEmpty: Bool { updates.isEmpty && removals.isEmpty }
    }

    /// - Parameter longestTokenLifetime: how long a token signed now can stay valid; a retiring key
    ///   stays published that long.
    public static func plan(_ keys: [SigningKeyRecord], at now: Date, longestTokenLifetime: Duration) -> Plan {
        var plan = Plan()
        let due = keys.filter { $0.state == .next && $0.activatesAt <= now }.max { $0.activatesAt < $1.activatesAt }
        if let promoted = due {
            var current = promoted
            current.state = .current
            plan.updates.append(current)
            for key in keys
            where key.state == .current || (key.state == .next && key.activatesAt < promoted.activatesAt) {
                plan.updates.append(retire(key, at: now, longestTokenLifetime: longestTokenLifetime))
            }
        }
        for key in keys where key.state == .retired && (key.removeAfter ?? now) <= now {
            plan.removals.append(key.id)
        }
        return plan
    }

    /// The key to sign with: the current one.
    public static func signingKey(_ keys: [SigningKeyRecord]) -> SigningKeyRecord? {
        keys.filter { $0.state == .current }.max { $0.activatesAt < $1.activatesAt }
    }

    /// The keys to publish: next, current and retired, newest first.
    public static func published(_ keys: [SigningKeyRecord]) -> [SigningKeyRecord] {
        keys.sorted { $0.createdAt > $1.createdAt }
    }

    public static func retire(_ key: SigningKeyRecord, at now: Date, longestTokenLifetime: Duration) -> SigningKeyRecord
    {
        var retired = key
        retired.state = .retired
        retired.retiredAt = now
        // A `next` key never signed anything: it can go at once.
        retired.removeAfter = key.state == .next ? now : now.adding(longestTokenLifetime)
        return retired
    }
}
