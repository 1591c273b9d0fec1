import Foundation
import TesseraAccounts
import TesseraCore
import TesseraCrypto
import TesseraHTTP
import Testing

@testable import TesseraOAuth

/// The authorization endpoint through its routes, in-process.
struct Browser {
    let router: Router
    var cookies: [String: String] = [:]

    init(_ fixture: OAuthFixture) {
        var router = Router()
        let authorization = AuthorizationService(
            store: fixture.store, accounts: fixture.accounts, tokens: fixture.tokens,
            limiter: AttemptLimiter(perMinute: 1000),
            sessionLifetime: .seconds(3600), now: { fixture.clock.now })
        AuthorizeEndpoint(service: authorization, issuer: OAuthFixture.issuer).register(in: &router)
        OAuthEndpoints(
            tokens: fixture.tokens, inspection: fixture.inspection, keys: fixture.keys, issuer: OAuthFixture.issuer
        ).register(in: &router)
        self.router = router
    }

    mutating func send(
        _ method: String, _ target: String, form: [(String, String)]? = nil, headers extra: [(String, String)] = []
    ) async
        -> HTTPResponse
    {
        var headers = HTTPHeaders(extra)
        if !cookies.isEmpty { headers.add("Cookie", cookies.map { "\($0.key)=\($0.value)" }.joined(separator: "; ")) }
        var body: [UInt8] = []
        if let form {
            headers.set("Content-Type", "application/x-www-form-urlencoded")
            body = Array(
                form.map { "\(AuthorizationService.formEncode($0.0))=\(AuthorizationService.formEncode($0.1))" }.joined(
                    separator: "&"
                ).utf8)
        }
        let response = await router.respond(
            to: HTTPRequest(method: method, target: target, headers: headers, body: body, remoteAddress: "127.0.0.1"))
        for cookie in response.headers.values("Set-Cookie") {
            let pair = cookie.split(separator: ";")[0].split(separator: "=", maxSplits: 1)
            cookies[String(pair[0])] = pair.count > 1 ? String(pair[1]) : ""
        }
        return response
    }
}

extension HTTPResponse {
    var text: String { String(decoding: body, as: UTF8.self) }
    var csrf: String? {
        guard let range = text.range(of: "name=\"csrf_token\" value=\"") else { return nil }
        return String(text[range.upperBound...].prefix { $0 != "\"" })
    }
    func queryValue(_ name: String) -> String? {
        guard let location = headers["Location"], let components = URLComponents(string: location) else { return nil }
        return components.queryItems?.first { $0.name == name }?.value
    }
}

@Suite struct AuthorizeEndpointTests {
    let verifier = String(repeating: "q", count: 64)
    var challenge: String { Base64URL.encode(SHA256.hash(Array(verifier.utf8))) }

    func setUp() async throws -> (OAuthFixture, ClientService.IssuedClient, String) {
        let fixture = try OAuthFixture()
        let client = try await fixture.client(
            ClientRegistration(
                name: "web", grants: ["authorization_code", "refresh_token"],
                redirectURIs: ["https://app.example.com/cb"], scopes: ["mdm"]))
        let issued = try await fixture.accounts.create(
            NewAccount(managedID: "jane@appleid.example.com", givenName: "Jane", familyName: "Doe"),
            by: OAuthFixture.root)
        return (fixture, client, issued.temporaryPassword!)
    }

    func query(_ clientID: String, extra: String = "") -> String {
        "/oauth2/authorize?response_type=code&client_id=\(clientID)&redirect_uri=https%3A%2F%2Fapp.example.com%2Fcb&scope=mdm&state=s%3C1%3E"
            + "&code_challenge=\(challenge)&code_challenge_method=S256&login_hint=jane%40appleid.example.com" + extra
    }

    @Test func firstSignInChangesTheTemporaryPasswordThenIssuesACode() async throws {
        let (fixture, web, temporary) = try await setUp()
        defer { fixture.remove() }
        var browser = Browser(fixture)
        let page = await browser.send("GET", query(web.client.id))
        #expect(page.status == 200)
        #expect(page.headers["Content-Type"] == "text/html; charset=utf-8")
        #expect(page.headers["Content-Security-Policy"]?.contains("default-src 'none'") == true)
        // Not no-referrer: browsers would then send `Origin: null` with the form, which the origin check refuses.
        #expect(page.headers["Referrer-Policy"] == "same-origin")
        #expect(page.text.contains("<label for=\"password\">"))
        #expect(page.text.contains("value=\"jane@appleid.example.com\""))
        #expect(page.text.contains("s&lt;1&gt;") && !page.text.contains("s<1>"))
        let csrf = try #require(page.csrf)
        #expect(
            page.headers.values("Set-Cookie").contains {
                $0.hasPrefix("tessera_csrf=") && $0.contains("HttpOnly") && $0.contains("Secure")
            })
        let hidden = URLComponents(string: query(web.client.id))!.queryItems!.map { ($0.name, $0.value!) }

