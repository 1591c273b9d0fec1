import Foundation
import TesseraAccounts
import TesseraCore
import TesseraCrypto
import TesseraStore
import Testing

@testable import TesseraOAuth

@Suite struct SigningKeyRingTests {
    @Test func rotationPublishesFirstThenSignsThenRetires() async throws {
        let fixture = try OAuthFixture(prepublish: .seconds(600))
        defer { fixture.remove() }
        let first = try await fixture.keys.signer().kid
        let next = try await fixture.keys.rotate(by: OAuthFixture.root)
        #expect(next.state == .next)
        // Published at once, not signing yet.
        #expect(
            try JWK.parseSet(try await fixture.keys.jwks()).compactMap(\.kid).sorted() == [first, next.id].sorted())
        #expect(try await fixture.keys.signer().kid == first)
        fixture.clock.advance(seconds: 600)
        #expect(try await fixture.keys.signer().kid == next.id)
        let keys = try await fixture.keys.keys(by: OAuthFixture.root)
        let old = try #require(keys.first { $0.id == first })
        #expect(old.state == .retired)
        #expect(old.removeAfter == fixture.clock.now.addingTimeInterval(900))
        // Still published while its tokens can be valid, then removed.
        #expect(try await fixture.keys.verificationKey(kid: first) != nil)
        fixture.clock.advance(seconds: 900)
        _ = try await fixture.keys.signer()
        #expect(try await fixture.keys.verificationKey(kid: first) == nil)
        let actions = try await fixture.audit.entries(by: OAuthFixture.root).map(\.action).filter {
            $0.hasPrefix("key.")
        }
        #expect(actions == ["key.create", "key.rotate", "key.activate", "key.retire", "key.remove"])
    }

    @Test func retiringTheCurrentKeyNeedsASuccessor() async throws {
        let fixture = try OAuthFixture(prepublish: .seconds(3600))
        defer { fixture.remove() }
        let first = try await fixture.keys.signer().kid
        await #expect { try await fixture.keys.retire(first, by: OAuthFixture.root) } throws: {
            ($0 as? CoreError)?.code == "keys.no_successor"
        }
        let next = try await fixture.keys.rotate(by: OAuthFixture.root)
        let retired = try await fixture.keys.retire(first, by: OAuthFixture.root)
        #expect(retired.state == .retired)
        #expect(try await fixture.keys.signer().kid == next.id)
        await #expect { try await fixture.keys.retire(first, by: OAuthFixture.root) } throws: {
            ($0 as? CoreError)?.code == "keys.already_retired"
        }
        await #expect { try await fixture.keys.retire("nope", by: OAuthFixture.root) } throws: {
            ($0 as? CoreError)?.kind == .notFound
        }
        let staff = Actor.account(
            id: "x", managedID: ManagedAccountID(trusted: "s@appleid.example.com"), roles: [.staff])
        await #expect { try await fixture.keys.rotate(by: staff) } throws: { ($0 as? CoreError)?.kind == .notPermitted }
    }

    @Test func rotatingAFreshDatabaseStillLeavesAKeyThatSigns() async throws {
        let fixture = try OAuthFixture(prepublish: .seconds(3600))
        defer { fixture.remove() }
        let next = try await fixture.keys.rotate(by: OAuthFixture.root)
        let signer = try await fixture.keys.signer()
        #expect(signer.kid != next.id)
        #expect(
            try await fixture.keys.keys(by: OAuthFixture.root).map(\.state).sorted { $0.rawValue < $1.rawValue } == [
                .current, .next,
            ])
        // A database left with only a next key (e.g. the current one removed by hand) activates it at once.
        try await fixture.store.write { try $0.deleteSigningKey(id: signer.kid) }
        try await fixture.keys.ensureSigningKey()
        #expect(try await fixture.keys.signer().kid == next.id)
    }

    @Test func privateKeysAreSealedAndNeedTheirKEK() async throws {
        let fixture = try OAuthFixture()
        defer { fixture.remove() }
        _ = try await fixture.keys.signer()
        let attributes = try FileManager.default.attributesOfItem(atPath: fixture.directory + "/kek")
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        let record = try #require(try await fixture.store.read { try $0.signingKeys() }.first)
        // The stored form is not a PKCS#8 key.
        #expect(throws: CryptoError.self) { try SigningKey(pkcs8DER: record.sealedPrivateKey, algorithm: .es256) }
        let otherKEK = try KeyEncryption(key: SecureRandom.bytes(32))
        let stranger = SigningKeyRing(
            store: fixture.store, kek: otherKEK, algorithm: .es256, prepublish: .zero,
            defaultTokenLifetime: .seconds(900),
            sha256Hex: { SHA256.hexDigest($0) }, refreshInterval: .zero)
        await #expect { _ = try await stranger.signer() } throws: { ($0 as? CoreError)?.code == "keys.unseal" }
        // An existing KEK file is read, never replaced.
        let again = try SigningKeyRing.loadKeyEncryptionKey(path: fixture.directory + "/kek")
        #expect(!again.created)
    }
}

