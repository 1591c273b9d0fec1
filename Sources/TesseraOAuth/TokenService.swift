public import Foundation
public import TesseraAccounts
public import TesseraCore
import TesseraCrypto
public import TesseraStore

/// The token endpoint's rules (RFC 6749 §4–6, RFC 7636, RFC 7523, RFC 9068, RFC 9700): authenticates the
/// client, runs the grant, and issues a JWT access token and, where the grant allows, a rotating
/// refresh token.
public struct TokenService: Sendable {
    public struct Settings: Sendable {
        public var issuer: String
        public var audience: String

        public init(issuer: String, audience: String) {
            self.issuer = issuer
            self.audience = audience
        }

        public var tokenEndpoint: String { issuer + "/oauth2/token" }
    }

    let store: any Store
    let keys: SigningKeyRing
    let accounts: AccountService
    let settings: Settings
    let limiter: AttemptLimiter
    let clients: ClientAuthentication
    let now: @Sendable () -> Date

    public init(
        store: any Store, keys: SigningKeyRing, accounts: AccountService, clients registry: ClientRegistry, settings: Settings,
        limiter: AttemptLimiter, now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.store = store
        self.keys = keys
        self.accounts = accounts
        self.settings = settings
        self.limiter = limiter
        self.clients = ClientAuthentication(store: store, registry: registry, audiences: [settings.tokenEndpoint, settings.issuer], now: now)
        self.now = now
    }

    /// A successful token response (RFC 6749 §5.1).
    public struct Issued: Sendable, Equatable {
        public var accessToken: String
        public var expiresIn: Int
        public var refreshToken: String?
        public var scope: Set<String>
    }

    /// Handles one token request.
    /// - Parameters:
    ///   - items: the decoded form body.
    ///   - authorization: the `Authorization` header, if any.
    ///   - remoteAddress: the caller's address, for rate limiting password-bearing requests.
    public func token(_ items: [(name: String, value: String)], authorization: String?, remoteAddress: String) async throws(OAuthError)
        -> Issued
    {
        let parameters = try OAuthParameters(items)
        let grantName = try parameters.required("grant_type")
        guard let grant = try? GrantType(parsing: grantName), grantName != "jwt-bearer" else {
            throw .unsupportedGrantType("grant_type \(ManagedAccountID.printable(grantName)) is not supported")
        }
        // User passwords: every attempt counts. Client secrets: failures count (see AttemptLimiter).
        let clientID = parameters["client_id"] ?? (try? ClientAuthentication.basicCredentials(authorization))??.id
        let limitKeys = ["address:\(remoteAddress)"] + (clientID.map { ["client:\($0)"] } ?? [])
        let carriesSecret = parameters["client_secret"] != nil || authorization?.lowercased().hasPrefix("basic ") == true
        if grant == .password {
            try limiter.admit(keys: limitKeys)
        } else if carriesSecret {
            try limiter.check(keys: limitKeys)
        }
        let authenticated: ClientAuthentication.Authenticated
        do {
            authenticated = try await clients.authenticate(parameters, authorization: authorization)
        } catch {
            if error.code == "invalid_client" && carriesSecret && grant != .password { limiter.recordAttempt(keys: limitKeys) }
            throw error
        }
        let client = authenticated.client
        guard client.grants.contains(grant) else {
            throw .unauthorizedClient("this client may not use the \(grant.rawValue) grant")
        }
        switch grant {
        case .clientCredentials:
            return try await clientCredentials(client, parameters)
        case .password:
            return try await password(client, parameters)
        case .authorizationCode:
            return try await authorizationCode(client, parameters)
        case .refreshToken:
            return try await refresh(client, parameters)
        case .jwtBearer:
            return try await jwtBearer(client, parameters)
        }
    }

    // MARK: - Grants

    private func clientCredentials(_ client: OAuthClient, _ parameters: OAuthParameters) async throws(OAuthError) -> Issued {
        let scope = try grantedScope(parameters["scope"], allowed: client.scopes)
        let token = try await accessToken(client: client, subject: .client, scope: scope)
        return Issued(accessToken: token.value, expiresIn: token.lifetime, refreshToken: nil, scope: scope)
    }

