import Foundation
import TesseraCore
import TesseraTestSupport
import Testing

@testable import TesseraDirectory

extension TestDirectory {
    static let managedDomains = try! ManagedDomains(["appleid.example.com"])

    /// The OpenLDAP preset over the fixture, with group → role mappings that use nesting and a cycle.
    func configuration(
        servicePassword: String = TestDirectory.servicePassword, poolSize: Int = 2
    ) -> LDAPDirectory.Configuration {
        LDAPDirectory.Configuration(
            connection: LDAPSettings(uri: ldapURI, transport: .startTLS, caFile: caFile), serviceDN: Self.serviceDN,
            servicePassword: servicePassword, poolSize: poolSize,
            mapping: .openLDAP(
                userBase: Self.suffix, domain: "appleid.example.com", groupBase: "ou=groups," + Self.suffix,
                roles: [
                    "cn=enrolment-managers,ou=groups,dc=example,dc=com": .deviceEnrolmentManager,
                    "cn=staff,ou=groups,dc=example,dc=com": .staff,
                    "CN=Loop-A, ou=groups, dc=example, dc=com": .contentManager,
                ]),
            managedDomains: Self.managedDomains)
    }
}

/// The `CoreError.Kind` an async call throws, or nil.
func coreErrorKind(_ body: () async throws -> Void) async -> CoreError.Kind? {
    do {
        try await body()
        return nil
    } catch let error as CoreError {
        return error.kind
    } catch {
        return nil
    }
}

/// The `DirectoryError.Kind` an async call throws, or nil.
func directoryErrorKind(_ body: () async throws -> Void) async -> DirectoryError.Kind? {
    do {
        try await body()
        return nil
    } catch let error as DirectoryError {
        return error.kind
    } catch {
        return nil
    }
}

@Suite struct LDAPDirectoryTests {
    @Test func signInMapsTheEntryAndItsNestedGroups() async throws {
        let server = try await TestDirectory.start()
        defer { server.stop() }
        let directory = try LDAPDirectory(server.configuration())
        let jane = try await directory.signIn(username: "jane", password: "correct horse battery staple")
        #expect(jane.dn == "uid=jane,ou=people,dc=example,dc=com")
        #expect(jane.managedID.rawValue == "jane@appleid.example.com")
        #expect(jane.givenName == "Jane" && jane.familyName == "Appleseed" && jane.email == "jane@example.com")
        #expect(jane.employeeNumber == "1001" && jane.department == "Engineering" && !jane.isDisabled)
        #expect(UUID(uuidString: jane.stableID) != nil)
        #expect(jane.roles == [.deviceEnrolmentManager, .staff])  // enrolment-managers through it-team
        // Through a membership cycle, and a role configured with a differently written DN.
        let john = try await directory.signIn(username: "JOHN", password: "another long passphrase")
        #expect(john.managedID.rawValue == "john@appleid.example.com" && john.roles == [.staff, .contentManager])
        // The same person again, from the pooled connection (bound as john a moment ago).
        #expect(try await directory.person(username: "jane") == jane)
    }

    @Test func everyFailureToSignInLooksTheSame() async throws {
        let server = try await TestDirectory.start()
        defer { server.stop() }
        let directory = try LDAPDirectory(server.configuration())
        let attempts: [(String, String)] = [
            ("jane", "wrong"), ("jane", ""), ("", "x"), ("nobody", "correct horse battery staple"),
            ("*", "correct horse battery staple"), ("jane)(uid=*", "correct horse battery staple"),
            ("j*", "correct horse battery staple"), ("jane\u{0}", "correct horse battery staple"),
            ("o\\2abrien", "pat's own passphrase"),
            ("sam", "sam's first passphrase"),  // two entries answer to "sam"
        ]
        for (username, password) in attempts {
            let kind = await directoryErrorKind {
                _ = try await directory.signIn(username: username, password: password)
            }
            #expect(kind == .rejected, "\(username)")
        }
        #expect(try await directory.person(username: "sam") == nil)
        #expect(try await directory.person(username: "*") == nil)
        // An entry the mapping cannot use is reported as such (after the password was checked).
        let nameless = await directoryErrorKind {
            _ = try await directory.signIn(username: "nameless", password: "nameless passphrase")
        }
        #expect(nameless == .invalidEntry)
        // Found by its exactly escaped name, but `o*brien` cannot be a managed ID.
        let pat = await directoryErrorKind {
            _ = try await directory.signIn(username: "o*brien", password: "pat's own passphrase")
        }
        #expect(pat == .invalidEntry)
    }

