#if canImport(FoundationEssentials)
    public import FoundationEssentials
#else
    public import Foundation
#endif

/// Everything issued from one authorization code or one password sign-in; revoked together when a
/// code or refresh token is replayed (RFC 9700 §4.14, §2.2.2).
public struct TokenFamily: Sendable, Equatable {
    public var id: String
    public var clientID: String
    public var accountID: String?
    public var createdAt: Date
    /// When the last refresh token of the family can expire.
    public var expiresAt: Date
    public var revokedAt: Date?
    public var revokedReason: String?

    public init(
        id: String, clientID: String, accountID: String?, createdAt: Date, expiresAt: Date, revokedAt: Date? = nil,
        revokedReason: String? = nil
    ) {
        self.id = id
        self.clientID = clientID
        self.accountID = accountID
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.revokedAt = revokedAt
        self.revokedReason = revokedReason
    }
}

/// A single-use authorization code, stored only as a hash.
public struct AuthorizationCode: Sendable, Equatable {
    public var codeHash: String
    public var familyID: String
    public var clientID: String
    public var accountID: String
    /// The redirect URI the authorization request named; empty when it named none (and the client's only
    /// registered one was used).
    public var redirectURI: String
    public var scope: Set<String>
    /// The S256 challenge, when the client sent one.
    public var codeChallenge: String?
    public var createdAt: Date
    public var expiresAt: Date
    public var usedAt: Date?

    public init(
        codeHash: String, familyID: String, clientID: String, accountID: String, redirectURI: String,
        scope: Set<String>,
        codeChallenge: String?, createdAt: Date, expiresAt: Date, usedAt: Date? = nil
    ) {
        self.codeHash = codeHash
        self.familyID = familyID
        self.clientID = clientID
        self.accountID = accountID
        self.redirectURI = redirectURI
        self.scope = scope
        self.codeChallenge = codeChallenge
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.usedAt = usedAt
    }

    /// Codes live 60 seconds.
    public static let lifetime: Duration = .seconds(60)
}

/// A refresh token, stored only as a hash; each use rotates it.
public struct RefreshToken: Sendable, Equatable {
    public var tokenHash: String
    public var familyID: String
    public var scope: Set<String>
    public var createdAt: Date
    public var expiresAt: Date
    public var usedAt: Date?

    public init(
        tokenHash: String, familyID: String, scope: Set<String>, createdAt: Date, expiresAt: Date, usedAt: Date? = nil
    ) {
        self.tokenHash = tokenHash
        self.familyID = familyID
        self.scope = scope
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.usedAt = usedAt
    }
}
