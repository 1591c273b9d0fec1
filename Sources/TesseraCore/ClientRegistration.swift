/// A client as an administrator describes it (CLI flags, admin API): raw values, checked by `validated`.
public struct ClientRegistration: Sendable, Equatable {
    public var name: String
    public var isPublic: Bool
    public var grants: [String]
    public var redirectURIs: [String]
    public var scopes: [String]
    public var publicKeys: [String]
    public var pkce: String?
    public var role: String?
    public var accessTokenLifetimeSeconds: Int?
    public var refreshTokenLifetimeSeconds: Int?

    public init(
        name: String, isPublic: Bool = false, grants: [String], redirectURIs: [String] = [], scopes: [String] = [],
        publicKeys: [String] = [], pkce: String? = nil, role: String? = nil, accessTokenLifetimeSeconds: Int? = nil,
        refreshTokenLifetimeSeconds: Int? = nil
    ) {
        self.name = name
        self.isPublic = isPublic
        self.grants = grants
        self.redirectURIs = redirectURIs
        self.scopes = scopes
        self.publicKeys = publicKeys
        self.pkce = pkce
        self.role = role
        self.accessTokenLifetimeSeconds = accessTokenLifetimeSeconds
        self.refreshTokenLifetimeSeconds = refreshTokenLifetimeSeconds
    }
}

/// The rules a client must satisfy, checked at registration and on every update.
public enum ClientRules {
    public static let accessTokenLifetimes = 60...86_400
    public static let refreshTokenLifetimes = 300...(400 * 86_400)

    /// Client names address clients at the command line: 1–64 of letters, digits, `.`, `_`, `-`.
    public static func name(_ text: String) throws -> String {
        guard (1...64).contains(text.utf8.count),
            text.utf8.allSatisfy({ byte in
                (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte) || (0x30...0x39).contains(byte)
                    || byte == 0x2E
                    || byte == 0x5F || byte == 0x2D
            })
        else {
            throw CoreError(
                .invalidInput, "client.name_invalid",
                "client name '\(ManagedAccountID.printable(text))' must be 1 to 64 letters, digits, '.', '_' or '-'")
        }
        return text
    }

    /// Checks the combination of settings (each value is already syntactically valid).
    public static func check(_ client: OAuthClient) throws {
        func invalid(_ code: String, _ message: String) -> CoreError {
            CoreError(.invalidInput, "client.\(code)", "client \(client.name): \(message)")
        }
        guard !client.grants.isEmpty else { throw invalid("no_grant", "needs at least one grant") }
        if client.type == .public {
            for grant in [GrantType.clientCredentials, .jwtBearer, .password] where client.grants.contains(grant) {
                throw invalid(
                    "public_grant", "a public client cannot use the \(grant.rawValue) grant: it cannot authenticate")
            }
            guard client.secretHash == nil, client.publicKeys.isEmpty else {
                throw invalid("public_credentials", "a public client holds no secret or key")
            }
        } else if client.secretHash == nil && client.publicKeys.isEmpty {
            throw invalid("no_credentials", "a confidential client needs a secret or a public key")
        }
        if client.grants.contains(.jwtBearer) && client.publicKeys.isEmpty {
            throw invalid("jwt_bearer_key", "the JWT bearer grant needs the client's public key (--public-key)")
        }
        if client.grants.contains(.authorizationCode) && client.redirectURIs.isEmpty {
            throw invalid("redirect_uri_required", "the authorization_code grant needs at least one redirect URI")
        }
        if !client.grants.contains(.authorizationCode) && !client.redirectURIs.isEmpty {
            throw invalid("redirect_uri_unused", "redirect URIs are only for the authorization_code grant")
        }
        if client.grants.contains(.refreshToken) && !client.grants.contains(.authorizationCode)
            && !client.grants.contains(.password)
        {
            throw invalid("refresh_without_user_grant", "refresh_token needs the authorization_code or password grant")
        }
        if client.pkce == .appleEnrolment && (client.type != .public || !client.grants.contains(.authorizationCode)) {
            throw invalid(
                "pkce_apple",
                "the apple-enrolment PKCE policy is only for a public authorization_code client (the enrolling device)")
        }
        if client.role != nil && !client.grants.contains(.clientCredentials) && !client.grants.contains(.jwtBearer) {
            throw invalid(
                "role_unused",
                "a role is what a client acts with (client_credentials) or for (jwt-bearer); add one of those grants")
        }
        if client.grants.contains(.jwtBearer) && client.role == nil {
            throw invalid(
                "jwt_bearer_role",
                "the JWT bearer grant needs --role: the client may act only for accounts that role governs")
        }
        let access = Int(client.accessTokenLifetime.components.seconds)
        guard accessTokenLifetimes.contains(access) else {
            throw invalid(
                "access_lifetime",
                "access token lifetime must be \(accessTokenLifetimes.lowerBound) to \(accessTokenLifetimes.upperBound) seconds"
            )
        }
        let refresh = Int(client.refreshTokenLifetime.components.seconds)
        guard refreshTokenLifetimes.contains(refresh) else {
            throw invalid(
                "refresh_lifetime",
                "refresh token lifetime must be \(refreshTokenLifetimes.lowerBound) to \(refreshTokenLifetimes.upperBound) seconds"
            )
        }
    }
}