@Suite struct ClientServiceTests {
    @Test func secretsAreShownOnceAndStoredHashed() async throws {
        let fixture = try OAuthFixture()
        defer { fixture.remove() }
        let issued = try await fixture.client(
            ClientRegistration(name: "mdm", grants: ["client_credentials"], scopes: ["mdm"]))
        let secret = try #require(issued.secret)
        #expect(secret.count == 43)
        #expect(issued.client.secretHash == SHA256.hexDigest(Array(secret.utf8)))
        let audit = try await fixture.audit.entries(by: OAuthFixture.root).first { $0.action == "client.create" }
        #expect(audit?.after?.contains(issued.client.secretHash!) == false)
        #expect(audit?.after?.contains(secret) == false)
        await #expect {
            try await fixture.client(ClientRegistration(name: "mdm", grants: ["client_credentials"]))
        } throws: {
            ($0 as? CoreError)?.code == "client.exists"
        }
        let publicClient = try await fixture.client(
            ClientRegistration(
                name: "spa", isPublic: true, grants: ["authorization_code"],
                redirectURIs: ["https://spa.example.com/cb"]))
        #expect(publicClient.secret == nil && publicClient.client.secretHash == nil)
        await #expect { try await fixture.clients.rotateSecret("spa", by: OAuthFixture.root) } throws: {
            ($0 as? CoreError)?.kind == .conflict
        }
    }

    @Test func updatesAreCheckedAndAudited() async throws {
        let fixture = try OAuthFixture()
        defer { fixture.remove() }
        _ = try await fixture.client(ClientRegistration(name: "mdm", grants: ["client_credentials"], scopes: ["mdm"]))
        let updated = try await fixture.clients.update(
            "mdm", .init(scopes: ["mdm sync:read"], role: .some("staff")), by: OAuthFixture.root)
        #expect(updated.scopes == ["mdm", "sync:read"] && updated.role == .staff && updated.version == 2)
        await #expect {
            try await fixture.clients.update("mdm", .init(grants: ["authorization_code"]), by: OAuthFixture.root)
        } throws: {
            ($0 as? CoreError)?.code == "client.redirect_uri_required"
        }
        await #expect {
            try await fixture.clients.update(
                "mdm", .init(redirectURIs: ["http://evil.example.com/cb"]), by: OAuthFixture.root)
        } throws: {
            ($0 as? CoreError)?.code == "client.redirect_uri_invalid"
        }
        await #expect {
            try await fixture.clients.update("mdm", .init(publicKeys: ["not a key"]), by: OAuthFixture.root)
        } throws: {
            ($0 as? CoreError)?.code == "client.public_key_invalid"
        }
        await #expect { try await fixture.clients.update("mdm", .init(), by: OAuthFixture.root) } throws: {
            ($0 as? CoreError)?.code == "client.no_changes"
        }
        let deleted = try await fixture.clients.delete(updated.id, by: OAuthFixture.root)
        #expect(deleted.name == "mdm")
        await #expect { try await fixture.clients.client("mdm", by: OAuthFixture.root) } throws: {
            ($0 as? CoreError)?.kind == .notFound
        }
        let actions = try await fixture.audit.entries(by: OAuthFixture.root).map(\.action).filter {
            $0.hasPrefix("client.")
        }
        #expect(actions == ["client.create", "client.update", "client.delete"])
        let staff = Actor.account(
            id: "x", managedID: ManagedAccountID(trusted: "s@appleid.example.com"), roles: [.peopleManager])
        await #expect { try await fixture.clients.clients(by: staff) } throws: {
            ($0 as? CoreError)?.kind == .notPermitted
        }
    }
}