        let wrong = await browser.send(
            "POST", "/oauth2/authorize",
            form: hidden + [
                ("csrf_token", csrf), ("action", "sign-in"), ("username", "jane@appleid.example.com"),
                ("password", "nope"),
            ])
        #expect(wrong.status == 401 && wrong.text.contains("role=\"alert\""))
        let change = await browser.send(
            "POST", "/oauth2/authorize",
            form: hidden + [
                ("csrf_token", csrf), ("action", "sign-in"), ("username", "jane@appleid.example.com"),
                ("password", temporary),
            ])
        #expect(change.status == 200 && change.text.contains("Choose a new password"))
        let mismatch = await browser.send(
            "POST", "/oauth2/authorize",
            form: hidden + [
                ("csrf_token", csrf), ("action", "change-password"), ("username", "jane@appleid.example.com"),
                ("password", temporary),
                ("new_password", "correct horse battery"), ("confirm_password", "correct horse batterz"),
            ])
        #expect(mismatch.text.contains("do not match"))
        let approved = await browser.send(
            "POST", "/oauth2/authorize",
            form: hidden + [
                ("csrf_token", csrf), ("action", "change-password"), ("username", "jane@appleid.example.com"),
                ("password", temporary),
                ("new_password", "correct horse battery"), ("confirm_password", "correct horse battery"),
            ])
        #expect(approved.status == 303)
        #expect(approved.headers["Location"]?.hasPrefix("https://app.example.com/cb?") == true)
        #expect(approved.queryValue("state") == "s<1>")
        let code = try #require(approved.queryValue("code"))
        #expect(
            approved.headers.values("Set-Cookie").contains {
                $0.hasPrefix("tessera_session=") && $0.contains("SameSite=Lax")
            })

        let token = await browser.send(
            "POST", "/oauth2/token",
            form: [
                ("grant_type", "authorization_code"), ("code", code), ("redirect_uri", "https://app.example.com/cb"),
                ("code_verifier", verifier),
            ],
            headers: [("Authorization", basicHeader((web.client.id, web.secret!)))])
        #expect(token.status == 200 && token.headers["Cache-Control"] == "no-store")
        let json = try JSONSerialization.jsonObject(with: Data(token.body)) as? [String: Any]
        #expect(json?["token_type"] as? String == "Bearer" && json?["refresh_token"] is String)

        // The browser session skips the form next time.
        let again = await browser.send("GET", query(web.client.id))
        #expect(again.status == 302 && again.queryValue("code") != nil)
        // …unless the login hint names someone else.
        let other = await browser.send("GET", query(web.client.id).replacingOccurrences(of: "jane%40", with: "joe%40"))
        #expect(other.status == 200)
        // Signing out forgets it, in the browser and on the server.
        let session = try #require(browser.cookies["tessera_session"])
        #expect(
            await browser.send("GET", "/oauth2/sign-out").text.contains("<button type=\"submit\">Sign out</button>"))
        let signedOut = await browser.send("POST", "/oauth2/sign-out", form: [])
        #expect(
            signedOut.status == 200
                && signedOut.headers.values("Set-Cookie").contains {
                    $0.hasPrefix("tessera_session=;") && $0.contains("Max-Age=0")
                })
        browser.cookies["tessera_session"] = session
        #expect(await browser.send("GET", query(web.client.id)).status == 200)
    }

    /// An enrolling device asks for the account its user typed (`login_hint`); the profile must name that
    /// account, so the sign-in must be that account's, and ends with a 308 to the device's callback.
    @Test func anEnrollingDeviceSignsInOnlyAsTheAccountItAsksFor() async throws {
        let (fixture, _, temporary) = try await setUp()
        defer { fixture.remove() }
        let device = try await fixture.client(
            ClientRegistration(
                name: "enrolling-device", isPublic: true, grants: ["authorization_code"],
                redirectURIs: ["apple-remotemanagement-user-login:/oauth2/redirection"], scopes: ["enrolment"],
                pkce: "apple-enrolment"))
        let joe = try await fixture.accounts.create(
            NewAccount(managedID: "joe@appleid.example.com", givenName: "Joe", familyName: "Doe"), by: OAuthFixture.root)
        var browser = Browser(fixture)
        let query =
            "/oauth2/authorize?response_type=code&client_id=\(device.client.id)"
            + "&redirect_uri=apple-remotemanagement-user-login%3A%2Foauth2%2Fredirection&scope=enrolment&state=u1"
            + "&login_hint=Jane%40appleid.example.com"
        let page = await browser.send("GET", query)
        let csrf = try #require(page.csrf)
        let hidden = URLComponents(string: query)!.queryItems!.map { ($0.name, $0.value!) }
        func change(_ username: String, _ temporary: String) async -> HTTPResponse {
            await browser.send(
                "POST", "/oauth2/authorize",
                form: hidden + [
                    ("csrf_token", csrf), ("action", "change-password"), ("username", username),
                    ("password", temporary), ("new_password", "correct horse battery"),
                    ("confirm_password", "correct horse battery"),
                ])
        }
        let someoneElse = await change("joe@appleid.example.com", try #require(joe.temporaryPassword))
        #expect(someoneElse.status == 401 && someoneElse.headers["Location"] == nil)
        #expect(someoneElse.text.contains("This device is enrolling jane@appleid.example.com"))
        let jane = await change("jane@appleid.example.com", temporary)
        #expect(jane.status == 308 && jane.queryValue("state") == "u1" && jane.queryValue("code") != nil)
        #expect(jane.headers["Location"]?.hasPrefix("apple-remotemanagement-user-login:/oauth2/redirection?") == true)
    }

    @Test func formsWithoutTheCSRFTokenOrFromAnotherOriginAreRefused() async throws {
        let (fixture, web, temporary) = try await setUp()
        defer { fixture.remove() }
        var browser = Browser(fixture)
        let page = await browser.send("GET", query(web.client.id))
        let csrf = try #require(page.csrf)
        let hidden = URLComponents(string: query(web.client.id))!.queryItems!.map { ($0.name, $0.value!) }
        let credentials = [("action", "sign-in"), ("username", "jane@appleid.example.com"), ("password", temporary)]
        #expect(await browser.send("POST", "/oauth2/authorize", form: hidden + credentials).status == 403)
        #expect(
            await browser.send("POST", "/oauth2/authorize", form: hidden + credentials + [("csrf_token", "forged")])
                .status == 403)
        let crossSite = await browser.send(
            "POST", "/oauth2/authorize", form: hidden + credentials + [("csrf_token", csrf)],
            headers: [("Origin", "https://evil.example")])
        #expect(crossSite.status == 403)
        var fresh = Browser(fixture)
        #expect(
            await fresh.send("POST", "/oauth2/authorize", form: hidden + credentials + [("csrf_token", csrf)]).status
                == 403)
    }

    @Test func untrustworthyRequestsShowAnErrorAndOthersRedirectIt() async throws {
        let (fixture, web, _) = try await setUp()
        defer { fixture.remove() }
        var browser = Browser(fixture)
        let unknown = await browser.send(
            "GET", "/oauth2/authorize?response_type=code&client_id=ghost&redirect_uri=https%3A%2F%2Fevil.example%2Fcb")
        #expect(unknown.status == 400 && unknown.headers["Location"] == nil)
        let unregistered = await browser.send(
            "GET",
            "/oauth2/authorize?response_type=code&client_id=\(web.client.id)&redirect_uri=https%3A%2F%2Fapp.example.com%2Fcb%2F..%2Fevil"
        )
        #expect(unregistered.status == 400 && unregistered.headers["Location"] == nil)
        let implicit = await browser.send(
            "GET", query(web.client.id).replacingOccurrences(of: "response_type=code", with: "response_type=token"))
        #expect(
            implicit.status == 302 && implicit.queryValue("error") == "unsupported_response_type"
                && implicit.queryValue("state") == "s<1>")
        let noPKCE = await browser.send(
            "GET",
            "/oauth2/authorize?response_type=code&client_id=\(web.client.id)&redirect_uri=https%3A%2F%2Fapp.example.com%2Fcb&state=x"
        )
        #expect(noPKCE.queryValue("error") == "invalid_request")
        let plain = await browser.send(
            "GET",
            query(web.client.id).replacingOccurrences(
                of: "code_challenge_method=S256", with: "code_challenge_method=plain"))
        #expect(plain.queryValue("error") == "invalid_request")
        let scope = await browser.send(
            "GET", query(web.client.id).replacingOccurrences(of: "scope=mdm", with: "scope=admin"))
        #expect(scope.queryValue("error") == "invalid_scope")
        // A redirect URI may be left out when the client registered exactly one.
        let implied = await browser.send(
            "GET",
            "/oauth2/authorize?response_type=code&client_id=\(web.client.id)&code_challenge=\(challenge)&code_challenge_method=S256"
        )
        #expect(implied.status == 200)
    }

    @Test func metadataAdvertisesTheEndpoints() async throws {
        let fixture = try OAuthFixture()
        defer { fixture.remove() }
        var browser = Browser(fixture)
        let metadata = await browser.send("GET", "/.well-known/oauth-authorization-server")
        let openid = await browser.send("GET", "/.well-known/openid-configuration")
        #expect(metadata.body == openid.body)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(metadata.body)) as? [String: Any])
        #expect(json["issuer"] as? String == OAuthFixture.issuer)
        #expect(json["authorization_endpoint"] as? String == OAuthFixture.issuer + "/oauth2/authorize")
        #expect(json["code_challenge_methods_supported"] as? [String] == ["S256"])
        let jwks = await browser.send("GET", "/oauth2/jwks")
        #expect(jwks.status == 200)
        #expect(try JWK.parseSet(jwks.body).count == 1)
        let wrongType = await browser.send(
            "POST", "/oauth2/token", headers: [("Content-Type", "application/json")])
        #expect(wrongType.status == 400 && wrongType.text.contains("invalid_request"))
    }
}

