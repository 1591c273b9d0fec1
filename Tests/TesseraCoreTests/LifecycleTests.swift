import Foundation
import TesseraCore
import Testing

@Suite struct LifecycleTests {
    let policy = AccountPolicy(managedDomains: try! ManagedDomains(["appleid.example.com"]))
    let start = Date(timeIntervalSince1970: 1_800_000_000)

    func account(source: AccountSource = .local) -> Account {
        Account(
            id: "a1", managedID: ManagedAccountID(trusted: "jane@appleid.example.com"), givenName: "Jane",
            familyName: "Doe",
            roles: [.staff], source: source, createdAt: start, updatedAt: start)
    }

    @Test func deactivateReactivateAndDelete() throws {
        let active = account()
        #expect(throws: CoreError.self) { try active.checkDeletable() }
        #expect(throws: CoreError.self) { try active.reactivated(at: start) }
        let deactivated = try active.deactivated(at: start.addingTimeInterval(60))
        #expect(deactivated.state == .deactivated)
        #expect(deactivated.deactivatedAt == start.addingTimeInterval(60))
        #expect(deactivated.version == active.version + 1)
        try deactivated.checkDeletable()
        #expect(throws: CoreError.self) { try deactivated.deactivated(at: start) }
        let reactivated = try deactivated.reactivated(at: start.addingTimeInterval(120))
        #expect(reactivated.state == .active && reactivated.deactivatedAt == nil)
    }

    @Test func temporaryPasswordLastsNinetyDays() throws {
        let withPassword = try account().withTemporaryPassword(hash: "$scrypt$x", at: start, policy: policy)
        #expect(withPassword.credential?.isTemporary == true)
        #expect(withPassword.credential?.expiresAt == start.addingTimeInterval(90 * 86_400))
        try withPassword.checkTemporaryPasswordCurrent(at: start.addingTimeInterval(90 * 86_400 - 1))
        #expect {
            try withPassword.checkTemporaryPasswordCurrent(at: start.addingTimeInterval(90 * 86_400))
        } throws: { ($0 as? CoreError)?.code == "sign_in.temporary_password_expired" }
        let permanent = try withPassword.withPermanentPassword(hash: "$scrypt$y", at: start)
        #expect(permanent.credential?.isTemporary == false && permanent.credential?.expiresAt == nil)
        try permanent.checkTemporaryPasswordCurrent(at: start.addingTimeInterval(1_000 * 86_400))
    }

    @Test func directoryAccountsHaveNoLocalPassword() {
        #expect {
            try account(source: .ldap).withTemporaryPassword(hash: "h", at: start, policy: policy)
        } throws: { ($0 as? CoreError)?.code == "account.no_local_password" }
        #expect(throws: CoreError.self) { try account(source: .scim).checkLocallyEditable(changingProfile: true) }
        #expect(throws: Never.self) { try account(source: .scim).checkLocallyEditable(changingProfile: false) }
    }

    @Test func locksAfterMoreThanTenWrongPasswords() throws {
        var current = try account().withTemporaryPassword(hash: "h", at: start, policy: policy)
        for _ in 1...10 {
            current = try current.registeringSignInAttempt(at: start, policy: policy).afterWrongPassword(
                at: start, policy: policy)
        }
        #expect(!current.isLocked)
        try current.checkSignInAllowed(at: start)
        current = try current.registeringSignInAttempt(at: start, policy: policy).afterWrongPassword(
            at: start, policy: policy)
        #expect(current.isLocked && current.failedLoginCount == 11)
        #expect { try current.checkSignInAllowed(at: start) } throws: { ($0 as? CoreError)?.code == "sign_in.locked" }
        let unlocked = try current.unlocked(at: start)
        #expect(!unlocked.isLocked && unlocked.failedLoginCount == 0)
        #expect(throws: CoreError.self) { try unlocked.unlocked(at: start) }
    }

    @Test func pendingAttemptsAreBoundedByTheLockout() throws {
        // Eleven attempts may be in flight at once; the twelfth is refused before its password is checked.
        var current = try account().withTemporaryPassword(hash: "h", at: start, policy: policy)
        for _ in 1...11 { current = try current.registeringSignInAttempt(at: start, policy: policy) }
        #expect { try current.registeringSignInAttempt(at: start, policy: policy) } throws: {
            ($0 as? CoreError)?.code == "sign_in.locked"
        }
        // The eleventh being right clears the count.
        #expect(current.afterSuccessfulSignIn(at: start).failedLoginCount == 0)
    }

    @Test func successfulSignInClearsFailures() throws {
        let failed = try account().withTemporaryPassword(hash: "h", at: start, policy: policy).registeringSignInAttempt(
            at: start, policy: policy)
        #expect(failed.afterSuccessfulSignIn(at: start).failedLoginCount == 0)
        #expect(account().afterSuccessfulSignIn(at: start) == account())
    }

    @Test func deactivatedAccountsCannotSignIn() throws {
        let deactivated = try account().withTemporaryPassword(hash: "h", at: start, policy: policy).deactivated(
            at: start)
        #expect { try deactivated.checkSignInAllowed(at: start) } throws: {
            ($0 as? CoreError)?.code == "sign_in.deactivated"
        }
    }

    @Test func retentionAppliesToDeactivatedLocalAccountsOnly() throws {
        let deactivated = try account().deactivated(at: start)
        #expect(!deactivated.isPastRetention(at: start.addingTimeInterval(30 * 86_400 - 1), policy: policy))
        #expect(deactivated.isPastRetention(at: start.addingTimeInterval(30 * 86_400), policy: policy))
        #expect(
            !(try account(source: .ldap).deactivated(at: start)).isPastRetention(
                at: start.addingTimeInterval(1e8), policy: policy))
        #expect(!account().isPastRetention(at: start.addingTimeInterval(1e8), policy: policy))
    }

    @Test func fieldRules() throws {
        #expect(try AccountFieldRules.text("  Jane ", field: "given_name", required: true) == "Jane")
        #expect { try AccountFieldRules.text(" ", field: "given_name", required: true) } throws: {
            ($0 as? CoreError)?.code == "account.given_name_required"
        }
        #expect(try AccountFieldRules.text("", field: "department", required: false) == nil)
        #expect(throws: CoreError.self) { try AccountFieldRules.text("a\u{7}b", field: "department", required: false) }
        #expect(throws: CoreError.self) {
            try AccountFieldRules.text(String(repeating: "x", count: 257), field: "department", required: false)
        }
        #expect(try AccountFieldRules.email("jane@example.com") == "jane@example.com")
        #expect(throws: CoreError.self) { try AccountFieldRules.email("jane@") }
        #expect(throws: CoreError.self) { try AccountFieldRules.email("ja ne@example.com") }
    }
}
