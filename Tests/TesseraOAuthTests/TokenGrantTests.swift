import Foundation
import TesseraAccounts
import TesseraCore
import TesseraCrypto
import TesseraStore
import Testing

@testable import TesseraOAuth

@Suite struct ClientCredentialsTests {
    @Test func issuesAnRFC9068AccessToken() async throws {
        let fixture = try OAuthFixture()
        defer { fixture.remove() }
        let mdm = try await fixture.client(
            ClientRegistration(
                name: "mdm", grants: ["client_credentials"], scopes: ["mdm", "sync:read"],
                role: "device-enrolment-manager"))
        let secret = try #require(mdm.secret)
        let issued = try await fixture.token(
            [("grant_type", "client_credentials"), ("scope", "mdm")], basic: (mdm.client.id, secret))
        #expect(issued.refreshToken == nil && issued.expiresIn == 900 && issued.scope == ["mdm"])
        let claims = try await fixture.claims(issued.accessToken)
        #expect(claims.subject == mdm.client.id)
        #expect(claims.extra["client_id"]?.stringValue == mdm.client.id)
        #expect(claims.extra["scope"]?.stringValue == "mdm")
        #expect(claims.extra["roles"] == .array([.string("device-enrolment-manager")]))
        #expect(claims.expiresAt == Int(fixture.clock.now.timeIntervalSince1970) + 900)
        // No scope asked: everything the client may have.
        let all = try await fixture.token([
            ("grant_type", "client_credentials"), ("client_id", mdm.client.id), ("client_secret", secret),
        ])
        #expect(all.scope == ["mdm", "sync:read"])
    }

