import Foundation
import Synchronization
import TesseraAccounts
import TesseraCore
import TesseraCrypto
import TesseraStore

/// The real scrypt hasher at a low cost, so tests stay fast.
struct TestHasher: PasswordHashing {
    let hasher: PasswordHasher

    init(logN: Int = 10) {
        hasher = PasswordHasher(parameters: try! ScryptParameters(logN: logN, r: 8, p: 1), maxConcurrentHashes: 2)
    }

    func hashPassword(_ password: String) async throws -> String { try await hasher.hash(password) }

    func verifyPassword(_ password: String, against hash: String) async throws -> PasswordCheck {
        switch try await hasher.verify(password, against: hash) {
        case .valid(let needsRehash): .valid(needsRehash: needsRehash)
        case .invalid: .invalid
        }
    }
}

/// A clock tests can move.
final class TestClock: Sendable {
    private let current = Mutex(Date(timeIntervalSince1970: 1_800_000_000))
    var now: Date { current.withLock { $0 } }
    func advance(days: Double) { current.withLock { $0 = $0.addingTimeInterval(days * 86_400) } }
}

/// A service over a fresh SQLite file.
struct Fixture {
    let directory: String
    let store: SQLiteStore
    let clock = TestClock()
    let service: AccountService
    let audit: AuditService
    let policy = AccountPolicy(managedDomains: try! ManagedDomains(["appleid.example.com"]))

    static let root = Actor.localOperator(unixUser: "root")

    init(logN: Int = 10, directory: String? = nil) throws {
        let directory = directory ?? NSTemporaryDirectory() + "tessera-accounts-\(UUID().uuidString)"
        self.directory = directory
        store = try SQLiteStore(path: directory + "/tessera.sqlite3")
        service = Self.service(store: store, clock: clock, logN: logN, policy: policy)
        audit = AuditService(store: store, sha256Hex: { SHA256.hexDigest($0) })
    }

    static func service(store: any Store, clock: TestClock, logN: Int, policy: AccountPolicy) -> AccountService {
        AccountService(
            store: store, policy: policy, hasher: TestHasher(logN: logN),
            generateTemporaryPassword: { TemporaryPassword.generate() },
            sha256Hex: { SHA256.hexDigest($0) }, now: { clock.now })
    }

    func remove() { try? FileManager.default.removeItem(atPath: directory) }

    @discardableResult
    func create(_ local: String, roles: [String] = [], source: String = "local") async throws -> IssuedAccount {
        try await service.create(
            NewAccount(
                managedID: "\(local)@appleid.example.com", givenName: "Given", familyName: "Family", roles: roles,
                source: source),
            by: Self.root)
    }

    func actor(_ local: String) async throws -> Actor {
        try await service.actor(for: "\(local)@appleid.example.com")
    }
}
