import CSQLite
import Foundation
import TesseraCore
import Testing

@testable import TesseraStore

/// A fresh directory per test, removed afterwards.
final class TemporaryDirectory {
    let path: String
    init() {
        path = NSTemporaryDirectory() + "tessera-store-\(UUID().uuidString)"
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }
    var database: String { path + "/var/tessera.sqlite3" }
}

func sampleAccount(
    _ managedID: String, roles: Set<Role> = [.staff], source: AccountSource = .local, externalID: String? = nil
) -> Account {
    let now = Date(timeIntervalSince1970: 1_800_000_000)
    return Account(
        id: UUID().uuidString.lowercased(), managedID: ManagedAccountID(trusted: managedID), givenName: "Given",
        familyName: "Family",
        email: "x@example.com", roles: roles, source: source, externalID: externalID,
        credential: source == .local
            ? PasswordCredential(hash: "$scrypt$h", isTemporary: true, expiresAt: now.addingTimeInterval(86_400)) : nil,
        createdAt: now, updatedAt: now)
}

@Suite struct SQLiteStoreTests {
    @Test func createsTheFileWithItsDirectoryAndMigrates() async throws {
        let directory = TemporaryDirectory()
        let store = try SQLiteStore(path: directory.database)
        try await store.checkReachable()
        let attributes = try FileManager.default.attributesOfItem(atPath: directory.database)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        let connection = try SQLiteConnection(path: directory.database, busyTimeoutMilliseconds: 100)
        #expect(try connection.query("PRAGMA journal_mode") { $0.text(0) } == ["wal"])
        #expect(
            try connection.query("SELECT MAX(version) FROM schema_migrations") { Int($0.int(0)) } == [
                SQLiteStore.schemaVersion
            ])
        // Opening again applies nothing twice.
        _ = try SQLiteStore(path: directory.database)
        #expect(
            try connection.query("SELECT COUNT(*) FROM schema_migrations") { Int($0.int(0)) } == [
                SQLiteMigrations.all.count
            ])
    }

    @Test func refusesADatabaseFromANewerBuild() throws {
        let directory = TemporaryDirectory()
        _ = try SQLiteStore(path: directory.database)
        let connection = try SQLiteConnection(path: directory.database, busyTimeoutMilliseconds: 100)
        try connection.execute("INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, 'future', 0)")
        #expect { try SQLiteStore(path: directory.database) } throws: { ($0 as? StoreError)?.kind == .schema }
    }

    @Test func refusesAFileThatIsNotADatabase() throws {
        let directory = TemporaryDirectory()
        try FileManager.default.createDirectory(atPath: directory.path + "/var", withIntermediateDirectories: true)
        try Data("this is not sqlite".utf8).write(to: URL(fileURLWithPath: directory.database))
        #expect(throws: StoreError.self) { try SQLiteStore(path: directory.database) }
    }

    @Test func roundTripsAnAccount() async throws {
        let store = try SQLiteStore(path: TemporaryDirectory().database)
        var account = sampleAccount("jane@appleid.example.com", roles: [.staff, .contentManager])
        account.department = "Sales"
        let inserted = account
        try await store.write { try $0.insert(inserted) }
        let loaded = try await store.read {
            try $0.account(managedID: ManagedAccountID(trusted: "jane@appleid.example.com"))
        }
        #expect(loaded == inserted)
        #expect(try await store.read { try $0.account(id: inserted.id) } == inserted)
    }

    @Test func managedIDsAreUniqueIgnoringCase() async throws {
        let store = try SQLiteStore(path: TemporaryDirectory().database)
        let first = sampleAccount("jane@appleid.example.com")
        try await store.write { try $0.insert(first) }
        let second = sampleAccount("JANE@appleid.example.com")
        await #expect { try await store.write { try $0.insert(second) } } throws: {
            ($0 as? StoreError)?.kind == .duplicate
        }
        let a = sampleAccount("a@appleid.example.com", source: .ldap, externalID: "uuid-1")
        let b = sampleAccount("b@appleid.example.com", source: .ldap, externalID: "uuid-1")
        try await store.write { try $0.insert(a) }
        await #expect { try await store.write { try $0.insert(b) } } throws: { ($0 as? StoreError)?.kind == .duplicate }
    }

    @Test func updatesAreGuardedByVersion() async throws {
        let store = try SQLiteStore(path: TemporaryDirectory().database)
        let account = sampleAccount("jane@appleid.example.com")
        try await store.write { try $0.insert(account) }
        var changed = account.touched(at: Date())
        changed.roles = [.peopleManager]
        let next = changed
        try await store.write { try $0.update(next, expectedVersion: account.version) }
        #expect(try await store.read { try $0.account(id: account.id) }?.roles == [.peopleManager])
        await #expect { try await store.write { try $0.update(next, expectedVersion: account.version) } } throws: {
            ($0 as? StoreError)?.kind == .staleVersion
        }
        try await store.write { try $0.deleteAccount(id: account.id) }
        await #expect { try await store.write { try $0.update(next, expectedVersion: next.version) } } throws: {
            ($0 as? StoreError)?.kind == .notFound
        }
        await #expect { try await store.write { try $0.deleteAccount(id: account.id) } } throws: {
            ($0 as? StoreError)?.kind == .notFound
        }
    }

    @Test func aThrowingTransactionWritesNothing() async throws {
        let store = try SQLiteStore(path: TemporaryDirectory().database)
        struct Abort: Error {}
        let first = sampleAccount("a@appleid.example.com")
        let second = sampleAccount("b@appleid.example.com")
        await #expect(throws: Abort.self) {
            try await store.write { transaction in
                try transaction.insert(first)
                try transaction.insert(second)
                throw Abort()
            }
        }
        #expect(try await store.read { try $0.accounts(matching: AccountQuery()) }.isEmpty)
    }

    @Test func listsWithFiltersAndPaging() async throws {
        let store = try SQLiteStore(path: TemporaryDirectory().database)
        let accounts = [
            sampleAccount("anna@appleid.example.com", roles: [.administrator]),
            sampleAccount("a_b@appleid.example.com"),
            sampleAccount("axb@appleid.example.com"),
            sampleAccount("bob@appleid.example.com", source: .scim, externalID: "e1"),
        ]
        try await store.write { transaction in
            for account in accounts { try transaction.insert(account) }
        }
        func ids(_ query: AccountQuery) async throws -> [String] {
            try await store.read { try $0.accounts(matching: query) }.map(\.managedID.rawValue)
        }
        #expect(
            try await ids(AccountQuery()) == [
                "a_b@appleid.example.com", "anna@appleid.example.com", "axb@appleid.example.com",
                "bob@appleid.example.com",
            ])
        #expect(try await ids(AccountQuery(role: .administrator)) == ["anna@appleid.example.com"])
        #expect(try await ids(AccountQuery(source: .scim)) == ["bob@appleid.example.com"])
        // '_' in a prefix is literal, not a LIKE wildcard.
        #expect(try await ids(AccountQuery(managedIDPrefix: "a_")) == ["a_b@appleid.example.com"])
        #expect(try await ids(AccountQuery(after: "anna@appleid.example.com", limit: 1)) == ["axb@appleid.example.com"])
        #expect(try await ids(AccountQuery(state: .deactivated)).isEmpty)
    }

    @Test func auditEntriesRoundTrip() async throws {
        let store = try SQLiteStore(path: TemporaryDirectory().database)
        let entry = AuditEntry(
            sequence: 1, at: Date(timeIntervalSince1970: 1_800_000_000.123), actor: "operator:root",
            action: "account.create",
            targetType: "account", targetID: "a1", targetName: "jane@appleid.example.com", before: nil, after: "{}",
            previousHash: AuditChain.genesisHash, hash: String(repeating: "a", count: 64))
        try await store.write { try $0.append(entry) }
        #expect(try await store.read { try $0.lastAuditEntry() } == entry)
        #expect(try await store.read { try $0.auditEntries(from: 1, limit: 10) } == [entry])
        // Sequence numbers are unique: a forked chain cannot be stored.
        await #expect { try await store.write { try $0.append(entry) } } throws: {
            ($0 as? StoreError)?.kind == .duplicate
        }
    }
}
