import Foundation
import TesseraTestSupport
import Testing

@testable import TesseraDirectory

/// Runs blocking LDAP calls on a thread of their own, as the server runs them on its blocking pool.
func blocking<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread {
            do { continuation.resume(returning: try body()) } catch { continuation.resume(throwing: error) }
        }.start()
    }
}

/// The kind of `LDAPError` a call throws, or nil if it does not throw one.
func ldapErrorKind(_ body: () throws -> Void) -> LDAPError.Kind? {
    do {
        try body()
        return nil
    } catch let error as LDAPError {
        return error.kind
    } catch {
        return nil
    }
}

@Suite struct LDAPConnectionTests {
    static let personAttributes = [
        "uid", "givenName", "sn", "mail", "employeeNumber", "departmentNumber", "entryUUID", "modifyTimestamp",
    ]

    @Test func serviceBindAndSearchOverStartTLS() async throws {
        let server = try await TestDirectory.start()
        defer { server.stop() }
        let entries = try await blocking {
            let connection = try LDAPConnection(
                LDAPSettings(uri: server.ldapURI, transport: .startTLS, caFile: server.caFile))
            try connection.bind(dn: TestDirectory.serviceDN, password: TestDirectory.servicePassword)
            return try connection.search(
                base: TestDirectory.suffix, filter: LDAPFilter.equals("uid", "jane"),
                attributes: Self.personAttributes, sizeLimit: 2)
        }
        #expect(entries.count == 1)
        let jane = try #require(entries.first)
        #expect(jane.dn == "uid=jane,ou=people,dc=example,dc=com")
        #expect(jane.string("givenName") == "Jane" && jane.string("SN") == "Appleseed")
        #expect(jane.string("mail") == "jane@example.com" && jane.string("employeeNumber") == "1001")
        #expect(jane.string("departmentNumber") == "Engineering")
        #expect(UUID(uuidString: jane.string("entryUUID") ?? "") != nil)
        #expect(jane.string("modifyTimestamp")?.hasSuffix("Z") == true)
        #expect(jane.values("userPassword").isEmpty)  // not asked for, and not readable anyway
    }

    @Test func ldapsAndPlaintextOnLoopback() async throws {
        let server = try await TestDirectory.start()
        defer { server.stop() }
        let counts = try await blocking {
            try [
                LDAPSettings(uri: server.ldapsURI, transport: .ldaps, caFile: server.caFile),
                LDAPSettings(uri: server.ldapURI, transport: .plaintext),
            ].map { settings in
                let connection = try LDAPConnection(settings)
                try connection.bind(dn: TestDirectory.serviceDN, password: TestDirectory.servicePassword)
                return try connection.search(
                    base: "ou=people," + TestDirectory.suffix, filter: "(objectClass=inetOrgPerson)",
                    attributes: ["uid"]
                ).count
            }
        }
        #expect(counts == [5, 5])
    }

