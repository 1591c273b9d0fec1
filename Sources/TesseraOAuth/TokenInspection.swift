public import Foundation
public import TesseraCore
import TesseraCrypto
public import TesseraStore

/// Introspection (RFC 7662) and revocation (RFC 7009) of the tokens Tessera issued.
public struct TokenInspection: Sendable {
    let store: any Store
    let keys: SigningKeyRing
    let settings: TokenService.Settings
    let clients: ClientAuthentication
    let registry: ClientRegistry
    let now: @Sendable () -> Date

    public init(
        store: any Store, keys: SigningKeyRing, clients registry: ClientRegistry, settings: TokenService.Settings,
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.store = store
        self.keys = keys
        self.settings = settings
        self.clients = ClientAuthentication(
            store: store, registry: registry, audiences: [settings.tokenEndpoint, settings.issuer], now: now)
        self.registry = registry
        self.now = now
    }

    /// What introspection says about a token; `active: false` carries nothing else (RFC 7662 §2.2).
    public struct Introspection: Sendable, Equatable {
        public var active: Bool
        public var members: [(String, JSONMember)]

        public static func == (lhs: Introspection, rhs: Introspection) -> Bool {
            lhs.active == rhs.active && lhs.members.map(\.0) == rhs.members.map(\.0)
                && lhs.members.map(\.1) == rhs.members.map(\.1)
        }
        static let inactive = Introspection(active: false, members: [])
    }

    /// A value in an introspection answer.
    public enum JSONMember: Sendable, Equatable {
        case string(String), int(Int), strings([String])
    }

    /// Only authenticated confidential clients may introspect (resource servers, MDM servers).
    public func introspect(_ items: [(name: String, value: String)], authorization: String?) async throws(OAuthError)
        -> Introspection
    {
        let parameters = try OAuthParameters(items)
        let caller = try await clients.authenticate(parameters, authorization: authorization)
        guard caller.client.type == .confidential else {
            throw .invalidClient(
                "introspection needs an authenticated confidential client", usedBasic: authorization != nil)
        }
        let token = try parameters.required("token")
        if let claims = try await checked(token) {
            var members: [(String, JSONMember)] = [("token_type", .string("Bearer"))]
            if let scope = claims.extra["scope"]?.stringValue { members.append(("scope", .string(scope))) }
            if let clientID = claims.extra["client_id"]?.stringValue {
                members.append(("client_id", .string(clientID)))
            }
            if let managedID = claims.extra["managed_id"]?.stringValue {
                members.append(("username", .string(managedID)))
                members.append(("managed_id", .string(managedID)))
            }
            if let enrolment = try await enrolment(of: claims) {
                members.append(("enrolment_id", .string(enrolment.id)))
                members.append(("enrolment_mode", .string(enrolment.mode)))
            }
            if case .array(let roles)? = claims.extra["roles"] {
                members.append(("roles", .strings(roles.compactMap(\.stringValue))))
            }
            if let subject = claims.subject { members.append(("sub", .string(subject))) }
            members.append(("aud", .strings(claims.audience)))
            if let issuer = claims.issuer { members.append(("iss", .string(issuer))) }
            if let exp = claims.expiresAt { members.append(("exp", .int(exp))) }
            if let iat = claims.issuedAt { members.append(("iat", .int(iat))) }
            if let jti = claims.jwtID { members.append(("jti", .string(jti))) }
            return Introspection(active: true, members: members)
        }
        // A refresh token is only described to the client it was issued to.
        if let (refresh, family) = await liveRefreshToken(token), family.clientID == caller.client.id {
            return Introspection(
                active: true,
                members: [
                    ("token_type", .string("refresh_token")),
                    ("scope", .string(refresh.scope.sorted().joined(separator: " "))),
                    ("client_id", .string(family.clientID)),
                    ("exp", .int(Int(refresh.expiresAt.timeIntervalSince1970))),
                    ("iat", .int(Int(refresh.createdAt.timeIntervalSince1970))),
                ])
        }
        return .inactive
    }

