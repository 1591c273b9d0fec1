public import Foundation
public import TesseraAccounts
public import TesseraCore
import TesseraCrypto
public import TesseraStore

/// The authorization endpoint's rules (RFC 6749 §4.1, RFC 7636, RFC 9700 §2.1): which requests are
/// valid, where errors may go, sign-in with a first-login password change, the browser session, and
/// issuing the single-use code.
public struct AuthorizationService: Sendable {
    let store: any Store
    let accounts: AccountService
    let tokens: TokenService
    let limiter: AttemptLimiter
    /// How long a browser session lets a person skip the sign-in form.
    let sessionLifetime: Duration
    let now: @Sendable () -> Date
    /// Kerberos sign-in through SPNEGO, when configured.
    let negotiate: (any TicketDirectory)?

    /// - Parameter negotiate: accepts `Authorization: Negotiate` tokens (Kerberos tickets) at the
    ///   sign-in page; nil: the page offers only the form.
    public init(
        store: any Store, accounts: AccountService, tokens: TokenService, limiter: AttemptLimiter,
        sessionLifetime: Duration,
        now: @escaping @Sendable () -> Date = { Date() }, negotiate: (any TicketDirectory)? = nil
    ) {
        self.negotiate = negotiate
        self.store = store
        self.accounts = accounts
        self.tokens = tokens
        self.limiter = limiter
        self.sessionLifetime = sessionLifetime
        self.now = now
    }

    /// A checked authorization request.
    public struct Request: Sendable, Equatable {
        public var client: OAuthClient
        public var redirectURI: String
        /// Whether the request named its redirect URI (then the token request must repeat it, RFC 6749 §4.1.3).
        public var redirectURIGiven: Bool
        public var scope: Set<String>
        public var state: String?
        public var codeChallenge: String?
        public var loginHint: String?
        /// The parameters to carry through the sign-in form, as received.
        public var parameters: [(name: String, value: String)]

        public static func == (lhs: Request, rhs: Request) -> Bool {
            lhs.client == rhs.client && lhs.redirectURI == rhs.redirectURI && lhs.scope == rhs.scope
                && lhs.state == rhs.state
                && lhs.codeChallenge == rhs.codeChallenge && lhs.loginHint == rhs.loginHint
        }
    }

    /// Why a request cannot proceed.
    public enum Refusal: Error, Sendable, Equatable {
        /// The client or redirect URI cannot be trusted: show the error, never redirect (§4.1.2.1).
        case page(String)
        /// Tell the client, through its registered redirect URI.
        case redirect(URL)
    }

    static let requestParameters: Set<String> = [
        "response_type", "client_id", "redirect_uri", "scope", "state", "code_challenge", "code_challenge_method",
        "login_hint",
    ]

    /// Checks an authorization request in the order RFC 6749 asks: client and redirect URI first.
    public func validate(_ items: [(name: String, value: String)]) async throws(Refusal) -> Request {
        var values: [String: String] = [:]
        for (name, value) in items where Self.requestParameters.contains(name) {
            guard values[name] == nil else {
                if name == "client_id" || name == "redirect_uri" { throw .page("The request repeats \(name).") }
                continue
            }
            if !value.isEmpty { values[name] = value }
        }
        guard let clientID = values["client_id"] else { throw .page("The request names no client (client_id).") }
        let client: OAuthClient?
        do {
            client = try await store.read { try $0.client(id: clientID) }
        } catch {
            throw .page("The service is unavailable. Try again later.")
        }
        guard let client, client.id.utf8.elementsEqual(clientID.utf8) else {
            throw .page("The request names an unknown client.")
        }
        let redirectURI: String
        if let given = values["redirect_uri"] {
            // Exact comparison (RFC 9700 §4.1.3) of the bytes (Swift's == would match canonically equivalent
            // strings), and the redirect then goes to the registered string itself.
            guard let registered = client.redirectURIs.first(where: { $0.utf8.elementsEqual(given.utf8) }) else {
                throw .page("The redirect URI is not registered for this client.")
            }
            redirectURI = registered
        } else {
            guard client.redirectURIs.count == 1 else { throw .page("The request must name its redirect URI.") }
            redirectURI = client.redirectURIs[0]
        }
        let state = values["state"]
        func refuse(_ code: String, _ description: String) -> Refusal {
            .redirect(Self.redirect(redirectURI, ["error": code, "error_description": description, "state": state]))
        }
        guard values["response_type"] == "code" else {
            throw refuse("unsupported_response_type", "only response_type=code is supported")
        }
        guard client.grants.contains(.authorizationCode) else {
            throw refuse("unauthorized_client", "this client may not use the authorization code grant")
        }
        let scope: Set<String>
        do {
            scope = try tokens.grantedScope(values["scope"], allowed: client.scopes)
        } catch {
            throw refuse("invalid_scope", error.message)
        }
        let challenge = values["code_challenge"]
        if let challenge {
            guard (values["code_challenge_method"] ?? "plain") == "S256" else {
                throw refuse("invalid_request", "code_challenge_method must be S256")
            }
            guard challenge.utf8.count == 43, (try? Base64URL.decode(challenge))?.count == 32 else {
                throw refuse("invalid_request", "code_challenge must be the base64url SHA-256 of the verifier")
            }
        } else if client.pkce == .required {
            throw refuse("invalid_request", "PKCE is required: send code_challenge with code_challenge_method=S256")
        }
        return Request(
            client: client, redirectURI: redirectURI, redirectURIGiven: values["redirect_uri"] != nil, scope: scope,
            state: state, codeChallenge: challenge, loginHint: values["login_hint"],
            parameters: items.filter { Self.requestParameters.contains($0.name) })
    }