@Suite struct RedirectExactnessTests {
    @Test func equivalentButDifferentRedirectURIsAreRefused() async throws {
        let fixture = try OAuthFixture()
        defer { fixture.remove() }
        let web = try await fixture.client(
            ClientRegistration(
                name: "web", grants: ["authorization_code"], redirectURIs: ["https://app.example.com/Kb"]))
        var browser = Browser(fixture)
        let challenge = Base64URL.encode(SHA256.hash(Array(String(repeating: "z", count: 43).utf8)))
        // U+212A KELVIN SIGN is canonically equivalent to "K" but a different URI.
        let kelvin =
            "/oauth2/authorize?response_type=code&client_id=\(web.client.id)&redirect_uri=https%3A%2F%2Fapp.example.com%2F%E2%84%AAb"
            + "&code_challenge=\(challenge)&code_challenge_method=S256"
        let refused = await browser.send("GET", kelvin)
        #expect(refused.status == 400 && refused.headers["Location"] == nil)
    }
}

/// A directory that is down.
struct UnreachableDirectory: PasswordDirectory {
    var source: AccountSource { .ldap }
    func authenticate(_ name: String, password: String) async throws -> DirectoryIdentity {
        throw CoreError(.unavailable, "directory.unavailable", "the directory cannot be reached")
    }
}