    /// Revokes an access or refresh token issued to the calling client. Unknown tokens and tokens of
    /// other clients are answered like success, as RFC 7009 §2.2 asks.
    public func revoke(_ items: [(name: String, value: String)], authorization: String?) async throws(OAuthError) {
        let parameters = try OAuthParameters(items)
        let caller = try await clients.authenticate(parameters, authorization: authorization)
        let token = try parameters.required("token")
        let at = now()
        if let claims = try await checked(token), claims.extra["client_id"]?.stringValue == caller.client.id,
            let jti = claims.jwtID,
            let exp = claims.expiresAt
        {
            do {
                try await store.write {
                    try $0.revokeAccessToken(jti: jti, expiresAt: Date(timeIntervalSince1970: Double(exp)))
                }
            } catch {
                throw .serverError("cannot record the revocation")
            }
            return
        }
        if let (_, family) = await liveRefreshToken(token), family.clientID == caller.client.id {
            // Revoking a refresh token revokes what was issued with it (RFC 7009 §2.1).
            do {
                try await store.write {
                    try $0.revokeTokenFamily(id: family.id, at: at, reason: "revoked by the client")
                }
            } catch {
                throw .serverError("cannot record the revocation")
            }
        }
    }

    /// Whom a bearer access token of ours (`Authorization: Bearer …`, RFC 6750) speaks for: it must be
    /// genuine, unexpired and unrevoked, issued to `clientID`, and for an account that can still sign in.
    /// `tokenID` names the sign-in: the token family when the token has one (a refreshed token keeps
    /// it), else the token's `jti`. Nil otherwise (the caller answers with its challenge).
    /// - Throws: `CoreError.unavailable` when the store cannot answer (the caller answers `503`, not a
    ///   challenge that would send a device to sign in again).
    public func bearerAccount(_ authorization: String?, clientID: String) async throws(CoreError) -> (
        accountID: String, managedID: String, tokenID: String
    )? {
        guard let token = Self.bearerToken(authorization) else { return nil }
        guard let claims = try await validAccessToken(token),
            let issuedTo = claims.extra["client_id"]?.stringValue, issuedTo.utf8.elementsEqual(clientID.utf8),
            let managedID = claims.extra["managed_id"]?.stringValue, let accountID = claims.subject,
            let jti = claims.jwtID
        else { return nil }
        // The sign-in: the token family (which refreshes keep), else the token itself.
        let family = try await Self.answer { try await store.read { try $0.tokenFamilyID(accessTokenJTI: jti) } }
        return (accountID, managedID, family ?? jti)
    }

    /// The client a bearer access token of ours was issued to for itself (client_credentials: no
    /// person), when its scope includes `scope`; nil otherwise.
    /// - Throws: `CoreError.unavailable` when the store cannot answer.
    public func bearerClient(_ authorization: String?, scope: String) async throws(CoreError) -> String? {
        guard let token = Self.bearerToken(authorization) else { return nil }
        guard let claims = try await validAccessToken(token), claims.extra["managed_id"] == nil,
            let clientID = claims.extra["client_id"]?.stringValue,
            let granted = claims.extra["scope"]?.stringValue,
            granted.split(separator: " ").contains(where: { $0 == scope })
        else { return nil }
        return clientID
    }

    /// Whom any bearer access token of ours speaks for: the person's account id when a person signed in
    /// (nil for a client acting for itself), the client, and the granted scopes. Nil for no valid token.
    /// - Throws: `CoreError.unavailable` when the store cannot answer.
    public func bearer(_ authorization: String?) async throws(CoreError) -> (
        accountID: String?, clientID: String, scopes: Set<String>
    )? {
        guard let token = Self.bearerToken(authorization), let claims = try await validAccessToken(token),
            let clientID = claims.extra["client_id"]?.stringValue
        else { return nil }
        let scopes = Set((claims.extra["scope"]?.stringValue ?? "").split(separator: " ").map(String.init))
        return (claims.extra["managed_id"] != nil ? claims.subject : nil, clientID, scopes)
    }

