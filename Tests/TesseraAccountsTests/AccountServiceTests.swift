import CSQLite
import Foundation
import TesseraAccounts
import TesseraCore
import TesseraStore
import Testing

@Suite struct AccountServiceTests {
    @Test func createsLocalAccountsWithATemporaryPassword() async throws {
        let fixture = try Fixture()
        defer { fixture.remove() }
        let issued = try await fixture.create("jane")
        let password = try #require(issued.temporaryPassword)
        #expect(issued.account.roles == [.staff])
        #expect(issued.account.credential?.isTemporary == true)
        #expect(issued.account.credential?.expiresAt == fixture.clock.now.addingTimeInterval(90 * 86_400))
        #expect(issued.account.credential?.hash.hasPrefix("$scrypt$") == true)
        #expect(issued.account.credential?.hash.contains(password) == false)
        let entries = try await fixture.audit.entries(by: Fixture.root)
        #expect(entries.map(\.action) == ["account.create"])
        #expect(entries[0].after?.contains(password) == false)
        #expect(entries[0].after?.contains("scrypt") == false)
        #expect(entries[0].actor == "operator:root")
    }

    @Test func directoryAccountsGetNoPassword() async throws {
        let fixture = try Fixture()
        defer { fixture.remove() }
        let issued = try await fixture.create("sync", source: "scim")
        #expect(issued.temporaryPassword == nil && issued.account.credential == nil)
        await #expect { try await fixture.create("boss", roles: ["administrator"], source: "ldap") } throws: {
            ($0 as? CoreError)?.code == "account.privileged_federated"
        }
    }

    @Test func duplicatesConflictIgnoringCase() async throws {
        let fixture = try Fixture()
        defer { fixture.remove() }
        try await fixture.create("jane")
        await #expect { try await fixture.create("JANE") } throws: { ($0 as? CoreError)?.kind == .conflict }
        #expect(try await fixture.audit.entries(by: Fixture.root).count == 1)
    }

    @Test func rolesLimitWhoMayActOnWhom() async throws {
        let fixture = try Fixture()
        defer { fixture.remove() }
        try await fixture.create("pm", roles: ["people-manager"])
        try await fixture.create("staffer")
        try await fixture.create("admin", roles: ["administrator"])
        let pm = try await fixture.actor("pm")
        let staffer = try await fixture.actor("staffer")
        let draft = NewAccount(
            managedID: "new@appleid.example.com", givenName: "N", familyName: "E", roles: ["administrator"])
        await #expect { try await fixture.service.create(draft, by: pm) } throws: {
            ($0 as? CoreError)?.kind == .notPermitted
        }
        var staffDraft = draft
        staffDraft.roles = ["staff"]
        await #expect { try await fixture.service.create(staffDraft, by: staffer) } throws: {
            ($0 as? CoreError)?.kind == .notPermitted
        }
        _ = try await fixture.service.create(staffDraft, by: pm)
        await #expect { try await fixture.service.deactivate("admin@appleid.example.com", by: pm) } throws: {
            ($0 as? CoreError)?.kind == .notPermitted
        }
        await #expect {
            try await fixture.service.update(
                "staffer@appleid.example.com", AccountChanges(roles: ["administrator"]), by: pm)
        } throws: { ($0 as? CoreError)?.kind == .notPermitted }
        // Listing shows only the accounts an actor governs, and itself.
        let seenByPM = try await fixture.service.accounts(matching: AccountQuery(), by: pm).map(\.managedID.localPart)
        #expect(seenByPM == ["new", "pm", "staffer"])
        let seenByStaff = try await fixture.service.accounts(matching: AccountQuery(), by: staffer).map(
            \.managedID.localPart)
        #expect(seenByStaff == ["staffer"])
        // A limit counts what the actor sees (the administrator before them is not one of the two).
        let limited = try await fixture.service.accounts(
            matching: AccountQuery(limit: 2), by: pm
        ).map(\.managedID.localPart)
        #expect(limited == ["new", "pm"])
        let next = try await fixture.service.accounts(matching: AccountQuery(after: "pm@appleid.example.com", limit: 2), by: pm)
        #expect(next.map(\.managedID.localPart) == ["staffer"])
        await #expect { try await fixture.audit.verify(by: pm) } throws: { ($0 as? CoreError)?.kind == .notPermitted }
        // An account may not deactivate itself.
        await #expect { try await fixture.service.deactivate("pm@appleid.example.com", by: pm) } throws: {
            ($0 as? CoreError)?.code == "account.self"
        }
    }

    @Test func updateRules() async throws {
        let fixture = try Fixture()
        defer { fixture.remove() }
        let jane = try await fixture.create("jane").account
        let updated = try await fixture.service.update(
            "jane@appleid.example.com",
            AccountChanges(givenName: "Janet", email: "janet@example.com", roles: ["content-manager"]), by: Fixture.root
        )
        #expect(
            updated.givenName == "Janet" && updated.email == "janet@example.com" && updated.roles == [.contentManager])
        #expect(updated.version == jane.version + 1)
        let cleared = try await fixture.service.update(
            "jane@appleid.example.com", AccountChanges(email: ""), by: Fixture.root)
        #expect(cleared.email == nil)
        await #expect {
            try await fixture.service.update(
                "jane@appleid.example.com", AccountChanges(givenName: "X"), expectedVersion: jane.version,
                by: Fixture.root)
        } throws: { ($0 as? CoreError)?.code == "account.version" }
        await #expect {
            try await fixture.service.update("jane@appleid.example.com", AccountChanges(), by: Fixture.root)
        } throws: {
            ($0 as? CoreError)?.code == "account.no_changes"
        }
        await #expect {
            try await fixture.service.update(
                "jane@appleid.example.com", AccountChanges(givenName: "  "), by: Fixture.root)
        } throws: {
            ($0 as? CoreError)?.kind == .invalidInput
        }
        try await fixture.create("synced", source: "scim")
        await #expect {
            try await fixture.service.update(
                "synced@appleid.example.com", AccountChanges(familyName: "X"), by: Fixture.root)
        } throws: { ($0 as? CoreError)?.code == "account.directory_owned" }
        _ = try await fixture.service.update(
            "synced@appleid.example.com", AccountChanges(roles: ["content-manager"]), by: Fixture.root)
        await #expect {
            try await fixture.service.update(
                "nobody@appleid.example.com", AccountChanges(givenName: "X"), by: Fixture.root)
        } throws: { ($0 as? CoreError)?.kind == .notFound }
    }

    @Test func lifecycleFromCreateToDelete() async throws {
        let fixture = try Fixture()
        defer { fixture.remove() }
        try await fixture.create("jane")
        let id = "jane@appleid.example.com"
        await #expect { try await fixture.service.delete(id, by: Fixture.root) } throws: {
            ($0 as? CoreError)?.code == "account.delete_active"
        }
        #expect(try await fixture.service.deactivate(id, by: Fixture.root).state == .deactivated)
        #expect(try await fixture.service.reactivate(id, by: Fixture.root).state == .active)
        _ = try await fixture.service.deactivate(id, by: Fixture.root)
        try await fixture.service.delete(id, by: Fixture.root)
        await #expect { try await fixture.service.account(id, by: Fixture.root) } throws: {
            ($0 as? CoreError)?.kind == .notFound
        }
        let actions = try await fixture.audit.entries(by: Fixture.root).map(\.action)
        #expect(
            actions == [
                "account.create", "account.deactivate", "account.reactivate", "account.deactivate", "account.delete",
            ])
        #expect(try await fixture.audit.verify(by: Fixture.root).failure == nil)
    }

    /// A leaver's account goes, the organisation's devices stay (bound to no one); their personal
    /// devices go with them, data scopes included; all audited.
    @Test func deletingAnAccountKeepsTheOrganisationsDevices() async throws {
        let fixture = try Fixture()
        defer { fixture.remove() }
        let jane = try await fixture.create("jane").account
        let at = fixture.clock.now
        let phone = try Device.enrolled(
            id: "dev-phone", kind: .adde, accountID: jane.id, serialNumber: nil, udid: nil, product: "iPhone15,2",
            osBuild: "22A", enrolmentTokenID: "t1", at: at)
        let own = try Device.enrolled(
            id: "dev-own", kind: .user, accountID: jane.id, serialNumber: nil, udid: nil, product: "iPad13,4",
            osBuild: "22A", enrolmentTokenID: "t2", at: at)
        try await fixture.store.write { transaction in
            try transaction.insert(phone)
            try transaction.insert(own)
            try transaction.save(
                DeviceItem(deviceID: "dev-own", scope: .personal, kind: "document", name: "n", value: "v", updatedAt: at))
        }
        _ = try await fixture.service.deactivate("jane@appleid.example.com", by: Fixture.root)
        try await fixture.service.delete("jane@appleid.example.com", by: Fixture.root)
        let (kept, gone, items) = try await fixture.store.read { reader in
            (try reader.device(id: "dev-phone"), try reader.device(id: "dev-own"),
             try reader.deviceItems(deviceID: "dev-own", scope: .personal))
        }
        #expect(kept?.accountID == nil && kept?.state == .enrolled && kept?.version == phone.version + 1)
        #expect(gone == nil && items.isEmpty)
        let entries = try await fixture.audit.entries(by: Fixture.root)
        #expect(
            entries.map(\.action).suffix(4) == ["account.deactivate", "device.unbind", "device.delete", "account.delete"]
                || entries.map(\.action).suffix(4) == [
                    "account.deactivate", "device.delete", "device.unbind", "account.delete",
                ])
        #expect(try await fixture.audit.verify(by: Fixture.root).failure == nil)
    }

    @Test func signInWithATemporaryPasswordThenChangeIt() async throws {
        let fixture = try Fixture()
        defer { fixture.remove() }
        let temporary = try #require(try await fixture.create("jane").temporaryPassword)
        let id = "jane@appleid.example.com"
        guard case .passwordChangeRequired = try await fixture.service.signIn(id, password: temporary) else {
            Issue.record("a temporary password must require a change")
            return
        }
        await #expect { try await fixture.service.changePassword(id, current: temporary, new: "short") } throws: {
            ($0 as? CoreError)?.code == "password.too_short"
        }
        _ = try await fixture.service.changePassword(id, current: temporary, new: "correct horse battery staple")
        guard case .signedIn = try await fixture.service.signIn(id, password: "correct horse battery staple") else {
            Issue.record("a permanent password signs in")
            return
        }
        await #expect { try await fixture.service.signIn(id, password: temporary) } throws: {
            ($0 as? CoreError)?.kind == .unauthenticated
        }
        await #expect { try await fixture.service.signIn("ghost@appleid.example.com", password: "whatever") } throws: {
            ($0 as? CoreError)?.code == "sign_in.failed"
        }
    }

    @Test func expiredTemporaryPasswordsStopWorking() async throws {
        let fixture = try Fixture()
        defer { fixture.remove() }
        let temporary = try #require(try await fixture.create("jane").temporaryPassword)
        fixture.clock.advance(days: 90)
        await #expect { try await fixture.service.signIn("jane@appleid.example.com", password: temporary) } throws: {
            ($0 as? CoreError)?.code == "sign_in.temporary_password_expired"
        }
    }

    @Test func locksAfterElevenWrongPasswordsAndUnlocks() async throws {
        let fixture = try Fixture()
        defer { fixture.remove() }
        let temporary = try #require(try await fixture.create("jane").temporaryPassword)
        let id = "jane@appleid.example.com"
        for _ in 1...11 {
            await #expect(throws: CoreError.self) { try await fixture.service.signIn(id, password: "wrong password!") }
        }
        #expect(try await fixture.service.account(id, by: Fixture.root).isLocked)
        await #expect { try await fixture.service.signIn(id, password: temporary) } throws: {
            ($0 as? CoreError)?.code == "sign_in.locked"
        }
        #expect(try await fixture.service.unlock(id, by: Fixture.root).isLocked == false)
        _ = try await fixture.service.signIn(id, password: temporary)
        let actions = try await fixture.audit.entries(by: Fixture.root).map(\.action)
        #expect(actions == ["account.create", "account.lock", "account.unlock"])
    }

    @Test func parallelGuessesCannotGetPastTheLockout() async throws {
        let fixture = try Fixture()
        defer { fixture.remove() }
        try await fixture.create("jane")
        let codes = await withTaskGroup(of: String.self) { group in
            for _ in 0..<25 {
                group.addTask {
                    do {
                        _ = try await fixture.service.signIn("jane@appleid.example.com", password: "a wrong guess")
                        return "signed in"
                    } catch let error as CoreError {
                        return error.code
                    } catch {
                        return "other"
                    }
                }
            }
            return await group.reduce(into: [String]()) { $0.append($1) }
        }
        // At most threshold + 1 guesses reach the password check; the rest are refused before it.
        #expect(codes.filter { $0 == "sign_in.failed" }.count <= 11)
        #expect(codes.filter { $0 == "sign_in.locked" }.count >= 14)
        #expect(try await fixture.service.account("jane@appleid.example.com", by: Fixture.root).isLocked)
    }

    @Test func resetPasswordIssuesANewTemporaryPassword() async throws {
        let fixture = try Fixture()
        defer { fixture.remove() }
        let first = try #require(try await fixture.create("jane").temporaryPassword)
        let reset = try await fixture.service.resetPassword("jane@appleid.example.com", by: Fixture.root)
        let second = try #require(reset.temporaryPassword)
        #expect(first != second)
        await #expect(throws: CoreError.self) {
            try await fixture.service.signIn("jane@appleid.example.com", password: first)
        }
        _ = try await fixture.service.signIn("jane@appleid.example.com", password: second)
        try await fixture.create("synced", source: "ldap")
        await #expect {
            try await fixture.service.resetPassword("synced@appleid.example.com", by: Fixture.root)
        } throws: {
            ($0 as? CoreError)?.code == "account.no_local_password"
        }
    }

    @Test func outdatedHashesAreUpgradedAtSignIn() async throws {
        let fixture = try Fixture(logN: 10)
        defer { fixture.remove() }
        let temporary = try #require(try await fixture.create("jane").temporaryPassword)
        let stronger = Fixture.service(store: fixture.store, clock: fixture.clock, logN: 11, policy: fixture.policy)
        _ = try await stronger.signIn("jane@appleid.example.com", password: temporary)
        let account = try await stronger.account("jane@appleid.example.com", by: Fixture.root)
        #expect(account.credential?.hash.hasPrefix("$scrypt$ln=11,") == true)
        _ = try await stronger.signIn("jane@appleid.example.com", password: temporary)
        #expect(
            try await fixture.audit.entries(by: Fixture.root).map(\.action) == [
                "account.create", "account.password_rehash",
            ])
    }

    @Test func deactivatedLocalAccountsArePurgedAfterRetention() async throws {
        let fixture = try Fixture()
        defer { fixture.remove() }
        try await fixture.create("old")
        try await fixture.create("synced", source: "scim")
        _ = try await fixture.service.deactivate("old@appleid.example.com", by: Fixture.root)
        _ = try await fixture.service.deactivate("synced@appleid.example.com", by: Fixture.root)
        fixture.clock.advance(days: 29)
        #expect(try await fixture.service.purgeExpiredDeactivated().isEmpty)
        fixture.clock.advance(days: 1)
        #expect(try await fixture.service.purgeExpiredDeactivated().map(\.rawValue) == ["old@appleid.example.com"])
        #expect(
            try await fixture.service.accounts(matching: AccountQuery(), by: Fixture.root).map(\.managedID.localPart)
                == ["synced"])
        #expect(try await fixture.audit.entries(by: Fixture.root).last?.actor == "system:retention")
    }

    @Test func serverAndCLIWritingTheSameFileKeepOneChain() async throws {
        let fixture = try Fixture()
        defer { fixture.remove() }
        // A second store on the same file stands for the CLI beside the server.
        let other = try SQLiteStore(path: fixture.directory + "/tessera.sqlite3", connections: 2)
        let otherService = Fixture.service(store: other, clock: fixture.clock, logN: 10, policy: fixture.policy)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<12 {
                let service = index.isMultiple(of: 2) ? fixture.service : otherService
                group.addTask {
                    _ = try await service.create(
                        NewAccount(
                            managedID: "user\(index)@appleid.example.com", givenName: "U", familyName: "\(index)"),
                        by: Fixture.root)
                }
            }
            try await group.waitForAll()
        }
        let verification = try await fixture.audit.verify(by: Fixture.root)
        #expect(verification.failure == nil)
        #expect(verification.entries == 12)
    }

    @Test func tamperingIsDetected() async throws {
        let fixture = try Fixture()
        defer { fixture.remove() }
        for name in ["a", "b", "c"] { try await fixture.create(name) }
        var db: OpaquePointer?
        #expect(sqlite3_open(fixture.directory + "/tessera.sqlite3", &db) == SQLITE_OK)
        #expect(
            sqlite3_exec(db, "UPDATE audit_log SET actor = 'operator:mallory' WHERE sequence = 2", nil, nil, nil)
                == SQLITE_OK)
        sqlite3_close(db)
        let verification = try await fixture.audit.verify(by: Fixture.root)
        #expect(verification.failure?.sequence == 2)
        #expect(verification.entries == 1)
    }
}