    private func password(_ client: OAuthClient, _ parameters: OAuthParameters) async throws(OAuthError) -> Issued {
        let username = try parameters.required("username")
        let password = try parameters.required("password")
        let scope = try grantedScope(parameters["scope"], allowed: client.scopes)
        let account: Account
        do {
            switch try await accounts.signIn(username, password: password) {
            case .signedIn(let signedIn): account = signedIn
            case .passwordChangeRequired:
                throw OAuthError.invalidGrant("the password is temporary: change it at the sign-in page first")
            }
        } catch let error as OAuthError {
            throw error
        } catch {
            // One answer for unknown IDs, wrong passwords, locked and deactivated accounts.
            throw .invalidGrant("wrong managed ID or password, or the account cannot sign in")
        }
        return try await issueForAccount(client, account: account, scope: scope, family: nil)
    }

    private func authorizationCode(_ client: OAuthClient, _ parameters: OAuthParameters) async throws(OAuthError) -> Issued {
        let code = try parameters.required("code")
        let redirectURI = try parameters.required("redirect_uri")
        let verifier = parameters["code_verifier"]
        let at = now()
        let hash = TokenHash.of(code)
        let outcome: CodeRedemption
        do {
            outcome = try await store.write { transaction -> CodeRedemption in
                guard let stored = try transaction.authorizationCode(hash: hash) else { return .unknown }
                guard stored.clientID == client.id else { return .otherClient }
                guard try transaction.markAuthorizationCodeUsed(hash: hash, at: at) else {
                    // A replayed code: everything issued from it is revoked (RFC 6749 §4.1.2, RFC 9700 §4.2.4).
                    try transaction.revokeTokenFamily(id: stored.familyID, at: at, reason: "authorization code replayed")
                    return .replayed
                }
                return .redeemed(stored)
            }
        } catch {
            throw .serverError("cannot redeem the code")
        }
        let stored: AuthorizationCode
        switch outcome {
        case .unknown, .otherClient: throw .invalidGrant("the code is invalid")
        case .replayed: throw .invalidGrant("the code was already used; tokens issued from it are revoked")
        case .redeemed(let redeemed): stored = redeemed
        }
        guard stored.expiresAt > at else { throw .invalidGrant("the code has expired") }
        guard stored.redirectURI == redirectURI else { throw .invalidGrant("redirect_uri does not match the authorization request") }
        try PKCE.check(challenge: stored.codeChallenge, verifier: verifier, policy: client.pkce, clientType: client.type)
        let account = try await activeAccount(id: stored.accountID)
        return try await issueForAccount(client, account: account, scope: stored.scope, family: stored.familyID)
    }

    private enum CodeRedemption: Sendable {
        case unknown, otherClient, replayed
        case redeemed(AuthorizationCode)
    }

    private func refresh(_ client: OAuthClient, _ parameters: OAuthParameters) async throws(OAuthError) -> Issued {
        let presented = try parameters.required("refresh_token")
        let requested = parameters["scope"]
        let at = now()
        let hash = TokenHash.of(presented)
        let next = TokenHash.newToken()
        let outcome: RefreshOutcome
        do {
            outcome = try await store.write { transaction -> RefreshOutcome in
                guard let stored = try transaction.refreshToken(hash: hash), let family = try transaction.tokenFamily(id: stored.familyID),
                    family.clientID == client.id
                else {
                    return .invalid("the refresh token is invalid")
                }
                guard family.revokedAt == nil else { return .invalid("the refresh token was revoked") }
                guard try transaction.markRefreshTokenUsed(hash: hash, at: at) else {
                    // Reuse of a rotated refresh token: revoke the whole family (RFC 9700 §4.14.2).
                    try transaction.revokeTokenFamily(id: family.id, at: at, reason: "refresh token reused")
                    return .invalid("the refresh token was already used; its family is revoked")
                }
                guard stored.expiresAt > at else { return .invalid("the refresh token has expired") }
                var scope = stored.scope
                if let requested {
                    guard let narrowed = try? OAuthRules.scopes(requested), narrowed.isSubset(of: stored.scope) else {
                        return .badScope
                    }
                    scope = narrowed
                }
                try transaction.insert(
                    RefreshToken(tokenHash: TokenHash.of(next), familyID: family.id, scope: stored.scope, createdAt: at, expiresAt: stored.expiresAt))
                return .rotated(family: family, scope: scope)
            }
        } catch {
            throw .serverError("cannot rotate the refresh token")
        }
        switch outcome {
        case .invalid(let message): throw .invalidGrant(message)
        case .badScope: throw .invalidScope("a refreshed token can only narrow the original scope")
        case .rotated(let family, let scope):
            guard let accountID = family.accountID else { throw .invalidGrant("the refresh token is invalid") }
            let account = try await activeAccount(id: accountID)
            let token = try await accessToken(client: client, subject: .account(account), scope: scope, family: family.id)
            return Issued(accessToken: token.value, expiresIn: token.lifetime, refreshToken: next, scope: scope)
        }
    }