    @Test func anUnreachableDirectoryIsUnavailableAndARestartedOneIsUsedAgain() async throws {
        let server = try await TestDirectory.start()
        defer { server.stop() }
        let directory = try LDAPDirectory(server.configuration(poolSize: 2))
        // Two sign-ins at once leave two pooled connections, both dead after the restart below.
        async let first = directory.signIn(username: "jane", password: "correct horse battery staple")
        async let second = directory.signIn(username: "john", password: "another long passphrase")
        _ = try await (first, second)
        server.kill()
        let down = await directoryErrorKind {
            _ = try await directory.signIn(username: "jane", password: "correct horse battery staple")
        }
        #expect(down == .unavailable)
        try await server.restart()
        // The pooled connection is dead; the directory notices and opens a new one.
        let jane = try await directory.signIn(username: "jane", password: "correct horse battery staple")
        #expect(jane.managedID.rawValue == "jane@appleid.example.com")
        _ = try await directory.signIn(username: "john", password: "another long passphrase")
        // Restarted while both pooled connections sit idle: the first sign-in after it still works.
        async let third = directory.signIn(username: "jane", password: "correct horse battery staple")
        async let fourth = directory.signIn(username: "john", password: "another long passphrase")
        _ = try await (third, fourth)
        try await server.restart()
        _ = try await directory.signIn(username: "jane", password: "correct horse battery staple")
    }

    /// As account services see it: the managed ID works as a sign-in name, refusals are
    /// `unauthenticated`, a directory that is down is `unavailable`.
    @Test func authenticatesForAccountServices() async throws {
        let server = try await TestDirectory.start()
        defer { server.stop() }
        let directory = try LDAPDirectory(server.configuration())
        let jane = try await directory.authenticate(
            "Jane@AppleID.example.com", password: "correct horse battery staple")
        #expect(jane.source == .ldap && jane.managedID.rawValue == "jane@appleid.example.com")
        #expect(jane.roles == [.deviceEnrolmentManager, .staff] && UUID(uuidString: jane.externalID) != nil)
        // A managed ID of another domain is a sign-in name like any other (no such uid here).
        let other = await coreErrorKind { _ = try await directory.authenticate("jane@example.org", password: "x") }
        let wrong = await coreErrorKind { _ = try await directory.authenticate("jane", password: "wrong") }
        #expect(other == .unauthenticated && wrong == .unauthenticated)
        server.kill()
        let down = await coreErrorKind {
            _ = try await directory.authenticate("jane", password: "correct horse battery staple")
        }
        #expect(down == .unavailable)
    }

    @Test func aRefusedServiceAccountIsAConfigurationProblem() async throws {
        let server = try await TestDirectory.start()
        defer { server.stop() }
        let directory = try LDAPDirectory(server.configuration(servicePassword: "not-the-password"))
        let kind = await directoryErrorKind {
            _ = try await directory.signIn(username: "jane", password: "correct horse battery staple")
        }
        #expect(kind == .configuration)
    }