    @Test func clientAuthenticationErrors() async throws {
        let fixture = try OAuthFixture()
        defer { fixture.remove() }
        let mdm = try await fixture.client(
            ClientRegistration(name: "mdm", grants: ["client_credentials"], scopes: ["mdm"]))
        let secret = try #require(mdm.secret)
        let wrong = await oauthError {
            _ = try await fixture.token([("grant_type", "client_credentials")], basic: (mdm.client.id, "nope"))
        }
        #expect(wrong?.code == "invalid_client" && wrong?.status == 401 && wrong?.challenge?.hasPrefix("Basic") == true)
        let post = await oauthError {
            _ = try await fixture.token([
                ("grant_type", "client_credentials"), ("client_id", mdm.client.id), ("client_secret", "nope"),
            ])
        }
        #expect(post?.code == "invalid_client" && post?.challenge == nil)
        let unknown = await oauthError {
            _ = try await fixture.token([("grant_type", "client_credentials")], basic: ("ghost", "x"))
        }
        #expect(unknown?.code == "invalid_client")
        let none = await oauthError {
            _ = try await fixture.token([("grant_type", "client_credentials"), ("client_id", mdm.client.id)])
        }
        #expect(none?.code == "invalid_client")
        let both = await oauthError {
            _ = try await fixture.token(
                [("grant_type", "client_credentials"), ("client_secret", secret)], basic: (mdm.client.id, secret))
        }
        #expect(both?.code == "invalid_request")
        let scope = await oauthError {
            _ = try await fixture.token(
                [("grant_type", "client_credentials"), ("scope", "admin")], basic: (mdm.client.id, secret))
        }
        #expect(scope?.code == "invalid_scope")
        let grant = await oauthError {
            _ = try await fixture.token([("grant_type", "password")], basic: (mdm.client.id, secret))
        }
        #expect(grant?.code == "unauthorized_client")
        let unsupported = await oauthError {
            _ = try await fixture.token([("grant_type", "implicit")], basic: (mdm.client.id, secret))
        }
        #expect(unsupported?.code == "unsupported_grant_type")
        let missing = await oauthError { _ = try await fixture.token([], basic: (mdm.client.id, secret)) }
        #expect(missing?.code == "invalid_request")
        let repeated = await oauthError {
            _ = try await fixture.token(
                [("grant_type", "client_credentials"), ("grant_type", "client_credentials")],
                basic: (mdm.client.id, secret))
        }
        #expect(repeated?.code == "invalid_request")
        let repeatedEmpty = await oauthError {
            _ = try await fixture.token(
                [("grant_type", "client_credentials"), ("scope", "mdm"), ("scope", "")], basic: (mdm.client.id, secret))
        }
        #expect(repeatedEmpty?.code == "invalid_request")

        // A rotated secret: the old one stops working at once.
        let rotated = try await fixture.clients.rotateSecret("mdm", by: OAuthFixture.root)
        #expect(
            await oauthError {
                _ = try await fixture.token([("grant_type", "client_credentials")], basic: (mdm.client.id, secret))
            }?.code == "invalid_client")
        _ = try await fixture.token([("grant_type", "client_credentials")], basic: (mdm.client.id, rotated.secret!))
    }

    /// The in-memory path gives what the full path gives, declines whatever needs the database or a
    /// pool (cold caches, other grants and methods, a client the cache does not hold), and counts
    /// failed secrets the same way.
    @Test func answeredFromMemoryLikeTheFullPath() async throws {
        // Long cache lifetimes: on a busy machine a second can pass between warming and using them.
        let fixture = try OAuthFixture(attemptsPerMinute: 3, keyRefresh: .seconds(3600), clientCacheAge: .seconds(3600))
        defer { fixture.remove() }
        let mdm = try await fixture.client(
            ClientRegistration(name: "mdm", grants: ["client_credentials"], scopes: ["mdm", "sync:read"]))
        let good = (mdm.client.id, try #require(mdm.secret))
        let form = [("grant_type", "client_credentials"), ("scope", "mdm")]
        #expect(try fixture.tokenWithoutWaiting(form, basic: good) == nil)  // nothing in memory yet
        let full = try await fixture.token(form, basic: good)
        let fast = try #require(try fixture.tokenWithoutWaiting(form, basic: good))
        #expect(fast.scope == full.scope && fast.expiresIn == full.expiresIn && fast.refreshToken == nil)
        let claims = try await fixture.claims(fast.accessToken)
        #expect(claims.subject == mdm.client.id && claims.extra["scope"]?.stringValue == "mdm")
        let post = [("grant_type", "client_credentials"), ("client_id", good.0), ("client_secret", good.1)]
        #expect(try fixture.tokenWithoutWaiting(post, basic: nil)?.scope == ["mdm", "sync:read"])

        // Declined: other grants, public clients, clients registered after the cache was filled.
        #expect(
            try fixture.tokenWithoutWaiting([("grant_type", "refresh_token"), ("refresh_token", "x")], basic: good)
                == nil)
        #expect(try fixture.tokenWithoutWaiting([("grant_type", "client_credentials"), ("client_id", good.0)]) == nil)
        let late = try await ClientService(
            store: fixture.store,
            defaults: .init(accessTokenLifetime: .seconds(900), refreshTokenLifetime: .seconds(86_400)),
            sha256Hex: { SHA256.hexDigest($0) }, registry: ClientRegistry(store: fixture.store),
            now: { fixture.clock.now }
        ).create(ClientRegistration(name: "late", grants: ["client_credentials"]), by: OAuthFixture.root)
        #expect(
            try fixture.tokenWithoutWaiting(
                [("grant_type", "client_credentials")], basic: (late.client.id, late.secret!)) == nil)
        _ = try await fixture.token([("grant_type", "client_credentials")], basic: (late.client.id, late.secret!))

        // Refused alike, and failed secrets count toward the address's limit.
        func fastError(_ form: [(String, String)], _ basic: (String, String)) -> OAuthError? {
            do {
                _ = try fixture.tokenWithoutWaiting(form, basic: basic)
                return nil
            } catch {
                return error
            }
        }
        #expect(fastError([("grant_type", "client_credentials"), ("scope", "admin")], good)?.code == "invalid_scope")
        for _ in 0..<3 {
            let wrong = fastError(form, (good.0, "wrong"))
            #expect(
                wrong?.code == "invalid_client" && wrong?.status == 401 && wrong?.challenge?.hasPrefix("Basic") == true)
        }
        #expect(fastError(form, good)?.status == 429)
        #expect(await oauthError { _ = try await fixture.token(form, basic: good) }?.status == 429)
    }

    @Test func basicCredentialsAreFormDecoded() async throws {
        #expect(
            try ClientAuthentication.basicCredentials("Basic " + Data("a%3Ab:s%2Bc+d".utf8).base64EncodedString())! == (
                "a:b", "s+c d"
            ))
        #expect(try ClientAuthentication.basicCredentials("Bearer xyz") == nil)
        #expect(throws: OAuthError.self) { try ClientAuthentication.basicCredentials("Basic !!!") }
        #expect(throws: OAuthError.self) {
            try ClientAuthentication.basicCredentials("Basic " + Data("nocolon".utf8).base64EncodedString())
        }
    }

    @Test func passwordBearingRequestsAreRateLimited() async throws {
        let fixture = try OAuthFixture(attemptsPerMinute: 3)
        defer { fixture.remove() }
        let mdm = try await fixture.client(ClientRegistration(name: "mdm", grants: ["client_credentials"]))
        // A valid secret is never slowed down…
        for _ in 0..<10 {
            _ = try await fixture.token([("grant_type", "client_credentials")], basic: (mdm.client.id, mdm.secret!))
        }
        // …but guessing is.
        for _ in 0..<3 {
            _ = await oauthError {
                _ = try await fixture.token([("grant_type", "client_credentials")], basic: (mdm.client.id, "wrong"))
            }
        }
        let limited = await oauthError {
            _ = try await fixture.token([("grant_type", "client_credentials")], basic: (mdm.client.id, mdm.secret!))
        }
        #expect(limited?.status == 429 && (limited?.retryAfter ?? 0) >= 1)
        // Another address and client still get through.
        let other = try await fixture.client(ClientRegistration(name: "other", grants: ["client_credentials"]))
        _ = try await fixture.token(
            [("grant_type", "client_credentials")], basic: (other.client.id, other.secret!), address: "10.0.0.9")
        // User passwords count every attempt.
        let app = try await fixture.client(ClientRegistration(name: "app", grants: ["password"]))
        _ = try await fixture.person("jane")
        let form = [
            ("grant_type", "password"), ("username", "jane@appleid.example.com"),
            ("password", "correct horse battery staple"),
        ]
        for _ in 0..<3 { _ = try await fixture.token(form, basic: (app.client.id, app.secret!), address: "10.0.0.7") }
        #expect(
            await oauthError {
                _ = try await fixture.token(form, basic: (app.client.id, app.secret!), address: "10.0.0.8")
            }?.status == 429)
    }
}

