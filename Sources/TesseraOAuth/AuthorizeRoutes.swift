import Foundation
import TesseraCrypto
public import TesseraHTTP

/// `GET/POST /oauth2/authorize`: the sign-in page in front of `AuthorizationService`.
public struct AuthorizeEndpoint: Sendable {
    let service: AuthorizationService
    /// `scheme://host[:port]` of the issuer; a POST from another origin is refused.
    let origin: String

    static let sessionCookie = "tessera_session"
    static let csrfCookie = "tessera_csrf"

    public init(service: AuthorizationService, issuer: String) {
        self.service = service
        if let url = URL(string: issuer), let scheme = url.scheme, let host = url.host {
            origin = "\(scheme)://\(host)" + (url.port.map { ":\($0)" } ?? "")
        } else {
            origin = issuer
        }
    }

    public func register(in router: inout Router) {
        router.add("GET", "/oauth2/authorize", name: "authorize") { [self] request in await show(request) }
        router.add("POST", "/oauth2/authorize", name: "authorize") { [self] request in await submit(request) }
        router.add("GET", "/oauth2/sign-out", name: "sign_out") { _ in
            Self.html(200, LoginPage.signOut(done: false))
        }
        router.add("POST", "/oauth2/sign-out", name: "sign_out") { [self] request in await signOut(request) }
    }

    private func show(_ request: HTTPRequest) async -> HTTPResponse {
        let authorization: AuthorizationService.Request
        do {
            authorization = try await service.validate(request.queryItems)
        } catch {
            return refusal(error)
        }
        if let approval = await service.resume(
            authorization, session: HTTPCookies.value(Self.sessionCookie, in: request.headers))
        {
            return redirect(approval, status: 302)
        }
        guard service.offersNegotiate else {
            return page(
                authorization, form: .signIn(username: authorization.loginHint), message: nil, request: request,
                status: 200)
        }
        // SPNEGO (RFC 4559): a browser that holds a Kerberos ticket answers the challenge with a token;
        // one that does not shows the form, which is the challenge's body.
        if let token = Self.negotiateToken(request.headers["Authorization"]) {
            if let (approval, reply) = await service.signIn(authorization, negotiateToken: token) {
                var response = redirect(approval, status: 302)
                if let reply { response.headers.set("WWW-Authenticate", "Negotiate " + Base64.encode(reply)) }
                return response
            }
            return page(
                authorization, form: .signIn(username: authorization.loginHint),
                message: "Your Kerberos sign-in was not accepted. Sign in with your password.", request: request,
                status: 200)
        }
        var challenge = page(
            authorization, form: .signIn(username: authorization.loginHint), message: nil, request: request, status: 401
        )
        challenge.headers.set("WWW-Authenticate", "Negotiate")
        return challenge
    }

    /// The token of `Authorization: Negotiate <base64>`, if that is the header.
    static func negotiateToken(_ header: String?) -> [UInt8]? {
        guard let header, header.count > 10, header.prefix(10).lowercased() == "negotiate " else { return nil }
        return try? Base64.decode(String(header.dropFirst(10)).trimmingCharacters(in: .whitespaces))
    }

    private func submit(_ request: HTTPRequest) async -> HTTPResponse {
        guard let items = request.formItems else {
            return Self.html(400, LoginPage.error("The form could not be read."))
        }
        let authorization: AuthorizationService.Request
        do {
            authorization = try await service.validate(items)
        } catch {
            return refusal(error)
        }
        func field(_ name: String) -> String { items.first { $0.name == name }?.value ?? "" }
        // CSRF: the form must carry the token of the browser's own cookie (double submit), and come from
        // our own origin when the browser says where it comes from. (No CSP form-action: browsers apply it
        // to the redirect to the client, which would block it.)
        let cookie = HTTPCookies.value(Self.csrfCookie, in: request.headers) ?? ""
        let presented = field("csrf_token")
        guard !cookie.isEmpty, ConstantTime.equals(Array(cookie.utf8), Array(presented.utf8)),
            request.headers["Origin"].map({ $0 == origin }) ?? true
        else {
            return page(
                authorization, form: .signIn(username: field("username")),
                message: "The form expired. Please sign in again.",
                request: request, status: 403)
        }
        let outcome: AuthorizationService.SignInOutcome
        switch field("action") {
        case "change-password":
            outcome = await service.changePassword(
                authorization, username: field("username"), current: field("password"), new: field("new_password"),
                confirmation: field("confirm_password"), remoteAddress: request.remoteAddress)
        default:
            outcome = await service.signIn(
                authorization, username: field("username"), password: field("password"),
                remoteAddress: request.remoteAddress)
        }
        switch outcome {
        case .approved(let approval):
            // 303 turns the form's POST into a GET at the client.
            return redirect(approval, status: 303)
        case .retry(let message):
            return page(
                authorization, form: .signIn(username: field("username")), message: message, request: request,
                status: 401)
        case .unavailable(let message):
            var response = page(
                authorization, form: .signIn(username: field("username")), message: message, request: request,
                status: 503)
            response.headers.set("Retry-After", "30")
            return response
        case .changePassword(let message):
            return page(
                authorization, form: .changePassword(username: field("username")), message: message, request: request,
                status: 200)
        }
    }