    @Test func mappingsThatCannotWorkAreRefused() throws {
        let domains = TestDirectory.managedDomains
        var privileged = DirectoryMapping.openLDAP(
            userBase: "dc=example,dc=com", domain: "appleid.example.com", groupBase: "ou=groups,dc=example,dc=com",
            roles: ["cn=admins,ou=groups,dc=example,dc=com": .administrator])
        #expect(throws: DirectoryError.self) { try privileged.validate(managedDomains: domains) }
        privileged.groups?.roles = ["cn=managers,ou=groups,dc=example,dc=com": .peopleManager]
        #expect(throws: DirectoryError.self) { try privileged.validate(managedDomains: domains) }
        var mapping = DirectoryMapping.openLDAP(userBase: "dc=example,dc=com", domain: "appleid.example.com")
        try mapping.validate(managedDomains: domains)
        for filter in ["objectClass=person", "(a=b))(", "(a=b)(c=d)", "((a=b)"] {
            var broken = mapping
            broken.userFilter = filter
            #expect(throws: DirectoryError.self, "\(filter)") { try broken.validate(managedDomains: domains) }
        }
        mapping.loginAttribute = "uid)(cn"
        #expect(throws: DirectoryError.self) { try mapping.validate(managedDomains: domains) }
        let foreign = DirectoryMapping.openLDAP(userBase: "dc=example,dc=com", domain: "example.org")
        #expect(throws: DirectoryError.self) { try foreign.validate(managedDomains: domains) }
        try DirectoryMapping.activeDirectory(userBase: "dc=corp,dc=example,dc=com", domain: "appleid.example.com")
            .validate(managedDomains: domains)
    }

    /// Active Directory entries, as the AD preset reads them (no AD server here: the entry is built).
    @Test func activeDirectoryEntriesMapWithTheirGUIDAndDisabledFlag() throws {
        let mapping = DirectoryMapping.activeDirectory(
            userBase: "dc=corp,dc=example,dc=com", domain: "appleid.example.com",
            groupBase: "ou=groups,dc=corp,dc=example,dc=com",
            roles: ["CN=Mobile Admins,OU=Groups,DC=corp,DC=example,DC=com": .deviceEnrolmentManager])
        // objectGUID {00112233-4455-6677-8899-AABBCCDDEEFF} as AD stores it (first three fields little-endian).
        let guid: [UInt8] = [
            0x33, 0x22, 0x11, 0x00, 0x55, 0x44, 0x77, 0x66, 0x88, 0x99, 0xAA, 0xBB, 0xCC, 0xDD, 0xEE, 0xFF,
        ]
        var entry = LDAPEntry(
            dn: "CN=Ada Lovelace,OU=People,DC=corp,DC=example,DC=com",
            attributes: [
                "objectguid": [guid], "samaccountname": [Array("ada".utf8)], "givenname": [Array("Ada".utf8)],
                "sn": [Array("Lovelace".utf8)], "mail": [Array("ada@corp.example.com".utf8)],
                "employeeid": [Array("7".utf8)], "department": [Array("Research".utf8)],
                "useraccountcontrol": [Array("512".utf8)],
            ])
        let ada = try mapping.person(
            from: entry, groupDNs: ["cn=mobile admins,ou=groups,dc=corp,dc=example,dc=com"],
            managedDomains: TestDirectory.managedDomains)
        #expect(ada.stableID == "00112233-4455-6677-8899-aabbccddeeff")
        #expect(ada.managedID.rawValue == "ada@appleid.example.com" && ada.employeeNumber == "7")
        #expect(ada.roles == [.deviceEnrolmentManager] && !ada.isDisabled)
        // The account rules hold for directory values: a bad email is left out, a bad name makes the
        // entry unusable.
        var odd = entry
        odd.attributes["mail"] = [Array("not an address".utf8)]
        #expect(try mapping.person(from: odd, groupDNs: [], managedDomains: TestDirectory.managedDomains).email == nil)
        odd.attributes["givenname"] = [Array("Ada\u{7}".utf8)]
        #expect(throws: DirectoryError.self) {
            try mapping.person(from: odd, groupDNs: [], managedDomains: TestDirectory.managedDomains)
        }
        entry.attributes["useraccountcontrol"] = [Array("514".utf8)]  // NORMAL_ACCOUNT | ACCOUNTDISABLE
        #expect(try mapping.person(from: entry, groupDNs: [], managedDomains: TestDirectory.managedDomains).isDisabled)
        entry.attributes["objectguid"] = [Array(guid.prefix(15))]
        #expect(throws: DirectoryError.self) {
            try mapping.person(from: entry, groupDNs: [], managedDomains: TestDirectory.managedDomains)
        }
        #expect(
            mapping.signInFilter(username: "ada*")
                == "(&(&(objectCategory=person)(objectClass=user))(sAMAccountName=ada\\2a))")
    }
}