@Suite struct BearerTokenTests {
    /// A device or MDM whose token cannot be checked because the store is down gets told so (the callers
    /// answer 503), never that the token is invalid (401 would send a device to sign in again).
    @Test func aStoreThatCannotAnswerIsNotAnInvalidToken() async throws {
        let fixture = try OAuthFixture()
        defer { fixture.remove() }
        let mdm = try await fixture.client(
            ClientRegistration(name: "mdm", grants: ["client_credentials"], scopes: ["devices"]))
        let issued = try await fixture.token(
            [("grant_type", "client_credentials")], basic: (mdm.client.id, try #require(mdm.secret)))
        let store = FailingStore(fixture.store)
        let inspection = TokenInspection(
            store: store, keys: fixture.keys, clients: ClientRegistry(store: fixture.store),
            settings: TokenService.Settings(issuer: OAuthFixture.issuer, audience: "tessera"),
            now: { fixture.clock.now })
        let header = "Bearer " + issued.accessToken
        #expect(try await inspection.bearer(header)?.clientID == mdm.client.id)
        #expect(try await inspection.bearerClient(header, scope: "devices") == mdm.client.id)
        #expect(try await inspection.bearer("Bearer not.a.token") == nil)
        store.failing.withLock { $0 = true }
        for check in [
            { _ = try await inspection.bearer(header) },
            { _ = try await inspection.bearerClient(header, scope: "devices") },
            { _ = try await inspection.bearerAccount(header, clientID: mdm.client.id) },
        ] as [@Sendable () async throws -> Void] {
            await #expect(throws: CoreError(.unavailable, "token.store_unavailable", "tokens cannot be checked now: try again")) {
                try await check()
            }
        }
        // A token that is not ours needs no store to be refused.
        #expect(try await inspection.bearer("Bearer not.a.token") == nil)
    }
}

@Suite struct PrivateKeyJWTTests {
    func clientWithKey(_ fixture: OAuthFixture, grants: [String], role: String? = nil) async throws -> (
        OAuthClient, SigningKey
    ) {
        let key = try SigningKey.generate(.es256)
        let der = try key.publicKey().subjectPublicKeyInfo()
        let pem =
            "-----BEGIN PUBLIC KEY-----\n"
            + Data(der).base64EncodedString(options: [.lineLength64Characters, .endLineWithLineFeed])
            + "\n-----END PUBLIC KEY-----\n"
        let client = try await fixture.client(
            ClientRegistration(name: "signer", grants: grants, publicKeys: [pem], role: role)
        ).client
        return (client, key)
    }

