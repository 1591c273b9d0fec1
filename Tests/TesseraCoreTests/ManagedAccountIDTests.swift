import TesseraCore
import Testing

@Suite struct ManagedAccountIDTests {
    let domains = try! ManagedDomains(["appleid.example.com", "Staff.Example.org"])

    @Test func lowercasesAndSplitsAtTheLastAt() throws {
        let id = try ManagedAccountID("Jane.Doe@AppleID.Example.com", managedDomains: domains)
        #expect(id.rawValue == "jane.doe@appleid.example.com")
        #expect(id.localPart == "jane.doe")
        #expect(id.domain == "appleid.example.com")
        let staff = try ManagedAccountID("a+b_c-d@staff.example.org", managedDomains: domains)
        #expect(staff.domain == "staff.example.org")
    }

    @Test func equalIgnoringCase() throws {
        #expect(
            try ManagedAccountID("JANE@appleid.example.com", managedDomains: domains)
                == ManagedAccountID("jane@APPLEID.example.com", managedDomains: domains))
    }

    @Test(arguments: [
        ("jane", "managed_id.missing_at"),
        ("@appleid.example.com", "managed_id.local_part_empty"),
        (String(repeating: "a", count: 65) + "@appleid.example.com", "managed_id.local_part_length"),
        ("jane doe@appleid.example.com", "managed_id.local_part_charset"),
        ("jane@doe@appleid.example.com", "managed_id.local_part_charset"),
        ("jöhn@appleid.example.com", "managed_id.local_part_charset"),
        ("jane!@appleid.example.com", "managed_id.local_part_charset"),
        (".jane@appleid.example.com", "managed_id.local_part_dots"),
        ("jane.@appleid.example.com", "managed_id.local_part_dots"),
        ("ja..ne@appleid.example.com", "managed_id.local_part_dots"),
        ("jane@example.com", "managed_id.domain_not_managed"),
        ("jane@appleid.example.com.evil.com", "managed_id.domain_not_managed"),
    ])
    func rejectsWithTheRuleBroken(input: String, code: String) {
        #expect {
            try ManagedAccountID(input, managedDomains: domains)
        } throws: { error in
            (error as? CoreError)?.code == code && (error as? CoreError)?.kind == .invalidInput
        }
    }

    @Test func acceptsSixtyFourCharacterLocalPart() throws {
        let local = String(repeating: "a", count: 64)
        #expect(try ManagedAccountID("\(local)@appleid.example.com", managedDomains: domains).localPart == local)
    }

    @Test func errorMessagesDoNotEchoControlCharacters() {
        do {
            _ = try ManagedAccountID("ja\u{1B}[2Jne@appleid.example.com", managedDomains: domains)
            Issue.record("accepted a control character")
        } catch let error as CoreError {
            #expect(!error.message.contains("\u{1B}"))
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }

    @Test func managedDomainsAreValidated() throws {
        #expect(throws: CoreError.self) { try ManagedDomains(["localhost"]) }
        #expect(throws: CoreError.self) { try ManagedDomains(["-bad.example.com"]) }
        #expect(throws: CoreError.self) { try ManagedDomains(["exa mple.com"]) }
        #expect(throws: CoreError.self) { try ManagedDomains(["example..com"]) }
        #expect(try ManagedDomains(["A.example.com", "a.example.com"]).names == ["a.example.com"])
    }
}

@Suite struct RoleAuthorityTests {
    @Test func administratorsActOnEveryone() {
        for role in Role.allCases {
            #expect(RoleAuthority.may([.administrator], actOn: [role]))
        }
    }

    @Test func peopleManagersActOnAllButAdministrators() {
        #expect(!RoleAuthority.may([.peopleManager], actOn: [.administrator]))
        for role in [Role.peopleManager, .deviceEnrolmentManager, .contentManager, .staff] {
            #expect(RoleAuthority.may([.peopleManager], actOn: [role]))
        }
        #expect(!RoleAuthority.may([.peopleManager], actOn: [.staff, .administrator]))
    }

    @Test(arguments: [Role.deviceEnrolmentManager, .contentManager, .staff])
    func otherRolesActOnNoOne(role: Role) {
        for target in Role.allCases {
            #expect(!RoleAuthority.may([role], actOn: [target]))
        }
    }

    @Test func accountsWithoutRolesCountAsStaff() {
        #expect(RoleAuthority.may([.peopleManager], actOn: []))
        #expect(!RoleAuthority.may([.staff], actOn: []))
    }

    @Test func parsesRoleNames() throws {
        #expect(try Role(parsing: "People-Manager") == .peopleManager)
        #expect(throws: CoreError.self) { try Role(parsing: "superuser") }
        #expect(Role.administrator.isPrivileged && Role.peopleManager.isPrivileged && !Role.staff.isPrivileged)
    }
}