    @Test func settingsThatWouldLeakPasswordsOrCannotWorkAreRefused() {
        let refused: [LDAPSettings] = [
            LDAPSettings(uri: "ldap://directory.example.com", transport: .plaintext),
            LDAPSettings(uri: "ldap://10.0.0.5:389", transport: .plaintext),
            LDAPSettings(uri: "ldap://directory.example.com", transport: .ldaps),
            LDAPSettings(uri: "ldaps://directory.example.com", transport: .startTLS),
            LDAPSettings(uri: "http://directory.example.com", transport: .startTLS),
            LDAPSettings(uri: "ldap://", transport: .startTLS),
            LDAPSettings(uri: "ldap://a.example.com ldap://b.example.com", transport: .startTLS),
            LDAPSettings(uri: "ldap://127.0.0.1", transport: .startTLS, operationTimeout: .zero),
            LDAPSettings(uri: "ldaps://127.0.0.1", transport: .ldaps, caFile: "/nonexistent/ca.pem"),
        ]
        for settings in refused {
            #expect(ldapErrorKind { _ = try LDAPConnection(settings) } == .configuration, "\(settings.uri)")
        }
        #expect(throws: Never.self) {
            try LDAPSettings(uri: "ldap://[::1]:389", transport: .plaintext).validate()
            try LDAPSettings(uri: "LDAPS://directory.example.com:636", transport: .ldaps).validate()
        }
    }

    @Test func wrongCredentialsAndEmptyPasswordsAreRefused() async throws {
        let server = try await TestDirectory.start()
        defer { server.stop() }
        let kinds = try await blocking {
            let connection = try LDAPConnection(
                LDAPSettings(uri: server.ldapURI, transport: .startTLS, caFile: server.caFile))
            let person = "uid=jane,ou=people,dc=example,dc=com"
            return [
                ldapErrorKind { try connection.bind(dn: person, password: "wrong") },
                ldapErrorKind { try connection.bind(dn: "uid=nobody,ou=people,dc=example,dc=com", password: "x") },
                // An empty password would be an unauthenticated bind, which servers answer with success.
                ldapErrorKind { try connection.bind(dn: person, password: "") },
                ldapErrorKind { try connection.bind(dn: person, password: "correct horse battery staple") },
            ]
        }
        #expect(kinds == [.invalidCredentials, .invalidCredentials, .invalidCredentials, nil])
    }

    @Test func filterValuesAreEscaped() async throws {
        #expect(LDAPFilter.escape("a*b(c)d\\e\u{0}f\u{7}é") == "a\\2ab\\28c\\29d\\5ce\\00f\\07é")
        #expect(LDAPFilter.equals("uid", "*") == "(uid=\\2a)")
        let server = try await TestDirectory.start()
        defer { server.stop() }
        let found = try await blocking {
            let connection = try LDAPConnection(
                LDAPSettings(uri: server.ldapURI, transport: .startTLS, caFile: server.caFile))
            try connection.bind(dn: TestDirectory.serviceDN, password: TestDirectory.servicePassword)
            return try ["*", "jane)(uid=*", "*)(|(uid=*", "jane\u{0}", "jan*", "\\6aane", "o*brien", "jane"].map {
                try connection.search(
                    base: TestDirectory.suffix, filter: LDAPFilter.equals("uid", $0), attributes: ["uid"]
                )
                .map(\.dn)
            }
        }
        #expect(
            found == [
                [], [], [], [], [], [], ["uid=o*brien,ou=people,dc=example,dc=com"],
                ["uid=jane,ou=people,dc=example,dc=com"],
            ])
    }

    @Test func attributeDescriptionsAreChecked() {
        for valid in ["uid", "userPrincipalName", "sAMAccountName", "objectGUID;binary", "2.5.4.3", "x-custom"] {
            #expect(LDAPFilter.isAttributeDescription(valid), "\(valid)")
        }
        for invalid in ["", "uid)(", "1uid", "uid=", "ui d", "2.5..3", "uid;", "é"] {
            #expect(!LDAPFilter.isAttributeDescription(invalid), "\(invalid)")
        }
    }

    @Test func unreachableOrUntrustedServersAreUnavailable() async throws {
        let server = try await TestDirectory.start()
        let otherCA = try await TestDirectory.start()
        let closed = try freePort()
        defer {
            server.stop()
            otherCA.stop()
        }
        let kinds = try await blocking {
            [
                ldapErrorKind {
                    _ = try LDAPConnection(LDAPSettings(uri: "ldap://127.0.0.1:\(closed)", transport: .startTLS))
                },
                ldapErrorKind {
                    let connection = try LDAPConnection(
                        LDAPSettings(uri: "ldap://127.0.0.1:\(closed)", transport: .plaintext))
                    try connection.bind(dn: TestDirectory.serviceDN, password: TestDirectory.servicePassword)
                },
                // The server's certificate is not signed by the CA this client trusts.
                ldapErrorKind {
                    _ = try LDAPConnection(
                        LDAPSettings(uri: server.ldapURI, transport: .startTLS, caFile: otherCA.caFile))
                },
                ldapErrorKind {
                    let connection = try LDAPConnection(
                        LDAPSettings(uri: server.ldapsURI, transport: .ldaps, caFile: otherCA.caFile))
                    try connection.bind(dn: TestDirectory.serviceDN, password: TestDirectory.servicePassword)
                },
            ]
        }
        #expect(kinds == [.unavailable, .unavailable, .unavailable, .unavailable])
    }

    @Test func pagedSearchReadsEveryEntryPageByPage() async throws {
        let server = try await TestDirectory.start()
        defer { server.stop() }
        let pages = try await blocking {
            let connection = try LDAPConnection(
                LDAPSettings(uri: server.ldapURI, transport: .startTLS, caFile: server.caFile))
            try connection.bind(dn: TestDirectory.serviceDN, password: TestDirectory.servicePassword)
            var pages: [[String]] = []
            try connection.pagedSearch(
                base: TestDirectory.suffix, filter: "(objectClass=inetOrgPerson)", attributes: ["uid"], pageSize: 2
            ) { pages.append($0.map(\.dn)) }
            return pages
        }
        #expect(pages.map(\.count) == [2, 2, 2])
        #expect(Set(pages.joined()).count == 6)  // the five people and the contractor
    }

    @Test func aPagedSearchItsCallerStopsLeavesTheConnectionUsable() async throws {
        struct Enough: Error {}
        let server = try await TestDirectory.start()
        defer { server.stop() }
        let (stopped, after) = try await blocking {
            let connection = try LDAPConnection(LDAPSettings(uri: server.ldapURI, transport: .plaintext))
            try connection.bind(dn: TestDirectory.serviceDN, password: TestDirectory.servicePassword)
            var stopped = false
            do {
                // The request for the second page is out when the first page's handler throws.
                try connection.pagedSearch(
                    base: TestDirectory.suffix, filter: "(objectClass=inetOrgPerson)", attributes: ["uid"],
                    pageSize: 2
                ) { _ in throw Enough() }
            } catch is Enough {
                stopped = true
            }
            let after = try connection.search(base: TestDirectory.suffix, filter: "(uid=jane)", attributes: ["uid"])
            return (stopped, after.map { $0.string("UID") })
        }
        #expect(stopped)
        #expect(after == ["jane"])
    }

    @Test func entriesKeepEveryValueAndAnswerNamesInAnyCase() {
        var entry = LDAPEntry(
            dn: "uid=x,dc=example,dc=com",
            attributes: ["mail": [Array("a@example.com".utf8), Array("b@example.com".utf8)], "photo": [[0xFF, 0x00]]])
        #expect(entry.strings("MAIL") == ["a@example.com", "b@example.com"])
        #expect(entry.string("Mail") == "a@example.com")
        #expect(entry.string("photo") == nil && entry.values("PHOTO") == [[0xFF, 0x00]])
        #expect(entry.values("cn").isEmpty && entry.string("mai") == nil)
        entry.attributes["cn"] = [Array("X".utf8)]
        #expect(entry.string("cn") == "X" && entry.attributes.count == 3)
        #expect(entry == LDAPEntry(dn: entry.dn, attributes: entry.attributes))
    }

    /// Active Directory sends a large member list in ranges (`member;range=0-1499`, then what a search
    /// for `member;range=1500-*` returns). No OpenLDAP answers that way, so the server is a function here.
    @Test func rangedValuesAreFollowedToTheLastRange() throws {
        func members(_ range: ClosedRange<Int>) -> [[UInt8]] { range.map { Array("cn=m\($0)".utf8) } }
        let group = LDAPEntry(dn: "cn=big", attributes: ["member;range=0-2": members(0...2)])
        #expect(group.rangedStrings("MEMBER")?.next == 3 && group.strings("member").isEmpty)
        var asked: [String] = []
        let all = try LDAPDirectory.allStrings(of: "member", in: group) { description in
            asked.append(description)
            switch description {
            case "member;range=3-*": return LDAPEntry(dn: "cn=big", attributes: ["member;range=3-5": members(3...5)])
            case "member;range=6-*": return LDAPEntry(dn: "cn=big", attributes: ["member;range=6-*": members(6...7)])
            default: return nil
            }
        }
        #expect(all == (0...7).map { "cn=m\($0)" })
        #expect(asked == ["member;range=3-*", "member;range=6-*"])
        // Without a range the values are the attribute's; a range that does not move on is an error.
        let small = LDAPEntry(dn: "cn=small", attributes: ["member": members(0...1)])
        #expect(try LDAPDirectory.allStrings(of: "member", in: small) { _ in nil } == ["cn=m0", "cn=m1"])
        #expect(throws: LDAPError.self) {
            _ = try LDAPDirectory.allStrings(of: "member", in: group) { _ in
                LDAPEntry(dn: "cn=big", attributes: ["member;range=0-2": members(0...2)])
            }
        }
        #expect(throws: LDAPError.self) { _ = try LDAPDirectory.allStrings(of: "member", in: group) { _ in nil } }
    }

    @Test func sizeLimitsAndMissingBases() async throws {
        let server = try await TestDirectory.start()
        defer { server.stop() }
        let kinds = try await blocking {
            let connection = try LDAPConnection(
                LDAPSettings(uri: server.ldapURI, transport: .startTLS, caFile: server.caFile))
            try connection.bind(dn: TestDirectory.serviceDN, password: TestDirectory.servicePassword)
            return [
                ldapErrorKind {
                    _ = try connection.search(
                        base: TestDirectory.suffix, filter: "(objectClass=inetOrgPerson)", attributes: ["uid"],
                        sizeLimit: 1)
                },
                ldapErrorKind {
                    _ = try connection.search(
                        base: "ou=nowhere," + TestDirectory.suffix, filter: "(uid=jane)", attributes: ["uid"])
                },
                ldapErrorKind {
                    _ = try connection.search(
                        base: TestDirectory.suffix, scope: .oneLevel, filter: "(uid=jane)", attributes: ["uid"])
                },
            ]
        }
        #expect(kinds == [.sizeLimitExceeded, .noSuchObject, nil])
    }
}