    func assertion(_ key: SigningKey, iss: String, sub: String, aud: String, jti: String, now: Date, lifetime: Int = 60)
        throws -> String
    {
        let iat = Int(now.timeIntervalSince1970)
        return try JWT.sign(
            JWTClaims(issuer: iss, subject: sub, audience: [aud], expiresAt: iat + lifetime, issuedAt: iat, jwtID: jti),
            key: key, kid: "any")
    }

    @Test func authenticatesWithASignedAssertionOnce() async throws {
        let fixture = try OAuthFixture()
        defer { fixture.remove() }
        let (client, key) = try await clientWithKey(fixture, grants: ["client_credentials"])
        let jwt = try assertion(
            key, iss: client.id, sub: client.id, aud: OAuthFixture.issuer + "/oauth2/token", jti: "one",
            now: fixture.clock.now)
        let form = [
            ("grant_type", "client_credentials"), ("client_assertion_type", ClientAuthentication.assertionType),
            ("client_assertion", jwt),
        ]
        _ = try await fixture.token(form)
        #expect(await oauthError { _ = try await fixture.token(form) }?.code == "invalid_client")
        let wrongAudience = try assertion(
            key, iss: client.id, sub: client.id, aud: "https://elsewhere.example", jti: "two", now: fixture.clock.now)
        #expect(
            await oauthError {
                _ = try await fixture.token([form[0], form[1], ("client_assertion", wrongAudience)])
            }?.code == "invalid_client")
        let otherKey = try SigningKey.generate(.es256)
        let forged = try assertion(
            otherKey, iss: client.id, sub: client.id, aud: OAuthFixture.issuer, jti: "three", now: fixture.clock.now)
        #expect(
            await oauthError { _ = try await fixture.token([form[0], form[1], ("client_assertion", forged)]) }?.code
                == "invalid_client")
        let long = try assertion(
            key, iss: client.id, sub: client.id, aud: OAuthFixture.issuer, jti: "four", now: fixture.clock.now,
            lifetime: 7200)
        #expect(
            await oauthError { _ = try await fixture.token([form[0], form[1], ("client_assertion", long)]) }?.code
                == "invalid_client")
    }

    @Test func jwtBearerGrantActsForAnAccount() async throws {
        let fixture = try OAuthFixture()
        defer { fixture.remove() }
        let (client, key) = try await clientWithKey(
            fixture, grants: ["urn:ietf:params:oauth:grant-type:jwt-bearer"], role: "people-manager")
        let jane = try await fixture.person("jane", roles: ["content-manager"])
        let auth = try assertion(
            key, iss: client.id, sub: client.id, aud: OAuthFixture.issuer, jti: "auth-1", now: fixture.clock.now)
        let grant = try assertion(
            key, iss: client.id, sub: "jane@appleid.example.com", aud: OAuthFixture.issuer, jti: "grant-1",
            now: fixture.clock.now)
        let form = [
            ("grant_type", GrantType.jwtBearer.rawValue), ("assertion", grant),
            ("client_assertion_type", ClientAuthentication.assertionType),
            ("client_assertion", auth),
        ]
        let issued = try await fixture.token(form)
        let claims = try await fixture.claims(issued.accessToken)
        #expect(claims.subject == jane.id)
        #expect(claims.extra["managed_id"]?.stringValue == "jane@appleid.example.com")
        #expect(claims.extra["roles"] == .array([.string("content-manager")]))
        let auth2 = try assertion(
            key, iss: client.id, sub: client.id, aud: OAuthFixture.issuer, jti: "auth-2", now: fixture.clock.now)
        let replay = await oauthError {
            _ = try await fixture.token([form[0], form[1], form[2], ("client_assertion", auth2)])
        }
        #expect(replay?.code == "invalid_grant")
        let auth3 = try assertion(
            key, iss: client.id, sub: client.id, aud: OAuthFixture.issuer, jti: "auth-3", now: fixture.clock.now)
        let ghost = try assertion(
            key, iss: client.id, sub: "ghost@appleid.example.com", aud: OAuthFixture.issuer, jti: "grant-2",
            now: fixture.clock.now)
        #expect(
            await oauthError {
                _ = try await fixture.token([form[0], ("assertion", ghost), form[2], ("client_assertion", auth3)])
            }?.code == "invalid_grant")
        // Never for an account its role does not govern.
        _ = try await fixture.person("boss", roles: ["administrator"])
        let auth4 = try assertion(
            key, iss: client.id, sub: client.id, aud: OAuthFixture.issuer, jti: "auth-4", now: fixture.clock.now)
        let boss = try assertion(
            key, iss: client.id, sub: "boss@appleid.example.com", aud: OAuthFixture.issuer, jti: "grant-3",
            now: fixture.clock.now)
        let refused = await oauthError {
            _ = try await fixture.token([form[0], ("assertion", boss), form[2], ("client_assertion", auth4)])
        }
        #expect(refused?.code == "invalid_grant" && refused?.message.contains("may not act for") == true)
    }
}