    private enum RefreshOutcome: Sendable {
        case invalid(String)
        case badScope
        case rotated(family: TokenFamily, scope: Set<String>)
    }

    /// RFC 7523 §2.1: the client presents a JWT it signed, naming the account it acts for in `sub`.
    private func jwtBearer(_ client: OAuthClient, _ parameters: OAuthParameters) async throws(OAuthError) -> Issued {
        let assertion = try parameters.required("assertion")
        let scope = try grantedScope(parameters["scope"], allowed: client.scopes)
        let keys = client.publicKeys.compactMap { try? VerificationKey(pem: $0) }
        let claims: JWTClaims
        do {
            claims = try ClientAssertionVerifier.verify(
                assertion, keys: keys, issuer: client.id, audiences: [settings.tokenEndpoint, settings.issuer],
                now: Int(now().timeIntervalSince1970))
        } catch {
            throw .invalidGrant("the assertion is invalid: \(error.message)")
        }
        guard let subject = claims.subject, let jti = claims.jwtID, !jti.isEmpty, let exp = claims.expiresAt else {
            throw .invalidGrant("the assertion needs sub, jti and exp")
        }
        let fresh: Bool
        do {
            fresh = try await store.write {
                try $0.recordClientAssertion(clientID: client.id, jti: "grant:" + jti, expiresAt: Date(timeIntervalSince1970: Double(exp)))
            }
        } catch {
            throw .serverError("cannot record the assertion")
        }
        guard fresh else { throw .invalidGrant("the assertion was already used") }
        let account: Account
        do {
            account = try await accounts.account(subject, by: .system(job: "jwt-bearer"))
        } catch {
            throw .invalidGrant("the assertion's subject is not a managed account")
        }
        guard account.state == .active, !account.isLocked else { throw .invalidGrant("the account cannot sign in") }
        let token = try await accessToken(client: client, subject: .account(account), scope: scope)
        return Issued(accessToken: token.value, expiresIn: token.lifetime, refreshToken: nil, scope: scope)
    }

    // MARK: - Issuing

    enum Subject: Sendable {
        case client
        case account(Account)
    }

    /// Tokens for a person: an access token, and a refresh token when the client has that grant.
    func issueForAccount(_ client: OAuthClient, account: Account, scope: Set<String>, family existing: String?) async throws(OAuthError)
        -> Issued
    {
        let at = now()
        let wantsRefresh = client.grants.contains(.refreshToken)
        var familyID = existing
        var refresh: String?
        if familyID == nil || wantsRefresh {
            let family = TokenFamily(
                id: existing ?? UUID().uuidString.lowercased(), clientID: client.id, accountID: account.id, createdAt: at,
                expiresAt: at.adding(client.refreshTokenLifetime).adding(client.accessTokenLifetime))
            let token = wantsRefresh ? TokenHash.newToken() : nil
            do {
                try await store.write { transaction in
                    if existing == nil { try transaction.insert(family) }
                    if let token {
                        try transaction.insert(
                            RefreshToken(
                                tokenHash: TokenHash.of(token), familyID: family.id, scope: scope, createdAt: at,
                                expiresAt: at.adding(client.refreshTokenLifetime)))
                    }
                }
            } catch {
                throw .serverError("cannot record the tokens")
            }
            familyID = family.id
            refresh = token
        }
        let token = try await accessToken(client: client, subject: .account(account), scope: scope, family: familyID)
        return Issued(accessToken: token.value, expiresIn: token.lifetime, refreshToken: refresh, scope: scope)
    }

