import Foundation
import Testing

@testable import TesseraCore

@Suite struct DirectorySyncTests {
    let domains = try! ManagedDomains(["appleid.example.com"])
    let now = Date(timeIntervalSince1970: 1_800_000_000)

    func entry(_ local: String, _ externalID: String, roles: Set<Role> = [], disabled: Bool = false) -> DirectoryEntry {
        DirectoryEntry(
            identity: DirectoryIdentity(
                source: .ldap, externalID: externalID,
                managedID: try! ManagedAccountID("\(local)@appleid.example.com", managedDomains: domains),
                givenName: "G", familyName: local, roles: roles),
            isDisabled: disabled)
    }

    func account(_ local: String, source: AccountSource = .ldap, externalID: String?, state: AccountState = .active)
        -> Account
    {
        Account(
            id: "id-\(local)",
            managedID: try! ManagedAccountID("\(local)@appleid.example.com", managedDomains: domains),
            givenName: "G", familyName: local, roles: [], source: source, externalID: externalID, state: state,
            createdAt: now, updatedAt: now, deactivatedAt: state == .deactivated ? now : nil)
    }

    func plan(
        _ entries: [DirectoryEntry], _ accounts: [Account], complete: Bool = true, unusable: Set<String> = [],
        syncDeactivated: Set<String> = []
    ) -> SyncPlan {
        var counter = 0
        return DirectorySync.plan(
            entries: entries, accounts: accounts, source: .ldap, complete: complete, at: now.addingTimeInterval(60),
            unusable: unusable, syncDeactivated: syncDeactivated,
            newID: {
                counter += 1
                return "new-\(counter)"
            })
    }

    @Test func createsUpdatesRenamesAndLeavesTheRestAlone() {
        let result = plan(
            [
                entry("new", "u-new"),
                entry("same", "u-same"),
                entry("renamed", "u-old", roles: [.staff]),
                entry("adopted", "u-adopted"),
            ],
            [
                account("same", externalID: "u-same"),
                account("old", externalID: "u-old"),
                account("adopted", externalID: nil),  // e.g. imported as an ldap account before the first sync
                account("local", source: .local, externalID: nil),
                account("scim", source: .scim, externalID: "u-scim"),
            ])
        #expect(result.creates.map(\.managedID.rawValue) == ["new@appleid.example.com"])
        #expect(result.creates.first?.source == .ldap && result.creates.first?.externalID == "u-new")
        #expect(
            result.updates.map { "\($0.before.managedID.localPart)→\($0.after.managedID.localPart)" } == [
                "adopted→adopted", "old→renamed",
            ])
        #expect(result.updates.last?.after.roles == [.staff] && result.updates.last?.after.id == "id-old")
        #expect(result.unchanged == 1 && result.deactivations.isEmpty && result.conflicts.isEmpty)
        #expect(result.activeBefore == 3)
    }

    @Test func goneAndDisabledEntriesDeactivateOnlyWhatIsOurs() {
        let accounts = [
            account("gone", externalID: "u-gone"),
            account("disabled", externalID: "u-disabled"),
            account("back", externalID: "u-back", state: .deactivated),
            account("local", source: .local, externalID: nil),
        ]
        let entries = [entry("disabled", "u-disabled", disabled: true), entry("back", "u-back")]
        let full = plan(entries, accounts, syncDeactivated: ["id-back"])
        #expect(full.deactivations.map(\.after.managedID.localPart).sorted() == ["disabled", "gone"])
        #expect(full.deactivations.allSatisfy { $0.after.state == .deactivated })
        #expect(full.updates.map(\.after.managedID.localPart) == ["back"] && full.updates[0].after.state == .active)
        #expect(full.deactivationShare == 1.0)  // both active ldap accounts
        // An incremental read cannot tell who left: only the disabled entry deactivates.
        let incremental = plan(entries, accounts, complete: false)
        #expect(incremental.deactivations.map(\.after.managedID.localPart) == ["disabled"])
        // Deactivated by an administrator (not by a sync): the entry being back does not reactivate it.
        #expect(plan(entries, accounts).updates.isEmpty)
        // An entry the mapping cannot use is still in the directory: its account is not gone.
        #expect(
            plan(entries, accounts, unusable: ["u-gone"]).deactivations.map(\.after.managedID.localPart) == ["disabled"]
        )
        // A disabled entry without an account makes none.
        #expect(plan([entry("never", "u-never", disabled: true)], []).creates.isEmpty)
    }

    @Test func conflictsAreReportedAndNothingIsGuessed() {
        let result = plan(
            [
                entry("twin", "u-1"), entry("twin", "u-2"),  // two entries, one managed ID
                entry("local", "u-3"),  // a local account holds it
                entry("taken", "u-4"),  // renamed onto another ldap account's managed ID
                entry("other", "u-5"),
            ],
            [
                account("twin", externalID: "u-1"),
                account("local", source: .local, externalID: nil),
                account("was", externalID: "u-4"),
                account("taken", externalID: "u-9"),
                account("other", externalID: "u-5"),
            ])
        #expect(result.conflicts.count == 3)
        #expect(
            result.conflicts.contains {
                $0.contains("2 directory entries map to twin@appleid.example.com: ids u-1, u-2")
            })
        #expect(result.conflicts.contains { $0.contains("local@appleid.example.com") && $0.contains("local account") })
        #expect(result.conflicts.contains { $0.contains("taken@appleid.example.com") })
        #expect(result.creates.isEmpty && result.updates.isEmpty && result.unchanged == 1)
        // Conflicted entries' accounts are not "gone"; the one no entry names (u-9) is.
        #expect(result.deactivations.map(\.before.externalID) == ["u-9"])
    }
}