@Suite struct PasswordAndRefreshTests {
    @Test func passwordGrantThenRefreshRotationAndReuseDetection() async throws {
        let fixture = try OAuthFixture()
        defer { fixture.remove() }
        let app = try await fixture.client(
            ClientRegistration(name: "app", grants: ["password", "refresh_token"], scopes: ["mdm", "profile"]))
        let basic = (app.client.id, app.secret!)
        _ = try await fixture.person("jane")
        let wrong = await oauthError {
            _ = try await fixture.token(
                [("grant_type", "password"), ("username", "jane@appleid.example.com"), ("password", "nope")],
                basic: basic)
        }
        #expect(wrong?.code == "invalid_grant")
        let first = try await fixture.token(
            [
                ("grant_type", "password"), ("username", "jane@appleid.example.com"),
                ("password", "correct horse battery staple"),
            ], basic: basic)
        let refresh1 = try #require(first.refreshToken)
        let second = try await fixture.token(
            [("grant_type", "refresh_token"), ("refresh_token", refresh1), ("scope", "mdm")], basic: basic)
        #expect(second.scope == ["mdm"])
        let refresh2 = try #require(second.refreshToken)
        #expect(refresh2 != refresh1)
        let widened = await oauthError {
            _ = try await fixture.token(
                [("grant_type", "refresh_token"), ("refresh_token", refresh2), ("scope", "admin")], basic: basic)
        }
        #expect(widened?.code == "invalid_scope")
        // Reusing the rotated token revokes the family: the newest refresh and access tokens die too.
        let reuse = await oauthError {
            _ = try await fixture.token([("grant_type", "refresh_token"), ("refresh_token", refresh1)], basic: basic)
        }
        #expect(reuse?.code == "invalid_grant")
        let after = await oauthError {
            _ = try await fixture.token([("grant_type", "refresh_token"), ("refresh_token", refresh2)], basic: basic)
        }
        #expect(after?.code == "invalid_grant")
        let introspected = try await fixture.inspection.introspect(
            [(name: "token", value: second.accessToken)], authorization: basicHeader(basic))
        #expect(!introspected.active)
    }

    @Test func temporaryPasswordsMustBeChangedFirst() async throws {
        let fixture = try OAuthFixture()
        defer { fixture.remove() }
        let app = try await fixture.client(ClientRegistration(name: "app", grants: ["password"]))
        let issued = try await fixture.accounts.create(
            NewAccount(managedID: "new@appleid.example.com", givenName: "N", familyName: "E"), by: OAuthFixture.root)
        let error = await oauthError {
            _ = try await fixture.token(
                [
                    ("grant_type", "password"), ("username", "new@appleid.example.com"),
                    ("password", issued.temporaryPassword!),
                ],
                basic: (app.client.id, app.secret!))
        }
        #expect(error?.code == "invalid_grant" && error?.message.contains("temporary") == true)
    }
}

