import Foundation
import Synchronization
import TesseraAccounts
import TesseraCore
import TesseraCrypto
import TesseraStore

@testable import TesseraOAuth

final class TestClock: Sendable {
    private let current = Mutex(Date(timeIntervalSince1970: 1_800_000_000))
    var now: Date { current.withLock { $0 } }
    func advance(seconds: Double) { current.withLock { $0 = $0.addingTimeInterval(seconds) } }
}

struct FastHasher: PasswordHashing {
    let hasher = PasswordHasher(parameters: try! ScryptParameters(logN: 10, r: 8, p: 1))
    func hashPassword(_ password: String) async throws -> String { try await hasher.hash(password) }
    func verifyPassword(_ password: String, against hash: String) async throws -> PasswordCheck {
        switch try await hasher.verify(password, against: hash) {
        case .valid(let needsRehash): .valid(needsRehash: needsRehash)
        case .invalid: .invalid
        }
    }
}

/// An authorization server over a scratch SQLite file, with a movable clock.
struct OAuthFixture {
    static let issuer = "https://id.example.com"
    static let root = Actor.localOperator(unixUser: "root")
    let directory: String
    let store: SQLiteStore
    let clock = TestClock()
    let accounts: AccountService
    let clients: ClientService
    let keys: SigningKeyRing
    let tokens: TokenService
    let inspection: TokenInspection
    let audit: AuditService

    /// - Parameters:
    ///   - keyRefresh: how long the key ring trusts its in-memory keys (zero: it reads them on every use,
    ///     so the token fast path never applies).
    ///   - clientCacheAge: how long the client registry trusts its in-memory clients.
    init(
        prepublish: Duration = .seconds(3600), attemptsPerMinute: Int = 1000, keyRefresh: Duration = .zero,
        passwordDirectory: (any PasswordDirectory)? = nil, clientCacheAge: Duration = .seconds(1)
    ) throws {
        directory = NSTemporaryDirectory() + "tessera-oauth-\(UUID().uuidString)"
        store = try SQLiteStore(path: directory + "/tessera.sqlite3")
        let clock = clock
        let now: @Sendable () -> Date = { clock.now }
        let sha: @Sendable ([UInt8]) -> String = { SHA256.hexDigest($0) }
        accounts = AccountService(
            store: store, policy: AccountPolicy(managedDomains: try ManagedDomains(["appleid.example.com"])),
            hasher: FastHasher(),
            generateTemporaryPassword: { TemporaryPassword.generate() }, sha256Hex: sha, now: now,
            directory: passwordDirectory)
        let registry = ClientRegistry(store: store, maximumAge: clientCacheAge)
        clients = ClientService(
            store: store, defaults: .init(accessTokenLifetime: .seconds(900), refreshTokenLifetime: .seconds(86_400)),
            sha256Hex: sha,
            registry: registry, now: now)
        let kek = try SigningKeyRing.loadKeyEncryptionKey(path: directory + "/kek").key
        keys = SigningKeyRing(
            store: store, kek: kek, algorithm: .es256, prepublish: prepublish, defaultTokenLifetime: .seconds(900),
            sha256Hex: sha,
            refreshInterval: keyRefresh, now: now)
        let settings = TokenService.Settings(issuer: Self.issuer, audience: "tessera")
        tokens = TokenService(
            store: store, keys: keys, accounts: accounts, clients: registry, settings: settings,
            limiter: AttemptLimiter(perMinute: attemptsPerMinute), now: now)
        inspection = TokenInspection(store: store, keys: keys, clients: registry, settings: settings, now: now)
        audit = AuditService(store: store, sha256Hex: sha)
    }

    func remove() { try? FileManager.default.removeItem(atPath: directory) }

    func client(_ registration: ClientRegistration) async throws -> ClientService.IssuedClient {
        try await clients.create(registration, by: Self.root)
    }

    /// An account with a permanent password.
    func person(_ local: String, password: String = "correct horse battery staple", roles: [String] = []) async throws
        -> Account
    {
        let issued = try await accounts.create(
            NewAccount(managedID: "\(local)@appleid.example.com", givenName: "G", familyName: "F", roles: roles),
            by: Self.root)
        return try await accounts.changePassword(
            issued.account.managedID.rawValue, current: issued.temporaryPassword!, new: password)
    }

    func token(_ parameters: [(String, String)], basic: (String, String)? = nil, address: String = "127.0.0.1")
        async throws(OAuthError)
        -> TokenService.Issued
    {
        let header = basic.map { "Basic " + Data("\($0.0):\($0.1)".utf8).base64EncodedString() }
        return try await tokens.token(
            parameters.map { (name: $0.0, value: $0.1) }, authorization: header, remoteAddress: address)
    }

    /// `token` through the path that answers from memory; nil when it declines.
    func tokenWithoutWaiting(_ parameters: [(String, String)], basic: (String, String)? = nil) throws(OAuthError)
        -> TokenService.Issued?
    {
        let header = basic.map { "Basic " + Data("\($0.0):\($0.1)".utf8).base64EncodedString() }
        return try tokens.tokenWithoutWaiting(
            parameters.map { (name: $0.0, value: $0.1) }, authorization: header, remoteAddress: "127.0.0.1")
    }

    func claims(_ token: String) async throws -> JWTClaims {
        let set = try JWK.parseSet(try await keys.jwks())
        let published = try set.map { (kid: $0.kid ?? "", key: try VerificationKey(jwk: $0)) }
        return try JWTValidator(issuer: Self.issuer, audiences: ["tessera"], requiredType: "at+jwt").validate(
            token, keys: { kid in published.first { $0.kid == kid }?.key }, now: Int(clock.now.timeIntervalSince1970))
    }
}

/// `#expect` for typed OAuth errors.
func oauthError(_ body: () async throws -> Void) async -> OAuthError? {
    do {
        try await body()
        return nil
    } catch let error as OAuthError {
        return error
    } catch {
        return OAuthError("unexpected", String(describing: error))
    }
}

/// A store that fails every read and write while `failing` is set, as a database that went away does.
final class FailingStore: Store {
    struct Failure: Error {}
    let base: any Store
    let failing = Mutex(false)

    init(_ base: any Store) { self.base = base }

    func write<T: Sendable>(_ body: @escaping @Sendable (any StoreTransaction) throws -> T) async throws -> T {
        if failing.withLock({ $0 }) { throw Failure() }
        return try await base.write(body)
    }

    func read<T: Sendable>(_ body: @escaping @Sendable (any StoreReader) throws -> T) async throws -> T {
        if failing.withLock({ $0 }) { throw Failure() }
        return try await base.read(body)
    }

    func checkReachable() async throws {
        if failing.withLock({ $0 }) { throw Failure() }
    }
}