    /// A code issued to the client, with where to send the browser.
    public struct Approval: Sendable {
        public var redirect: URL
        /// A new browser session to set as a cookie, when this approval created one.
        public var session: String?

        /// Whether the redirect goes to an enrolling device's callback (`apple-remotemanagement-user-login:`),
        /// whose sign-in ends with a `308` (PROTOCOLS.md §1.4): the device's web-authentication session
        /// takes it whatever the method, and no form is re-sent to a custom scheme.
        public var endsEnrolmentSignIn: Bool { redirect.scheme?.lowercased() == "apple-remotemanagement-user-login" }
    }

    /// The outcome of a sign-in form.
    public enum SignInOutcome: Sendable {
        case approved(Approval)
        /// Show the form again with this message.
        case retry(String)
        /// The password is temporary: show the change form.
        case changePassword(String)
        /// The directory cannot check the password now: show the form again, answered 503.
        case unavailable(String)
    }

    /// Continues with an existing browser session, if it is live and its account can still sign in.
    public func resume(_ request: Request, session: String?) async -> Approval? {
        guard let session,
            let accountID = try? await store.read({ [now] in
                try $0.browserSessionAccount(idHash: TokenHash.of(session), at: now())
            }),
            let account = try? await store.read({ try $0.account(id: accountID) }), account.state == .active,
            !account.isLocked
        else { return nil }
        if let hint = request.loginHint, hint.lowercased() != account.managedID.rawValue { return nil }
        return try? await approve(request, account: account, newSession: false)
    }

    /// Checks the form's credentials; counts toward the per-address limit.
    public func signIn(_ request: Request, username: String, password: String, remoteAddress: String) async
        -> SignInOutcome
    {
        do {
            try limiter.admit(
                keys: [
                    "ip:" + remoteAddress,
                    AttemptLimiter.accountKey(username, managedDomains: accounts.policy.managedDomains),
                ])
        } catch {
            return .retry("Too many attempts. Wait a minute and try again.")
        }
        let account: Account
        do {
            switch try await accounts.signIn(username, password: password) {
            case .signedIn(let signedIn): account = signedIn
            case .passwordChangeRequired:
                return .changePassword("Your password is temporary. Choose a new one to continue.")
            }
        } catch let error as CoreError where error.code == "sign_in.temporary_password_expired" {
            return .retry("Your temporary password has expired. Ask an administrator for a new one.")
        } catch let error as CoreError where error.kind == .unavailable {
            return .unavailable("The directory cannot check your password right now. Try again in a minute.")
        } catch {
            return .retry("The managed ID or password is wrong, or the account cannot sign in.")
        }
        return await approveOrRetry(request, account: account)
    }

    /// Whether the sign-in page offers SPNEGO (`WWW-Authenticate: Negotiate`).
    public var offersNegotiate: Bool { negotiate != nil }

    /// A sign-in vouched for by a Kerberos ticket (SPNEGO): the approval and the token for the reply,
    /// or nil when the token is not accepted (the page then shows the form).
    public func signIn(_ request: Request, negotiateToken: [UInt8]) async -> (Approval, reply: [UInt8]?)? {
        guard let negotiate else { return nil }
        do {
            let (identity, reply) = try await negotiate.authenticate(negotiateToken: negotiateToken)
            let account = try await accounts.signIn(vouched: identity)
            if Self.enrollingAccount(request, isNot: account) != nil { return nil }
            return (try await approve(request, account: account, newSession: true), reply)
        } catch {
            return nil
        }
    }