@Suite struct AuthorizationCodeGrantTests {
    /// A code as the authorization endpoint stores it.
    func code(
        _ fixture: OAuthFixture, client: OAuthClient, account: Account, redirect: String, challenge: String?,
        expires: Double = 60
    ) async throws -> String {
        let code = TokenHash.newToken()
        let family = TokenFamily(
            id: UUID().uuidString, clientID: client.id, accountID: account.id, createdAt: fixture.clock.now,
            expiresAt: fixture.clock.now.addingTimeInterval(86_400 * 2))
        let record = AuthorizationCode(
            codeHash: TokenHash.of(code), familyID: family.id, clientID: client.id, accountID: account.id,
            redirectURI: redirect,
            scope: ["mdm"], codeChallenge: challenge, createdAt: fixture.clock.now,
            expiresAt: fixture.clock.now.addingTimeInterval(expires))
        try await fixture.store.write { transaction in
            try transaction.insert(family)
            try transaction.insert(record)
        }
        return code
    }

    @Test func redeemsOnceWithPKCEAndRevokesOnReplay() async throws {
        let fixture = try OAuthFixture()
        defer { fixture.remove() }
        let web = try await fixture.client(
            ClientRegistration(
                name: "web", grants: ["authorization_code", "refresh_token"],
                redirectURIs: ["https://app.example.com/cb"], scopes: ["mdm"]))
        let jane = try await fixture.person("jane")
        let verifier = String(repeating: "v", count: 50)
        let challenge = Base64URL.encode(SHA256.hash(Array(verifier.utf8)))
        let basic = (web.client.id, web.secret!)
        let value = try await code(
            fixture, client: web.client, account: jane, redirect: "https://app.example.com/cb", challenge: challenge)
        let form = [
            ("grant_type", "authorization_code"), ("code", value), ("redirect_uri", "https://app.example.com/cb"),
            ("code_verifier", verifier),
        ]
        let issued = try await fixture.token(form, basic: basic)
        #expect(issued.refreshToken != nil && issued.scope == ["mdm"])
        #expect(
            try await fixture.claims(issued.accessToken).extra["managed_id"]?.stringValue == "jane@appleid.example.com")
        let replay = await oauthError { _ = try await fixture.token(form, basic: basic) }
        #expect(replay?.code == "invalid_grant")
        // Everything issued from the code is revoked.
        let status = try await fixture.inspection.introspect(
            [(name: "token", value: issued.accessToken)], authorization: basicHeader(basic))
        #expect(!status.active)
        let refresh = await oauthError {
            _ = try await fixture.token(
                [("grant_type", "refresh_token"), ("refresh_token", issued.refreshToken!)], basic: basic)
        }
        #expect(refresh?.code == "invalid_grant")
    }

    @Test func codeChecks() async throws {
        let fixture = try OAuthFixture()
        defer { fixture.remove() }
        let web = try await fixture.client(
            ClientRegistration(
                name: "web", grants: ["authorization_code"], redirectURIs: ["https://app.example.com/cb"],
                scopes: ["mdm"]))
        let other = try await fixture.client(
            ClientRegistration(
                name: "other", grants: ["authorization_code"], redirectURIs: ["https://app.example.com/cb"]))
        let jane = try await fixture.person("jane")
        let verifier = String(repeating: "w", count: 43)
        let challenge = Base64URL.encode(SHA256.hash(Array(verifier.utf8)))
        let basic = (web.client.id, web.secret!)
        func redeem(
            _ code: String, redirect: String = "https://app.example.com/cb", verifier: String? = verifier,
            as client: (String, String)? = nil
        )
            async -> OAuthError?
        {
            var form = [("grant_type", "authorization_code"), ("code", code), ("redirect_uri", redirect)]
            if let verifier { form.append(("code_verifier", verifier)) }
            return await oauthError { _ = try await fixture.token(form, basic: client ?? basic) }
        }
        let redirect = "https://app.example.com/cb"
        #expect(
            await redeem(
                try await code(fixture, client: web.client, account: jane, redirect: redirect, challenge: challenge),
                redirect: "https://app.example.com/other")?.code == "invalid_grant")
        #expect(
            await redeem(
                try await code(fixture, client: web.client, account: jane, redirect: redirect, challenge: challenge),
                verifier: nil)?.code == "invalid_grant")
        #expect(
            await redeem(
                try await code(fixture, client: web.client, account: jane, redirect: redirect, challenge: challenge),
                verifier: String(repeating: "x", count: 43))?.code == "invalid_grant")
        #expect(
            await redeem(
                try await code(fixture, client: web.client, account: jane, redirect: redirect, challenge: challenge),
                verifier: "short")?.code == "invalid_request")
        #expect(
            await redeem(
                try await code(fixture, client: web.client, account: jane, redirect: redirect, challenge: nil))?.code
                == "invalid_grant")
        #expect(
            await redeem(
                try await code(fixture, client: web.client, account: jane, redirect: redirect, challenge: nil),
                verifier: nil)?.code == "invalid_grant")
        #expect(
            await redeem(
                try await code(fixture, client: web.client, account: jane, redirect: redirect, challenge: challenge),
                as: (other.client.id, other.secret!))?.code == "invalid_grant")
        let expiring = try await code(
            fixture, client: web.client, account: jane, redirect: redirect, challenge: challenge)
        fixture.clock.advance(seconds: 61)
        #expect(await redeem(expiring)?.code == "invalid_grant")
        #expect(await redeem("not-a-code")?.code == "invalid_grant")
    }

    @Test func appleEnrolmentClientsRedeemWithoutPKCE() async throws {
        let fixture = try OAuthFixture()
        defer { fixture.remove() }
        let redirect = "apple-remotemanagement-user-login:/oauth2/redirection"
        let device = try await fixture.client(
            ClientRegistration(
                name: "enrol", isPublic: true, grants: ["authorization_code", "refresh_token"],
                redirectURIs: [redirect], pkce: "apple-enrolment"))
        let jane = try await fixture.person("jane")
        let value = try await code(fixture, client: device.client, account: jane, redirect: redirect, challenge: nil)
        let issued = try await fixture.token([
            ("grant_type", "authorization_code"), ("code", value), ("redirect_uri", redirect),
            ("client_id", device.client.id),
        ])
        let refreshed = try await fixture.token([
            ("grant_type", "refresh_token"), ("refresh_token", issued.refreshToken!), ("client_id", device.client.id),
        ])
        #expect(refreshed.refreshToken != nil)
    }
}

