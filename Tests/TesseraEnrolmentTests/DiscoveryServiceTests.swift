import Foundation
import TesseraCore
import TesseraEnrolment
import TesseraStore
import Testing

@Suite struct DiscoveryServiceTests {
    let domains = try! ManagedDomains(["appleid.example.com"])

    /// A store with the accounts given (managed local part, roles, state).
    func store(_ accounts: [(String, Set<Role>, AccountState)]) async throws -> (SQLiteStore, String) {
        let directory = NSTemporaryDirectory() + "tessera-discovery-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let store = try SQLiteStore(path: directory + "/tessera.sqlite3")
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        for (local, roles, state) in accounts {
            let account = Account(
                id: UUID().uuidString,
                managedID: try ManagedAccountID("\(local)@appleid.example.com", managedDomains: domains),
                givenName: "G", familyName: local, roles: roles, source: .local, state: state, createdAt: now,
                updatedAt: now, deactivatedAt: state == .deactivated ? now : nil)
            try await store.write { try $0.insert(account) }
        }
        return (store, directory)
    }

    /// Discovery over `store` with these rules, sending devices under `https://mdm.example.com/enrol`.
    func service(_ rules: [String], store: SQLiteStore) throws -> DiscoveryService {
        DiscoveryService(
            policy: DiscoveryPolicy(rules: try rules.map { try DiscoveryRule(parsing: $0, managedDomains: domains) }),
            baseURL: "https://mdm.example.com/enrol", managedDomains: domains, store: store)
    }

    @Test func roleRulesNeedAnActiveAccountWithTheRole() async throws {
        let (store, directory) = try await store([
            ("dem", [.deviceEnrolmentManager], .active), ("gone", [.deviceEnrolmentManager], .deactivated),
            ("staff", [], .active),
        ])
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let service = try service(
            [
                "appleid.example.com role=device-enrolment-manager: mdm-adde",
                "appleid.example.com iPhone iPad: mdm-byod",
            ], store: store)
        // The enrolment URL names the kind discovery offered.
        let url = "https://mdm.example.com/enrol/byod"
        #expect(
            try await service.discover(identifier: "DEM@appleid.example.com", modelFamily: "Mac")
                == .enrol(.device, baseURL: "https://mdm.example.com/enrol/adde"))
        #expect(
            try await service.discover(identifier: "gone@appleid.example.com", modelFamily: "iPhone")
                == .enrol(.user, baseURL: url))
        #expect(
            try await service.discover(identifier: "nobody@appleid.example.com", modelFamily: "ipad")
                == .enrol(.user, baseURL: url))
        // staff on a Mac: no rule (the family rule names iPhone and iPad only).
        guard case .refused = try await service.discover(identifier: "staff@appleid.example.com", modelFamily: "Mac")
        else {
            Issue.record("staff on a Mac should be refused")
            return
        }
        // A local part no managed ID can have still gets the domain's answer, never an account lookup error.
        #expect(
            try await service.discover(identifier: "j d@appleid.example.com", modelFamily: "iPhone")
                == .enrol(.user, baseURL: url))
        for identifier in ["jane", "jane@example.org", "@appleid.example.com"] {
            guard case .refused = try await service.discover(identifier: identifier, modelFamily: "iPhone") else {
                Issue.record("\(identifier) should be refused")
                continue
            }
        }
    }

    @Test func theEnrolmentURLIsCheckedAgainstTheRulesForTheSignedInAccount() async throws {
        let (store, directory) = try await store([("dem", [.deviceEnrolmentManager], .active), ("staff", [], .active)])
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let service = try service(
            [
                "appleid.example.com role=device-enrolment-manager: mdm-adde", "appleid.example.com Mac: mdm-adde",
                "appleid.example.com iPhone iPad: mdm-byod",
            ], store: store)
        let dem = try ManagedAccountID("dem@appleid.example.com", managedDomains: domains)
        let staff = try ManagedAccountID("staff@appleid.example.com", managedDomains: domains)
        #expect(try await service.offers(.device, to: dem, product: "iPhone15,2"))
        #expect(try await !service.offers(.user, to: dem, product: "iPhone15,2"))
        #expect(try await service.offers(.user, to: staff, product: "iPhone15,2"))
        #expect(try await !service.offers(.device, to: staff, product: "iPhone15,2"))
        #expect(try await service.offers(.device, to: staff, product: "MacBookPro18,3"))
        #expect(try await service.offers(.user, to: staff, product: "iPad13,4"))
        // A model no family rule names (or none reported) gets no rule of the families.
        #expect(try await !service.offers(.user, to: staff, product: "iPod9,1"))
        #expect(try await !service.offers(.user, to: staff, product: nil))
    }
}
