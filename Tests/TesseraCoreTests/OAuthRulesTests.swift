import Foundation
import TesseraCore
import Testing

@Suite struct OAuthRulesTests {
    @Test func scopes() throws {
        #expect(try OAuthRules.scopes("  mdm sync:read  mdm ") == ["mdm", "sync:read"])
        #expect(throws: CoreError.self) { try OAuthRules.scopes("bad\"scope") }
        #expect(throws: CoreError.self) { try OAuthRules.scopeToken("back\\slash") }
        #expect(throws: CoreError.self) { try OAuthRules.scopeToken("é") }
    }

    @Test func redirectURIs() throws {
        for good in [
            "https://app.example.com/callback?x=1", "http://127.0.0.1:8400/cb", "http://localhost/cb",
            "http://[::1]:9/cb",
            "apple-remotemanagement-user-login:/oauth2/redirection", "com.example.app:/oauth",
        ] {
            #expect(try OAuthRules.redirectURI(good) == good)
        }
        for bad in [
            "/relative", "https://app.example.com/cb#frag", "http://app.example.com/cb", "http://127.0.0.1.evil.com/cb",
            "javascript:alert(1)", "https://", "app example:/x", "1abc:/x", "data:text/html,hi",
        ] {
            #expect(throws: CoreError.self, "\(bad)") { try OAuthRules.redirectURI(bad) }
        }
    }

    @Test func codeVerifiers() {
        #expect(OAuthRules.isValidCodeVerifier(String(repeating: "a", count: 43)))
        #expect(OAuthRules.isValidCodeVerifier(String(repeating: "-._~", count: 32)))
        #expect(!OAuthRules.isValidCodeVerifier(String(repeating: "a", count: 42)))
        #expect(!OAuthRules.isValidCodeVerifier(String(repeating: "a", count: 129)))
        #expect(!OAuthRules.isValidCodeVerifier(String(repeating: "a", count: 42) + "+"))
    }

    func client(_ change: (inout OAuthClient) -> Void) -> OAuthClient {
        var client = OAuthClient(
            id: "c", name: "c", type: .confidential, secretHash: "h", grants: [.clientCredentials],
            accessTokenLifetime: .seconds(900),
            refreshTokenLifetime: .seconds(86_400), createdAt: Date(), updatedAt: Date())
        change(&client)
        return client
    }

    @Test func clientCombinations() throws {
        try ClientRules.check(client { _ in })
        let cases: [(String, (inout OAuthClient) -> Void)] = [
            ("client.no_grant", { $0.grants = [] }),
            (
                "client.public_grant",
                {
                    $0.type = .public; $0.secretHash = nil
                }
            ),
            (
                "client.public_credentials",
                {
                    $0.type = .public; $0.grants = [.authorizationCode]; $0.redirectURIs = ["https://a.example/cb"]
                }
            ),
            ("client.no_credentials", { $0.secretHash = nil }),
            ("client.jwt_bearer_key", { $0.grants = [.jwtBearer] }),
            (
                "client.jwt_bearer_role",
                {
                    $0.grants = [.jwtBearer]; $0.publicKeys = ["pem"]
                }
            ),
            ("client.redirect_uri_required", { $0.grants = [.authorizationCode] }),
            ("client.redirect_uri_unused", { $0.redirectURIs = ["https://a.example/cb"] }),
            ("client.refresh_without_user_grant", { $0.grants = [.clientCredentials, .refreshToken] }),
            ("client.pkce_apple", { $0.pkce = .appleEnrolment }),
            (
                "client.role_unused",
                {
                    $0.grants = [.password]; $0.role = .staff
                }
            ),
            ("client.access_lifetime", { $0.accessTokenLifetime = .seconds(10) }),
            ("client.refresh_lifetime", { $0.refreshTokenLifetime = .seconds(10) }),
        ]
        for (code, change) in cases {
            #expect(throws: CoreError.self, "\(code)") { try ClientRules.check(client(change)) }
            do {
                try ClientRules.check(client(change))
            } catch let error as CoreError {
                #expect(error.code == code)
            }
        }
        let enrolment = client {
            $0.type = .public
            $0.secretHash = nil
            $0.grants = [.authorizationCode, .refreshToken]
            $0.redirectURIs = ["apple-remotemanagement-user-login:/oauth2/redirection"]
            $0.pkce = .appleEnrolment
        }
        try ClientRules.check(enrolment)
        #expect(enrolment.authenticationMethods == [.none])
        #expect(
            client { $0.publicKeys = ["pem"] }.authenticationMethods == [
                .clientSecretBasic, .clientSecretPost, .privateKeyJWT,
            ])
        #expect(try ClientRules.name("mdm-server_1.prod") == "mdm-server_1.prod")
        #expect(throws: CoreError.self) { try ClientRules.name("has space") }
        #expect(try GrantType(parsing: "jwt-bearer") == .jwtBearer)
    }
}

@Suite struct KeyRotationTests {
    let t0 = Date(timeIntervalSince1970: 1_800_000_000)

    func key(_ id: String, _ state: SigningKeyState, activates: Double) -> SigningKeyRecord {
        SigningKeyRecord(
            id: id, algorithm: "ES256", state: state, sealedPrivateKey: [], publicJWK: "{}",
            createdAt: t0.addingTimeInterval(activates - 3600),
            activatesAt: t0.addingTimeInterval(activates))
    }

    @Test func nextKeyTakesOverOnceDueAndTheOldOneRetires() {
        let keys = [key("old", .current, activates: -7200), key("new", .next, activates: 600)]
        #expect(KeyRotation.plan(keys, at: t0, longestTokenLifetime: .seconds(900)).isEmpty)
        #expect(KeyRotation.signingKey(keys)?.id == "old")
        let plan = KeyRotation.plan(keys, at: t0.addingTimeInterval(600), longestTokenLifetime: .seconds(900))
        #expect(plan.updates.map(\.id) == ["new", "old"])
        #expect(plan.updates[0].state == .current)
        #expect(plan.updates[1].state == .retired)
        #expect(plan.updates[1].removeAfter == t0.addingTimeInterval(1500))
    }

    @Test func retiredKeysLeaveOnceTheirTokensExpired() {
        var retired = KeyRotation.retire(
            key("old", .current, activates: -7200), at: t0, longestTokenLifetime: .seconds(900))
        #expect(
            KeyRotation.plan([retired], at: t0.addingTimeInterval(899), longestTokenLifetime: .seconds(900)).removals
                .isEmpty)
        #expect(
            KeyRotation.plan([retired], at: t0.addingTimeInterval(900), longestTokenLifetime: .seconds(900)).removals
                == ["old"])
        retired = KeyRotation.retire(key("unused", .next, activates: 600), at: t0, longestTokenLifetime: .seconds(900))
        #expect(retired.removeAfter == t0)
    }
}
