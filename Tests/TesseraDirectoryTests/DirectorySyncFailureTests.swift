import Foundation
import Synchronization
import TesseraAccounts
import TesseraCore
import TesseraCrypto
import TesseraStore
import TesseraTestSupport
import Testing

@testable import TesseraDirectory

/// A sync whose directory dies in the middle of the read changes nothing and deactivates nobody.
@Suite struct DirectorySyncFailureTests {
    @Test func aDirectoryThatDiesMidwayChangesNothing() async throws {
        let server = try await TestDirectory.start()
        defer { server.stop() }
        let path = NSTemporaryDirectory() + "tessera-sync-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let store = try SQLiteStore(path: path + "/tessera.sqlite3")
        let directory = try LDAPDirectory(server.configuration())
        let sync = DirectorySyncService(store: store, sha256Hex: { SHA256.hexDigest($0) })
        @Sendable func reading(_ changedSince: String?, killAfterFirstPage: Bool) async throws
            -> DirectorySyncService.Reading
        {
            let pages = Atomic(0)
            let listing = try await directory.listPeople(changedSince: changedSince, pageSize: 1) { _ in
                if pages.wrappingAdd(1, ordering: .relaxed).newValue == 1, killAfterFirstPage { server.kill() }
            }
            return DirectorySyncService.Reading(
                entries: listing.people.map { DirectoryEntry(identity: Self.identity($0), isDisabled: $0.isDisabled) },
                unusable: listing.unusable, unusableIDs: listing.unusableIDs, newestChange: listing.newestChange)
        }
        let actor = Actor.localOperator(unixUser: "test")
        let first = try await sync.run(source: .ldap, options: .init(full: true), by: actor) {
            try await reading($0, killAfterFirstPage: false)
        }
        #expect(first.plan.creates.count == 2)  // jane and john (the twins conflict; two are unusable)
        let before = try await store.read { try $0.accounts(matching: AccountQuery()) }
        let auditBefore = try await store.read { try $0.lastAuditEntry()?.sequence }
        // The server dies after the first page of a full run: the run fails before writing anything.
        await #expect(throws: (any Error).self) {
            _ = try await sync.run(source: .ldap, options: .init(full: true, force: true), by: actor) {
                try await reading($0, killAfterFirstPage: true)
            }
        }
        #expect(try await store.read { try $0.accounts(matching: AccountQuery()) } == before)
        #expect(try await store.read { try $0.lastAuditEntry()?.sequence } == auditBefore)
    }

    static func identity(_ person: DirectoryPerson) -> DirectoryIdentity {
        DirectoryIdentity(
            source: .ldap, externalID: person.stableID, managedID: person.managedID, givenName: person.givenName,
            familyName: person.familyName, email: person.email, employeeNumber: person.employeeNumber,
            department: person.department, roles: person.roles)
    }
}