    /// Ends the browser session: the record goes, and the cookie is cleared.
    private func signOut(_ request: HTTPRequest) async -> HTTPResponse {
        if let session = HTTPCookies.value(Self.sessionCookie, in: request.headers) {
            await service.endSession(session)
        }
        var response = Self.html(200, LoginPage.signOut(done: true))
        response.headers.add("Set-Cookie", HTTPCookies.setCookie(Self.sessionCookie, "", path: "/oauth2", maxAge: 0))
        return response
    }

    private func page(
        _ authorization: AuthorizationService.Request, form: LoginPage.Form, message: String?, request: HTTPRequest,
        status: Int
    ) -> HTTPResponse {
        let csrf =
            HTTPCookies.value(Self.csrfCookie, in: request.headers).flatMap { $0.count == 43 ? $0 : nil }
            ?? SecureRandom.token(bytes: 32)
        var response = Self.html(
            status,
            LoginPage.render(
                form: form, clientName: authorization.client.name, message: message, hidden: authorization.parameters,
                csrf: csrf))
        response.headers.add(
            "Set-Cookie",
            HTTPCookies.setCookie(Self.csrfCookie, csrf, path: "/oauth2/authorize", maxAge: nil, sameSite: .strict))
        return response
    }

    /// The approval's redirect with `status`, except that an enrolling device's callback always gets its
    /// `308` (PROTOCOLS.md §1.4).
    private func redirect(_ approval: AuthorizationService.Approval, status: Int) -> HTTPResponse {
        var response = HTTPResponse(status: approval.endsEnrolmentSignIn ? 308 : status)
        response.headers.set("Location", approval.redirect.absoluteString)
        response.headers.set("Cache-Control", "no-store")
        if let session = approval.session {
            response.headers.add(
                "Set-Cookie",
                HTTPCookies.setCookie(
                    Self.sessionCookie, session, path: "/oauth2",
                    maxAge: Int(service.sessionLifetime.components.seconds)))
        }
        return response
    }

    private func refusal(_ refusal: AuthorizationService.Refusal) -> HTTPResponse {
        switch refusal {
        case .page(let message):
            return Self.html(400, LoginPage.error(message))
        case .redirect(let url):
            var response = HTTPResponse(status: 302)
            response.headers.set("Location", url.absoluteString)
            response.headers.set("Cache-Control", "no-store")
            return response
        }
    }

    static func html(_ status: Int, _ body: [UInt8]) -> HTTPResponse {
        var response = HTTPResponse(status: status, body: body)
        response.headers.set("Content-Type", "text/html; charset=utf-8")
        response.headers.set("Cache-Control", "no-store")
        response.headers.set(
            "Content-Security-Policy",
            "default-src 'none'; style-src '\(LoginPage.cssHash)'; frame-ancestors 'none'; base-uri 'none'")
        response.headers.set("X-Frame-Options", "DENY")
        response.headers.set("X-Content-Type-Options", "nosniff")
        // same-origin, not no-referrer: with no-referrer browsers send `Origin: null` on the form POST, which
        // the origin check must refuse; same-origin still sends nothing to the client or anyone else.
        response.headers.set("Referrer-Policy", "same-origin")
        return response
    }
}
