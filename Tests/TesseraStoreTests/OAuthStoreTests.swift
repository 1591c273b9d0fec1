import Foundation
import TesseraCore
import Testing

@testable import TesseraStore

func sampleClient(_ name: String, grants: Set<GrantType> = [.clientCredentials]) -> OAuthClient {
    let now = Date(timeIntervalSince1970: 1_800_000_000)
    return OAuthClient(
        id: "client-\(name)", name: name, type: .confidential, secretHash: String(repeating: "ab", count: 32),
        publicKeys: ["-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"], grants: grants,
        redirectURIs: grants.contains(.authorizationCode)
            ? ["https://app.example.com/cb", "apple-remotemanagement-user-login:/oauth2/redirection"] : [],
        scopes: ["mdm", "sync:read"], accessTokenLifetime: .seconds(900), refreshTokenLifetime: .seconds(86_400),
        pkce: .required,
        role: .deviceEnrolmentManager, createdAt: now, updatedAt: now)
}

@Suite struct OAuthStoreTests {
    @Test func clientsRoundTripAndStayUnique() async throws {
        let store = try SQLiteStore(path: TemporaryDirectory().database)
        let client = sampleClient("mdm", grants: [.clientCredentials, .authorizationCode, .refreshToken, .jwtBearer])
        try await store.write { try $0.insert(client) }
        #expect(try await store.read { try $0.client(id: "client-mdm") } == client)
        #expect(try await store.read { try $0.client(name: "mdm") } == client)
        var sameName = sampleClient("mdm")
        sameName.id = "other"
        let duplicate = sameName
        await #expect { try await store.write { try $0.insert(duplicate) } } throws: {
            ($0 as? StoreError)?.kind == .duplicate
        }

        var changed = client
        changed.version += 1
        changed.scopes = []
        changed.secretHash = nil
        let next = changed
        try await store.write { try $0.update(next, expectedVersion: client.version) }
        #expect(try await store.read { try $0.client(id: client.id) } == next)
        await #expect { try await store.write { try $0.update(next, expectedVersion: client.version) } } throws: {
            ($0 as? StoreError)?.kind == .staleVersion
        }
        try await store.write { try $0.insert(sampleClient("alpha")) }
        #expect(try await store.read { try $0.clients() }.map(\.name) == ["alpha", "mdm"])
        try await store.write { try $0.deleteClient(id: client.id) }
        #expect(try await store.read { try $0.client(id: client.id) } == nil)
    }

    @Test func signingKeysRoundTrip() async throws {
        let store = try SQLiteStore(path: TemporaryDirectory().database)
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let key = SigningKeyRecord(
            id: "k1", algorithm: "ES256", state: .next, sealedPrivateKey: [1, 0, 255, 7], publicJWK: #"{"kty":"EC"}"#,
            createdAt: now,
            activatesAt: now.addingTimeInterval(60))
        try await store.write { try $0.insert(key) }
        #expect(try await store.read { try $0.signingKeys() } == [key])
        let retired = KeyRotation.retire(key, at: now, longestTokenLifetime: .seconds(900))
        try await store.write { try $0.update(retired) }
        #expect(try await store.read { try $0.signingKeys() } == [retired])
        try await store.write { try $0.deleteSigningKey(id: "k1") }
        #expect(try await store.read { try $0.signingKeys() }.isEmpty)
    }
}