@Suite struct UnreachableDirectoryTests {
    /// A password the directory should check while it is down: 503 at both endpoints, never "wrong
    /// password"; local accounts still sign in.
    @Test func anUnreachableDirectoryIs503AndLocalAccountsStillSignIn() async throws {
        let fixture = try OAuthFixture(passwordDirectory: UnreachableDirectory())
        defer { fixture.remove() }
        let app = try await fixture.client(ClientRegistration(name: "app", grants: ["password"]))
        let down = await oauthError {
            _ = try await fixture.token(
                [("grant_type", "password"), ("username", "jane"), ("password", "whatever")],
                basic: (app.client.id, app.secret!))
        }
        #expect(down?.code == "temporarily_unavailable" && down?.status == 503 && down?.retryAfter == 30)
        _ = try await fixture.person("local")
        _ = try await fixture.token(
            [
                ("grant_type", "password"), ("username", "local@appleid.example.com"),
                ("password", "correct horse battery staple"),
            ], basic: (app.client.id, app.secret!))

        let web = try await fixture.client(
            ClientRegistration(
                name: "web", grants: ["authorization_code"], redirectURIs: ["https://app.example.com/cb"]))
        var browser = Browser(fixture)
        let target =
            "/oauth2/authorize?response_type=code&client_id=\(web.client.id)&redirect_uri=https%3A%2F%2Fapp.example.com%2Fcb"
            + "&code_challenge=\(String(repeating: "A", count: 43))&code_challenge_method=S256"
        let form = await browser.send("GET", target)
        let hidden = URLComponents(string: target)!.queryItems!.map { ($0.name, $0.value!) }
        let answer = await browser.send(
            "POST", "/oauth2/authorize",
            form: hidden + [
                ("csrf_token", form.csrf ?? ""), ("action", "sign-in"), ("username", "jane"), ("password", "whatever"),
            ])
        #expect(answer.status == 503 && answer.headers["Retry-After"] == "30")
        #expect(answer.text.contains("The directory cannot check your password right now"))
    }
}