func basicHeader(_ credentials: (String, String)) -> String {
    "Basic " + Data("\(credentials.0):\(credentials.1)".utf8).base64EncodedString()
}

@Suite struct AccountChangesEndTokensTests {
    @Test func deactivationResetAndDeletionEndAPersonsTokens() async throws {
        let fixture = try OAuthFixture()
        defer { fixture.remove() }
        let app = try await fixture.client(ClientRegistration(name: "app", grants: ["password", "refresh_token"]))
        let rs = try await fixture.client(ClientRegistration(name: "rs", grants: ["client_credentials"]))
        let basic = (app.client.id, app.secret!)
        func signIn(_ local: String, _ password: String = "correct horse battery staple") async throws
            -> TokenService.Issued
        {
            try await fixture.token(
                [("grant_type", "password"), ("username", "\(local)@appleid.example.com"), ("password", password)],
                basic: basic)
        }
        func active(_ token: String) async throws -> Bool {
            try await fixture.inspection.introspect(
                [(name: "token", value: token)], authorization: basicHeader((rs.client.id, rs.secret!))
            ).active
        }
        _ = try await fixture.person("jane")
        let jane = try await signIn("jane")
        #expect(try await active(jane.accessToken))
        _ = try await fixture.accounts.deactivate("jane@appleid.example.com", by: OAuthFixture.root)
        #expect(!(try await active(jane.accessToken)))
        _ = try await fixture.accounts.reactivate("jane@appleid.example.com", by: OAuthFixture.root)
        // Reactivation does not bring revoked tokens back.
        #expect(!(try await active(jane.accessToken)))
        let refresh = await oauthError {
            _ = try await fixture.token(
                [("grant_type", "refresh_token"), ("refresh_token", jane.refreshToken!)], basic: basic)
        }
        #expect(refresh?.code == "invalid_grant")

        _ = try await fixture.person("joe")
        let joe = try await signIn("joe")
        _ = try await fixture.accounts.resetPassword("joe@appleid.example.com", by: OAuthFixture.root)
        #expect(!(try await active(joe.accessToken)))

        _ = try await fixture.person("ann")
        let ann = try await signIn("ann")
        _ = try await fixture.accounts.deactivate("ann@appleid.example.com", by: OAuthFixture.root)
        try await fixture.accounts.delete("ann@appleid.example.com", by: OAuthFixture.root)
        #expect(!(try await active(ann.accessToken)))
    }
}