    /// First sign-in: replaces the temporary password, then continues.
    public func changePassword(
        _ request: Request, username: String, current: String, new: String, confirmation: String, remoteAddress: String
    )
        async -> SignInOutcome
    {
        do {
            try limiter.admit(
                keys: [
                    "ip:" + remoteAddress,
                    AttemptLimiter.accountKey(username, managedDomains: accounts.policy.managedDomains),
                ])
        } catch {
            return .changePassword("Too many attempts. Wait a minute and try again.")
        }
        guard new == confirmation else { return .changePassword("The new passwords do not match.") }
        let account: Account
        do {
            account = try await accounts.changePassword(username, current: current, new: new)
        } catch let error as CoreError where error.kind == .invalidInput {
            return .changePassword(error.message.prefix(1).uppercased() + error.message.dropFirst() + ".")
        } catch {
            return .changePassword("The managed ID or current password is wrong, or the account cannot sign in.")
        }
        return await approveOrRetry(request, account: account)
    }

    /// Ends a browser session (sign-out).
    public func endSession(_ session: String) async {
        _ = try? await store.write { try $0.deleteBrowserSession(idHash: TokenHash.of(session)) }
    }

    private func approveOrRetry(_ request: Request, account: Account) async -> SignInOutcome {
        if let wanted = Self.enrollingAccount(request, isNot: account) {
            return .retry("This device is enrolling \(wanted): sign in as that account.")
        }
        do {
            return .approved(try await approve(request, account: account, newSession: true))
        } catch {
            return .retry("The service could not complete the sign-in. Try again.")
        }
    }

    /// The account an enrolling device asks to sign in (its `login_hint`: the identifier its user typed,
    /// which the profile's `AssignedManagedAppleID` must match, PROTOCOLS.md §1.5) when the client is the
    /// enrolling device and `account` is not that one; nil when the sign-in may go on.
    static func enrollingAccount(_ request: Request, isNot account: Account) -> String? {
        guard request.client.pkce == .appleEnrolment, let hint = request.loginHint?.lowercased(),
            hint != account.managedID.rawValue
        else { return nil }
        return hint
    }

    /// Creates the token family and the code, and optionally a browser session.
    private func approve(_ request: Request, account: Account, newSession: Bool) async throws -> Approval {
        let at = now()
        let code = TokenHash.newToken()
        let session = newSession && sessionLifetime > .zero ? TokenHash.newToken() : nil
        let client = request.client
        let family = TokenFamily(
            id: UUID().uuidString.lowercased(), clientID: client.id, accountID: account.id, createdAt: at,
            expiresAt: at.adding(AuthorizationCode.lifetime).adding(client.refreshTokenLifetime).adding(
                client.accessTokenLifetime))
        let record = AuthorizationCode(
            codeHash: TokenHash.of(code), familyID: family.id, clientID: client.id, accountID: account.id,
            redirectURI: request.redirectURIGiven ? request.redirectURI : "",
            scope: request.scope, codeChallenge: request.codeChallenge, createdAt: at,
            expiresAt: at.adding(AuthorizationCode.lifetime))
        let lifetime = sessionLifetime
        try await store.change { transaction in
            try transaction.insert(family)
            try transaction.insert(record)
            if let session {
                try transaction.insertBrowserSession(
                    idHash: TokenHash.of(session), accountID: account.id, createdAt: at, expiresAt: at.adding(lifetime))
            }
        }
        return Approval(
            redirect: Self.redirect(request.redirectURI, ["code": code, "state": request.state]), session: session)
    }

    /// `uri` with the parameters added to its query (RFC 6749 §4.1.2: keep the existing query).
    static func redirect(_ uri: String, _ parameters: [String: String?]) -> URL {
        var text = uri
        let pairs = parameters.sorted { $0.key < $1.key }.compactMap { name, value in value.map { (name, $0) } }
        for (index, (name, value)) in pairs.enumerated() {
            text += (index == 0 && !uri.contains("?") ? "?" : "&") + name + "=" + Self.formEncode(value)
        }
        // Validated redirect URIs are well-formed, so this cannot fail.
        return URL(string: text)!
    }

    static func formEncode(_ text: String) -> String {
        // Unreserved characters of RFC 3986, ASCII only; everything else is percent-encoded.
        let allowed = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? ""
    }
}