    /// An RFC 9068 access token. Tokens for people are recorded in their family so revoking the family
    /// reaches them; client-credentials tokens write nothing.
    func accessToken(client: OAuthClient, subject: Subject, scope: Set<String>, family: String? = nil) async throws(OAuthError)
        -> (value: String, lifetime: Int)
    {
        let issuedAt = Int(now().timeIntervalSince1970)
        let lifetime = Int(client.accessTokenLifetime.components.seconds)
        let jti = TokenHash.newJTI()
        var extra: [String: JSONValue] = ["client_id": .string(client.id)]
        if !scope.isEmpty { extra["scope"] = .string(scope.sorted().joined(separator: " ")) }
        let sub: String
        switch subject {
        case .client:
            sub = client.id
            if let role = client.role { extra["roles"] = .array([.string(role.rawValue)]) }
        case .account(let account):
            sub = account.id
            extra["managed_id"] = .string(account.managedID.rawValue)
            extra["roles"] = .array(account.effectiveRoles.sorted().map { .string($0.rawValue) })
        }
        let claims = JWTClaims(
            issuer: settings.issuer, subject: sub, audience: [settings.audience], expiresAt: issuedAt + lifetime, issuedAt: issuedAt,
            jwtID: jti, extra: extra)
        let value: String
        do {
            let signer = try await keys.signer()
            value = try JWS.sign(encodedHeader: signer.accessTokenHeader, payload: claims.encoded(), key: signer.key)
        } catch {
            throw .serverError("cannot sign the access token")
        }
        if let family {
            do {
                try await store.write {
                    try $0.recordFamilyAccessToken(jti: jti, familyID: family, expiresAt: Date(timeIntervalSince1970: Double(issuedAt + lifetime)))
                }
            } catch {
                throw .serverError("cannot record the access token")
            }
        }
        return (value, lifetime)
    }

    /// The scope to grant: what was asked for, if the client may have all of it; else all it may have.
    func grantedScope(_ requested: String?, allowed: Set<String>) throws(OAuthError) -> Set<String> {
        guard let requested else { return allowed }
        let asked: Set<String>
        do {
            asked = try OAuthRules.scopes(requested)
        } catch {
            throw .invalidScope("scope is malformed")
        }
        let refused = asked.subtracting(allowed)
        guard refused.isEmpty else { throw .invalidScope("scope not allowed for this client: \(refused.sorted().joined(separator: " "))") }
        return asked
    }

    private func activeAccount(id: String) async throws(OAuthError) -> Account {
        let account: Account?
        do {
            account = try await store.read { try $0.account(id: id) }
        } catch {
            throw .serverError("the account store is unavailable")
        }
        guard let account, account.state == .active, !account.isLocked else {
            throw .invalidGrant("the account no longer exists or cannot sign in")
        }
        return account
    }
}

/// Random tokens (codes, refresh tokens) and their stored form.
enum TokenHash {
    /// 256 random bits, base64url.
    static func newToken() -> String { SecureRandom.token(bytes: 32) }
    static func newJTI() -> String { SecureRandom.token(bytes: 16) }
    /// Tokens are random, so SHA-256 is all the storage hash they need.
    static func of(_ token: String) -> String { SHA256.hexDigest(Array(token.utf8)) }
}

/// RFC 7636 with S256 only.
enum PKCE {
    static func check(challenge: String?, verifier: String?, policy: PKCEPolicy, clientType: ClientType) throws(OAuthError) {
        guard let challenge else {
            // A code issued without a challenge: only Apple's enrolment client may have one.
            guard policy == .appleEnrolment else { throw .invalidGrant("the authorization request had no PKCE challenge") }
            guard verifier == nil else { throw .invalidRequest("code_verifier given but the authorization request had no challenge") }
            return
        }
        guard let verifier else { throw .invalidGrant("code_verifier is required") }
        guard OAuthRules.isValidCodeVerifier(verifier) else { throw .invalidRequest("code_verifier is malformed") }
        let computed = Base64URL.encode(SHA256.hash(Array(verifier.utf8)))
        guard ConstantTime.equals(Array(computed.utf8), Array(challenge.utf8)) else {
            throw .invalidGrant("code_verifier does not match the challenge")
        }
    }
}
