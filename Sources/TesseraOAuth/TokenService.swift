public import Foundation
import Synchronization
public import TesseraAccounts
import TesseraCore
import TesseraCrypto
import TesseraPlatform
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
        store: any Store, keys: SigningKeyRing, accounts: AccountService, clients registry: ClientRegistry,
        settings: Settings,
        limiter: AttemptLimiter, now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.store = store
        self.keys = keys
        self.accounts = accounts
        self.settings = settings
        self.limiter = limiter
        self.clients = ClientAuthentication(
            store: store, registry: registry, audiences: [settings.tokenEndpoint, settings.issuer], now: now)
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
    public func token(_ items: [(name: String, value: String)], authorization: String?, remoteAddress: String)
        async throws(OAuthError)
        -> Issued
    {
        let request = try TokenRequest(items, authorization: authorization, remoteAddress: remoteAddress)
        try admit(request)
        let client: OAuthClient
        do {
            client = try await clients.authenticate(request.parameters, authorization: authorization).client
        } catch {
            noteFailedAuthentication(error, of: request)
            throw error
        }
        try request.check(client)
        switch request.grant {
        case .clientCredentials:
            try await checkDeviceScopes(request.parameters["scope"], client: client)
            return try clientCredentials(client, request.parameters, signer: try await signer())
        case .password:
            return try await password(client, request.parameters)
        case .authorizationCode:
            return try await authorizationCode(client, request.parameters)
        case .refreshToken:
            return try await refresh(client, request.parameters)
        case .jwtBearer:
            return try await jwtBearer(client, request.parameters)
        }
    }

    /// `token` answered from memory, without waiting for the database or a thread pool, when it can be:
    /// a `client_credentials` grant by a client authenticating with its secret, with that client and the
    /// signing key held in memory (the usual case). Nil means: call `token`; nothing has been counted.
    public func tokenWithoutWaiting(
        _ items: [(name: String, value: String)], authorization: String?, remoteAddress: String
    ) throws(OAuthError) -> Issued? {
        let request = try TokenRequest(items, authorization: authorization, remoteAddress: remoteAddress)
        // Device scopes are checked against the device registry: not from memory.
        guard request.grant == .clientCredentials, request.parameters["scope"]?.contains(DeviceScope.prefix) != true,
            let signer = keys.signerWithoutWaiting()
        else { return nil }
        try admit(request)
        let client: OAuthClient
        do {
            guard
                let authenticated = try clients.authenticateWithoutWaiting(
                    request.parameters, authorization: authorization)
            else { return nil }
            client = authenticated.client
        } catch {
            noteFailedAuthentication(error, of: request)
            throw error
        }
        try request.check(client)
        return try clientCredentials(client, request.parameters, signer: signer)
    }

    /// A token request's parameters and grant, checked for form.
    struct TokenRequest {
        var parameters: OAuthParameters
        var grant: GrantType
        /// The limiter key of the caller's address.
        var address: String
        /// Whether the request presents a client secret (in the form or as HTTP Basic).
        var carriesSecret: Bool

        init(_ items: [(name: String, value: String)], authorization: String?, remoteAddress: String)
            throws(OAuthError)
        {
            parameters = try OAuthParameters(items)
            let grantName = try parameters.required("grant_type")
            guard let grant = try? GrantType(parsing: grantName), grantName != "jwt-bearer" else {
                throw .unsupportedGrantType("grant_type \(ManagedAccountID.printable(grantName)) is not supported")
            }
            self.grant = grant
            address = "ip:" + remoteAddress  // short, so usually stored inline (no allocation)
            carriesSecret = parameters["client_secret"] != nil || ClientAuthentication.isBasic(authorization)
        }

        func check(_ client: OAuthClient) throws(OAuthError) {
            guard client.grants.contains(grant) else {
                throw .unauthorizedClient("this client may not use the \(grant.rawValue) grant")
            }
        }
    }

    /// User passwords: every attempt counts, per address and per account. Client secrets: failures
    /// count, per address only, so nobody can shut a client out by failing in its name.
    private func admit(_ request: TokenRequest) throws(OAuthError) {
        if request.grant == .password {
            let account =
                request.parameters["username"].map {
                    [AttemptLimiter.accountKey($0, managedDomains: accounts.policy.managedDomains)]
                } ?? []
            try limiter.admit(keys: [request.address] + account)
        } else if request.carriesSecret {
            try limiter.check(key: request.address)
        }
    }

    private func noteFailedAuthentication(_ error: OAuthError, of request: TokenRequest) {
        if error.code == "invalid_client" && request.carriesSecret && request.grant != .password {
            limiter.recordAttempt(keys: [request.address])
        }
    }

    private func signer() async throws(OAuthError) -> SigningKeyRing.Signer {
        do {
            return try await keys.signer()
        } catch {
            throw .serverError("cannot sign the access token")
        }
    }

    // MARK: - Grants

    private func clientCredentials(_ client: OAuthClient, _ parameters: OAuthParameters, signer: SigningKeyRing.Signer)
        throws(OAuthError) -> Issued
    {
        let scope = try grantedScope(parameters["scope"], allowed: client.scopes, deviceScopes: true)
        let token = try signedAccessToken(client: client, subject: .client, scope: scope, signer: signer)
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
        } catch let error as CoreError where error.kind == .unavailable {
            throw .temporarilyUnavailable("the directory cannot check the password now; try again later")
        } catch {
            // One answer for unknown IDs, wrong passwords, locked and deactivated accounts.
            throw .invalidGrant("wrong managed ID or password, or the account cannot sign in")
        }
        return try await issueForAccount(client, account: account, scope: scope, family: nil)
    }

    private func authorizationCode(_ client: OAuthClient, _ parameters: OAuthParameters) async throws(OAuthError)
        -> Issued
    {
        let code = try parameters.required("code")
        let redirectURI = parameters["redirect_uri"]
        let verifier = parameters["code_verifier"]
        let at = now()
        let hash = TokenHash.of(code)
        let outcome: Redemption
        do {
            // Every check happens before the code is spent, so whoever stole a code without its verifier
            // cannot burn it; a second redemption of a spent code revokes everything issued from it.
            outcome = try await store.write { transaction -> Redemption in
                guard let stored = try transaction.authorizationCode(hash: hash),
                    stored.clientID.utf8.elementsEqual(client.id.utf8)
                else {
                    return .refused(.invalidGrant("the code is invalid"))
                }
                guard stored.usedAt == nil else {
                    try transaction.revokeTokenFamily(
                        id: stored.familyID, at: at, reason: "authorization code replayed")
                    return .refused(.invalidGrant("the code was already used; tokens issued from it are revoked"))
                }
                guard stored.expiresAt > at else { return .refused(.invalidGrant("the code has expired")) }
                // RFC 6749 §4.1.3: identical to the authorization request's redirect_uri, when it had one.
                if stored.redirectURI.isEmpty {
                    if let redirectURI,
                        !client.redirectURIs.contains(where: { $0.utf8.elementsEqual(redirectURI.utf8) })
                    {
                        return .refused(.invalidGrant("redirect_uri is not registered for this client"))
                    }
                } else {
                    guard let redirectURI, redirectURI.utf8.elementsEqual(stored.redirectURI.utf8) else {
                        return .refused(.invalidGrant("redirect_uri does not match the authorization request"))
                    }
                }
                do {
                    try PKCE.check(
                        challenge: stored.codeChallenge, verifier: verifier, policy: client.pkce,
                        clientType: client.type)
                } catch {
                    return .refused(error as? OAuthError ?? .invalidGrant("code_verifier does not match the challenge"))
                }
                guard let account = try transaction.account(id: stored.accountID), account.state == .active,
                    !account.isLocked
                else {
                    return .refused(.invalidGrant("the account no longer exists or cannot sign in"))
                }
                _ = try transaction.markAuthorizationCodeUsed(hash: hash, at: at)
                return .granted(
                    family: stored.familyID, scope: stored.scope.intersection(client.scopes), account: account)
            }
        } catch {
            throw .serverError("cannot redeem the code")
        }
        switch outcome {
        case .refused(let error): throw error
        case .granted(let family, let scope, let account):
            return try await issueForAccount(client, account: account, scope: scope, family: family)
        }
    }

    private enum Redemption: Sendable {
        case refused(OAuthError)
        case granted(family: String, scope: Set<String>, account: Account)
    }

    private func refresh(_ client: OAuthClient, _ parameters: OAuthParameters) async throws(OAuthError) -> Issued {
        let presented = try parameters.required("refresh_token")
        let requested = parameters["scope"]
        let at = now()
        let hash = TokenHash.of(presented)
        let next = TokenHash.newToken()
        // Fail on a missing signing key before the token is spent, not after.
        do { _ = try await keys.signer() } catch { throw .serverError("cannot sign tokens now; try again") }
        let outcome: Redemption
        do {
            outcome = try await store.write { transaction -> Redemption in
                guard let stored = try transaction.refreshToken(hash: hash),
                    let family = try transaction.tokenFamily(id: stored.familyID),
                    family.clientID.utf8.elementsEqual(client.id.utf8)
                else {
                    return .refused(.invalidGrant("the refresh token is invalid"))
                }
                guard family.revokedAt == nil else { return .refused(.invalidGrant("the refresh token was revoked")) }
                guard stored.usedAt == nil else {
                    // Reuse of a rotated refresh token: revoke the whole family (RFC 9700 §4.14.2).
                    try transaction.revokeTokenFamily(id: family.id, at: at, reason: "refresh token reused")
                    return .refused(.invalidGrant("the refresh token was already used; its family is revoked"))
                }
                guard stored.expiresAt > at else { return .refused(.invalidGrant("the refresh token has expired")) }
                // Never more than the client may have now, even if it was narrowed since.
                let allowed = stored.scope.intersection(client.scopes)
                var scope = allowed
                if let requested {
                    guard let narrowed = try? OAuthRules.scopes(requested), narrowed.isSubset(of: allowed) else {
                        return .refused(.invalidScope("a refreshed token can only narrow the original scope"))
                    }
                    scope = narrowed
                }
                guard let accountID = family.accountID, let account = try transaction.account(id: accountID),
                    account.state == .active,
                    !account.isLocked
                else {
                    return .refused(.invalidGrant("the account no longer exists or cannot sign in"))
                }
                _ = try transaction.markRefreshTokenUsed(hash: hash, at: at)
                try transaction.insert(
                    RefreshToken(
                        tokenHash: TokenHash.of(next), familyID: family.id, scope: allowed, createdAt: at,
                        expiresAt: stored.expiresAt))
                return .granted(family: family.id, scope: scope, account: account)
            }
        } catch {
            throw .serverError("cannot rotate the refresh token")
        }
        switch outcome {
        case .refused(let error): throw error
        case .granted(let family, let scope, let account):
            let token = try await accessToken(client: client, subject: .account(account), scope: scope, family: family)
            return Issued(accessToken: token.value, expiresIn: token.lifetime, refreshToken: next, scope: scope)
        }
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
                try $0.recordClientAssertion(
                    clientID: client.id, jti: "grant:" + jti,
                    expiresAt: ClientAssertionVerifier.replayWindowEnd(expiresAt: exp))
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
        // The client acts only for accounts its role governs (never, say, for an administrator unless it
        // is registered with that role).
        guard let role = client.role, RoleAuthority.may([role], actOn: account.effectiveRoles) else {
            throw .invalidGrant("this client may not act for \(account.managedID)")
        }
        let token = try await accessToken(client: client, subject: .account(account), scope: scope)
        return Issued(accessToken: token.value, expiresIn: token.lifetime, refreshToken: nil, scope: scope)
    }

    // MARK: - Issuing

    enum Subject: Sendable {
        case client
        case account(Account)
    }

    /// Tokens for a person: an access token, and a refresh token when the client has that grant.
    func issueForAccount(_ client: OAuthClient, account: Account, scope: Set<String>, family existing: String?)
        async throws(OAuthError)
        -> Issued
    {
        let at = now()
        let wantsRefresh = client.grants.contains(.refreshToken)
        var familyID = existing
        var refresh: String?
        if familyID == nil || wantsRefresh {
            let family = TokenFamily(
                id: existing ?? UUID().uuidString.lowercased(), clientID: client.id, accountID: account.id,
                createdAt: at,
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
    func accessToken(client: OAuthClient, subject: Subject, scope: Set<String>, family: String? = nil)
        async throws(OAuthError)
        -> (value: String, lifetime: Int)
    {
        // A sign-in that enrolled a device: its tokens name the enrolment (once known, i.e. from the
        // first token after the profile went out).
        var enrolment: Device?
        if let family {
            do {
                enrolment = try await store.read { reader in
                    try reader.device(enrolmentTokenID: family).flatMap { $0.state == .enrolled ? $0 : nil }
                }
            } catch {
                throw .serverError("cannot read the device registry")
            }
        }
        let token = try signedAccessToken(
            client: client, subject: subject, scope: scope, enrolment: enrolment, signer: try await signer())
        if let family {
            do {
                try await store.write {
                    try $0.recordFamilyAccessToken(
                        jti: token.jti, familyID: family,
                        expiresAt: Date(timeIntervalSince1970: Double(token.expiresAt)))
                }
            } catch {
                throw .serverError("cannot record the access token")
            }
        }
        return (token.value, token.lifetime)
    }

    /// Builds and signs the access token's claims.
    private func signedAccessToken(
        client: OAuthClient, subject: Subject, scope: Set<String>, enrolment: Device? = nil,
        signer: SigningKeyRing.Signer
    ) throws(OAuthError) -> (value: String, lifetime: Int, jti: String, expiresAt: Int) {
        let issuedAt = Int(now().timeIntervalSince1970)
        let lifetime = Int(client.accessTokenLifetime.components.seconds)
        let jti = TokenHash.newJTI()
        // RFC 9068 claims, written directly (registered claims first, then the others by name).
        var json = JSONWriter(reservingCapacity: 384)
        json.beginObject()
        json.key("iss"); json.string(settings.issuer)
        switch subject {
        case .client: json.key("sub"); json.string(client.id)
        case .account(let account): json.key("sub"); json.string(account.id)
        }
        json.key("aud"); json.string(settings.audience)
        json.key("exp"); json.int(issuedAt + lifetime)
        json.key("iat"); json.int(issuedAt)
        json.key("jti"); json.string(jti)
        json.key("client_id"); json.string(client.id)
        let roles: [Role]
        switch subject {
        case .client:
            roles = client.role.map { [$0] } ?? []
        case .account(let account):
            json.key("managed_id"); json.string(account.managedID.rawValue)
            roles = account.effectiveRoles.sorted()
        }
        if !roles.isEmpty {
            json.key("roles")
            json.beginArray()
            for role in roles { json.string(role.rawValue) }
            json.endArray()
        }
        if !scope.isEmpty {
            json.key("scope"); json.string(scope.sorted().joined(separator: " "))
        }
        if let enrolment, let mode = enrolment.kind.enrollmentMode {
            json.key("enrolment_id"); json.string(enrolment.id)
            json.key("enrolment_mode"); json.string(mode)
        }
        json.endObject()
        do {
            let value = try JWS.sign(encodedHeader: signer.accessTokenHeader, payload: json.bytes, key: signer.key)
            return (value, lifetime, jti, issuedAt + lifetime)
        } catch {
            throw .serverError("cannot sign the access token")
        }
    }

    /// The device scopes of a client_credentials request, checked against the device registry and the
    /// capability matrix: each must name an enrolled device and an action the matrix allows on it.
    private func checkDeviceScopes(_ requested: String?, client: OAuthClient) async throws(OAuthError) {
        guard let requested, requested.contains(DeviceScope.prefix) else { return }
        // Malformed ones are left to grantedScope to report.
        let wanted = requested.split(separator: " ").compactMap { try? DeviceScope.parse(String($0)) }
        let ids = wanted.map(\.deviceID)
        let devices: [Device?]
        do {
            devices = try await store.read { reader in try ids.map { try reader.device(id: $0) } }
        } catch {
            throw .serverError("cannot read the device registry")
        }
        for (scope, device) in zip(wanted, devices) {
            guard let device else {
                throw .invalidScope("no enrolled device \(ManagedAccountID.printable(scope.deviceID))")
            }
            if let refusal = CapabilityMatrix.refusal(scope.action, on: device) { throw .invalidScope(refusal) }
        }
    }

    /// The scope to grant: what was asked for, if the client may have all of it; else all it may have.
    /// Device scopes (`device:<id>:<action>`) only with `deviceScopes` (client_credentials) and for a
    /// client registered with the `devices` scope; `checkDeviceScopes` checks them against the registry.
    func grantedScope(_ requested: String?, allowed: Set<String>, deviceScopes: Bool = false) throws(OAuthError)
        -> Set<String>
    {
        guard let requested else { return allowed }
        let asked: Set<String>
        do {
            asked = try OAuthRules.scopes(requested)
        } catch {
            throw .invalidScope("scope is malformed")
        }
        let devices = asked.filter { $0.hasPrefix(DeviceScope.prefix) }
        if !devices.isEmpty {
            guard deviceScopes, allowed.contains(DeviceScope.clientScope) else {
                throw .invalidScope(
                    "device scopes are granted by client_credentials to clients registered with the scope devices")
            }
            for token in devices {
                do {
                    _ = try DeviceScope.parse(token)
                } catch {
                    throw .invalidScope((error as? CoreError)?.message ?? "device scope is malformed")
                }
            }
        }
        let refused = asked.subtracting(devices).subtracting(allowed)
        guard refused.isEmpty else {
            throw .invalidScope("scope not allowed for this client: \(refused.sorted().joined(separator: " "))")
        }
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
    /// Unique, not secret (it travels inside a signed token): a random per-process prefix and a counter,
    /// so issuing needs no random bytes per token.
    static func newJTI() -> String {
        let sequence = jtiCounter.wrappingAdd(1, ordering: .relaxed).newValue
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { bytes in
            _ = bytes.initialize(from: jtiPrefix)
            for index in 0..<8 { bytes[12 + index] = UInt8(truncatingIfNeeded: sequence >> UInt64(56 - 8 * index)) }
            return Base64URL.encode(UnsafeBufferPointer(bytes))
        }
    }
    private static let jtiPrefix = SecureRandom.bytes(12)
    private static let jtiCounter = Atomic<UInt64>(0)
    /// Tokens are random, so SHA-256 is all the storage hash they need.
    static func of(_ token: String) -> String { SHA256.hexDigest(Array(token.utf8)) }
}

/// RFC 7636 with S256 only.
enum PKCE {
    static func check(challenge: String?, verifier: String?, policy: PKCEPolicy, clientType: ClientType)
        throws(OAuthError)
    {
        guard let challenge else {
            // A code issued without a challenge: only Apple's enrolment client may have one.
            guard policy == .appleEnrolment else {
                throw .invalidGrant("the authorization request had no PKCE challenge")
            }
            guard verifier == nil else {
                throw .invalidRequest("code_verifier given but the authorization request had no challenge")
            }
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