    /// The token of `Authorization: Bearer <token>` (RFC 6750 §2.1; the scheme without case).
    static func bearerToken(_ authorization: String?) -> String? {
        guard let authorization, authorization.count > 7, authorization.prefix(7).lowercased() == "bearer " else {
            return nil
        }
        return String(authorization.dropFirst(7)).trimmingCharacters(in: .whitespaces)
    }

    /// The claims of a genuine, unexpired, unrevoked access token of ours; nil for any other token.
    /// - Throws: `CoreError.unavailable` when the key ring, the client registry or the store cannot answer.
    func validAccessToken(_ token: String) async throws(CoreError) -> JWTClaims? {
        guard token.split(separator: ".", omittingEmptySubsequences: false).count == 3,
            let kid = try? JWS.unverifiedKeyID(of: token),
            let key = try await Self.answer({ try await keys.verificationKey(kid: kid) })
        else { return nil }
        let validator = JWTValidator(
            issuer: settings.issuer, audiences: [settings.audience], allowedAlgorithms: Set(SigningAlgorithm.allCases),
            leeway: 0,
            requireIssuedAt: true, requireJWTID: true, requiredType: "at+jwt")
        guard
            let claims = try? validator.validate(
                token, keys: { $0 == kid ? key : nil }, now: Int(now().timeIntervalSince1970)),
            let jti = claims.jwtID,
            let clientID = claims.extra["client_id"]?.stringValue,
            // Tokens of a deleted client die with it.
            try await Self.answer({ try await registry.client(id: clientID) }) != nil
        else { return nil }
        // Not revoked, and a person's tokens die with the account's ability to sign in (deleted, deactivated,
        // locked): one read for both.
        let personal = claims.extra["managed_id"] != nil ? claims.subject : nil
        let live = try await Self.answer {
            try await store.read { reader -> Bool in
                guard try !reader.isAccessTokenRevoked(jti: jti) else { return false }
                guard let personal else { return true }
                guard let account = try reader.account(id: personal) else { return false }
                return account.state == .active && !account.isLocked
            }
        }
        return live ? claims : nil
    }

    /// The enrolment a person's token belongs to, from the device registry as it is now: the device its
    /// sign-in (token family, else `jti`) enrolled, while enrolled. The first token of a sign-in cannot
    /// name it in its claims (the device had not asked for its profile yet), so the registry answers.
    private func enrolment(of claims: JWTClaims) async throws(OAuthError) -> (id: String, mode: String)? {
        guard claims.extra["managed_id"] != nil, let jti = claims.jwtID else { return nil }
        let device: Device?
        do {
            device = try await store.read { reader in
                try reader.device(enrolmentTokenID: try reader.tokenFamilyID(accessTokenJTI: jti) ?? jti)
            }
        } catch {
            throw .serverError("the device registry cannot be read now")
        }
        guard let device, device.state == .enrolled, let mode = device.kind.enrollmentMode else { return nil }
        return (device.id, mode)
    }

    /// `validAccessToken` for the OAuth endpoints: a store that cannot answer is a server error.
    private func checked(_ token: String) async throws(OAuthError) -> JWTClaims? {
        do {
            return try await validAccessToken(token)
        } catch {
            throw .serverError("the token cannot be checked now")
        }
    }

    /// What a read of the key ring, client registry or store answers; its failure is `unavailable`.
    private static func answer<T>(_ read: () async throws -> T) async throws(CoreError) -> T {
        do {
            return try await read()
        } catch {
            throw CoreError(.unavailable, "token.store_unavailable", "tokens cannot be checked now: try again")
        }
    }

    private func liveRefreshToken(_ token: String) async -> (RefreshToken, TokenFamily)? {
        let hash = TokenHash.of(token)
        let at = now()
        guard
            let found = try? await store.read({ reader -> (RefreshToken, TokenFamily)? in
                guard let refresh = try reader.refreshToken(hash: hash),
                    let family = try reader.tokenFamily(id: refresh.familyID)
                else { return nil }
                return (refresh, family)
            })
        else { return nil }
        guard found.0.usedAt == nil, found.0.expiresAt > at, found.1.revokedAt == nil else { return nil }
        return found
    }
}