@Suite struct InspectionTests {
    @Test func introspectAndRevoke() async throws {
        let fixture = try OAuthFixture()
        defer { fixture.remove() }
        let mdm = try await fixture.client(
            ClientRegistration(name: "mdm", grants: ["client_credentials"], scopes: ["mdm"]))
        let other = try await fixture.client(ClientRegistration(name: "rs", grants: ["client_credentials"]))
        let spa = try await fixture.client(
            ClientRegistration(
                name: "spa", isPublic: true, grants: ["authorization_code"],
                redirectURIs: ["https://spa.example.com/cb"]))
        let token = try await fixture.token([("grant_type", "client_credentials")], basic: (mdm.client.id, mdm.secret!))
            .accessToken
        let active = try await fixture.inspection.introspect(
            [(name: "token", value: token)], authorization: basicHeader((other.client.id, other.secret!)))
        #expect(active.active)
        #expect(active.members.contains { $0.0 == "client_id" && $0.1 == .string(mdm.client.id) })
        #expect(active.members.contains { $0.0 == "scope" && $0.1 == .string("mdm") })
        let publicCaller = await oauthError {
            _ = try await fixture.inspection.introspect(
                [(name: "token", value: token), (name: "client_id", value: spa.client.id)], authorization: nil)
        }
        #expect(publicCaller?.code == "invalid_client")
        // Another client cannot revoke it (answered like success); its own client can.
        try await fixture.inspection.revoke(
            [(name: "token", value: token)], authorization: basicHeader((other.client.id, other.secret!)))
        #expect(
            try await fixture.inspection.introspect(
                [(name: "token", value: token)], authorization: basicHeader((other.client.id, other.secret!))
            ).active)
        try await fixture.inspection.revoke(
            [(name: "token", value: token)], authorization: basicHeader((mdm.client.id, mdm.secret!)))
        #expect(
            !(try await fixture.inspection.introspect(
                [(name: "token", value: token)], authorization: basicHeader((other.client.id, other.secret!))
            ).active))
        try await fixture.inspection.revoke(
            [(name: "token", value: "garbage")], authorization: basicHeader((mdm.client.id, mdm.secret!)))
        // Expired tokens are inactive.
        let later = try await fixture.token([("grant_type", "client_credentials")], basic: (mdm.client.id, mdm.secret!))
            .accessToken
        fixture.clock.advance(seconds: 901)
        #expect(
            !(try await fixture.inspection.introspect(
                [(name: "token", value: later)], authorization: basicHeader((other.client.id, other.secret!))
            ).active))
        // A token signed by someone else's key with our kid is inactive.
        let forgedKey = try SigningKey.generate(.es256)
        let kid = try await fixture.keys.signer().kid
        let forged = try JWT.sign(
            JWTClaims(
                issuer: OAuthFixture.issuer, subject: "x", audience: ["tessera"],
                expiresAt: Int(fixture.clock.now.timeIntervalSince1970) + 60,
                issuedAt: Int(fixture.clock.now.timeIntervalSince1970), jwtID: "j"), key: forgedKey, kid: kid,
            type: "at+jwt")
        #expect(
            !(try await fixture.inspection.introspect(
                [(name: "token", value: forged)], authorization: basicHeader((other.client.id, other.secret!))
            ).active))
    }

    @Test func oneLimiterBucketPerPersonHoweverTheNameIsWritten() throws {
        let domains = try ManagedDomains(["appleid.example.com"])
        let keys = ["jane", "Jane", "  jane ", "jane@appleid.example.com", "JANE@AppleID.Example.com"].map {
            AttemptLimiter.accountKey($0, managedDomains: domains)
        }
        #expect(Set(keys) == ["account:jane"])
        #expect(AttemptLimiter.accountKey("jane@example.org", managedDomains: domains) == "account:jane@example.org")
    }

    @Test func limiterRefills() throws {
        let limiter = AttemptLimiter(perMinute: 60, burst: 2)
        let start = ContinuousClock.now
        try limiter.admit(keys: ["a"], now: start)
        try limiter.admit(keys: ["a"], now: start)
        #expect(throws: OAuthError.self) { try limiter.admit(keys: ["a"], now: start) }
        try limiter.admit(keys: ["b"], now: start)
        try limiter.admit(keys: ["a"], now: start + .seconds(1))
        do {
            try limiter.admit(keys: ["a", "c"], now: start + .seconds(1))
            Issue.record("an empty bucket must refuse")
        } catch {
            #expect(error.status == 429 && error.retryAfter == 1)
        }
    }
}

@Suite struct ClientRegistryTests {
    @Test func seesChangesFromAnotherProcessWithinItsMaximumAge() async throws {
        let fixture = try OAuthFixture()
        defer { fixture.remove() }
        let registry = ClientRegistry(store: fixture.store, maximumAge: .milliseconds(200))
        #expect(try await registry.client(id: "nope") == nil)
        // Another service (standing for the CLI) registers a client without telling this registry.
        let other = ClientService(
            store: fixture.store,
            defaults: .init(accessTokenLifetime: .seconds(900), refreshTokenLifetime: .seconds(86_400)),
            sha256Hex: { SHA256.hexDigest($0) })
        let issued = try await other.create(
            ClientRegistration(name: "late", grants: ["client_credentials"]), by: OAuthFixture.root)
        // Known at once, though the registry was not told.
        #expect(try await registry.client(id: issued.client.id)?.name == "late")
        _ = try await other.update("late", .init(scopes: ["mdm"]), by: OAuthFixture.root)
        try await Task.sleep(for: .milliseconds(250))
        #expect(try await registry.client(id: issued.client.id)?.scopes == ["mdm"])
        // Changes through a service wired to the registry apply at once.
        let wired = ClientService(
            store: fixture.store,
            defaults: .init(accessTokenLifetime: .seconds(900), refreshTokenLifetime: .seconds(86_400)),
            sha256Hex: { SHA256.hexDigest($0) }, registry: registry)
        _ = try await wired.delete("late", by: OAuthFixture.root)
        #expect(try await registry.client(id: issued.client.id) == nil)
    }
}
