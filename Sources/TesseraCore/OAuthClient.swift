#if canImport(FoundationEssentials)
    public import FoundationEssentials
#else
    public import Foundation
#endif

/// The OAuth 2.0 grants Tessera issues tokens for.
public enum GrantType: String, Sendable, CaseIterable, Codable, Comparable {
    case clientCredentials = "client_credentials"
    case authorizationCode = "authorization_code"
    case refreshToken = "refresh_token"
    case password
    case jwtBearer = "urn:ietf:params:oauth:grant-type:jwt-bearer"

    public static func < (lhs: GrantType, rhs: GrantType) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }

    /// Accepts the RFC names and, for the JWT bearer grant, the short `jwt-bearer`.
    public init(parsing text: String) throws {
        if text == "jwt-bearer" {
            self = .jwtBearer
            return
        }
        guard let grant = GrantType(rawValue: text) else {
            throw CoreError(
                .invalidInput, "client.grant_unknown",
                "unknown grant '\(ManagedAccountID.printable(text))' (grants: \(GrantType.allCases.map(\.rawValue).joined(separator: ", ")))"
            )
        }
        self = grant
    }
}

/// RFC 6749 §2.1: confidential clients can keep a secret or a private key; public clients cannot.
public enum ClientType: String, Sendable, Codable {
    case confidential, `public`
}

/// How a client proves who it is at the token endpoint (RFC 6749 §2.3, RFC 7523 §2.2).
public enum ClientAuthenticationMethod: String, Sendable, CaseIterable, Codable {
    case clientSecretBasic = "client_secret_basic"
    case clientSecretPost = "client_secret_post"
    case privateKeyJWT = "private_key_jwt"
    case none
}

/// PKCE (RFC 7636) for the authorization-code grant.
public enum PKCEPolicy: String, Sendable, CaseIterable, Codable {
    /// S256 is required (the default for every client).
    case required
    /// Only for Apple account-driven enrolment, whose device sends no PKCE (PROTOCOLS.md §1.4):
    /// S256 is checked when present, never required.
    case appleEnrolment = "apple-enrolment"

    public init(parsing text: String) throws {
        guard let policy = PKCEPolicy(rawValue: text) else {
            throw CoreError(
                .invalidInput, "client.pkce_unknown",
                "unknown PKCE policy '\(ManagedAccountID.printable(text))' (required, apple-enrolment)")
        }
        self = policy
    }
}

/// A registered OAuth client.
public struct OAuthClient: Sendable, Equatable, Identifiable {
    /// The public `client_id`.
    public var id: String
    public var name: String
    public var type: ClientType
    /// Hex SHA-256 of the generated 256-bit secret; nil for public clients and key-only clients.
    public var secretHash: String?
    /// PEM public keys (SubjectPublicKeyInfo) for `private_key_jwt` and the JWT bearer grant.
    public var publicKeys: [String]
    public var grants: Set<GrantType>
    /// Exact-match redirect URIs for the authorization-code grant.
    public var redirectURIs: [String]
    /// The scopes this client may ask for; empty means none beyond the default.
    public var scopes: Set<String>
    public var accessTokenLifetime: Duration
    public var refreshTokenLifetime: Duration
    public var pkce: PKCEPolicy
    /// The role a client acts with when no person is involved (client credentials).
    public var role: Role?
    public var version: Int
    public var createdAt: Date
    public var updatedAt: Date

    public init(
        id: String, name: String, type: ClientType, secretHash: String?, publicKeys: [String] = [],
        grants: Set<GrantType>,
        redirectURIs: [String] = [], scopes: Set<String> = [], accessTokenLifetime: Duration,
        refreshTokenLifetime: Duration,
        pkce: PKCEPolicy = .required, role: Role? = nil, version: Int = 1, createdAt: Date, updatedAt: Date
    ) {
        self.id = id
        self.name = name
        self.type = type
        self.secretHash = secretHash
        self.publicKeys = publicKeys
        self.grants = grants
        self.redirectURIs = redirectURIs
        self.scopes = scopes
        self.accessTokenLifetime = accessTokenLifetime
        self.refreshTokenLifetime = refreshTokenLifetime
        self.pkce = pkce
        self.role = role
        self.version = version
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    /// The authentication methods this client may use, from what it holds.
    public var authenticationMethods: Set<ClientAuthenticationMethod> {
        switch type {
        case .public: return [.none]
        case .confidential:
            var methods: Set<ClientAuthenticationMethod> = []
            if secretHash != nil { methods.formUnion([.clientSecretBasic, .clientSecretPost]) }
            if !publicKeys.isEmpty { methods.insert(.privateKeyJWT) }
            return methods
        }
    }
}
