import Testing

@testable import TesseraCore

@Suite struct EnrolmentDiscoveryTests {
    let domains = try! ManagedDomains(["appleid.example.com", "partner.example.com"])

    func rule(_ text: String) throws -> DiscoveryRule { try DiscoveryRule(parsing: text, managedDomains: domains) }

    @Test func rulesParseAndPrint() throws {
        let mac = try rule("AppleID.example.com  Mac iPad role=device-enrolment-manager : MDM-ADDE")
        #expect(mac.domain == "appleid.example.com" && mac.families == [.mac, .iPad])
        #expect(mac.roles == [.deviceEnrolmentManager] && mac.enrolment == .device)
        #expect(mac.description == "appleid.example.com iPad Mac role=device-enrolment-manager: mdm-adde")
        #expect(
            try rule("partner.example.com: mdm-byod") == DiscoveryRule(domain: "partner.example.com", enrolment: .user))
        for bad in [
            "appleid.example.com mdm-byod",  // no colon
            "appleid.example.com: mdm-other",
            ": mdm-byod",
            "example.org: mdm-byod",  // not a managed domain
            "appleid.example.com Toaster: mdm-byod",
            "appleid.example.com Mac mac: mdm-adde",
            "appleid.example.com role=owner: mdm-adde",
        ] {
            #expect(throws: CoreError.self, "\(bad)") { _ = try rule(bad) }
        }
    }

    @Test func theFirstMatchingRuleAnswers() throws {
        let policy = DiscoveryPolicy(rules: [
            try rule("appleid.example.com role=device-enrolment-manager: mdm-adde"),
            try rule("appleid.example.com Mac: mdm-adde"),
            try rule("appleid.example.com: mdm-byod"),
            try rule("partner.example.com iPhone iPad: mdm-byod"),
        ])
        #expect(policy.enrolment(domain: "appleid.example.com", family: .iPhone, roles: []) == .user)
        #expect(policy.enrolment(domain: "appleid.example.com", family: .mac, roles: [.staff]) == .device)
        #expect(
            policy.enrolment(domain: "appleid.example.com", family: nil, roles: [.deviceEnrolmentManager]) == .device)
        #expect(policy.enrolment(domain: "appleid.example.com", family: nil, roles: []) == .user)
        #expect(policy.enrolment(domain: "partner.example.com", family: .iPad, roles: []) == .user)
        // A family the rules do not name, or none at all, matches no rule that names families.
        #expect(policy.enrolment(domain: "partner.example.com", family: .mac, roles: []) == nil)
        #expect(policy.enrolment(domain: "partner.example.com", family: nil, roles: []) == nil)
        #expect(policy.enrolment(domain: "other.example.com", family: .iPhone, roles: []) == nil)
    }

    @Test func productsNameTheirModelFamily() {
        let cases: [(String, ModelFamily?)] = [
            ("iPhone15,2", .iPhone), ("iPad13,4", .iPad), ("Mac14,2", .mac), ("MacBookPro18,3", .mac),
            ("MacBookAir10,1", .mac), ("Macmini9,1", .mac), ("iMac21,1", .mac), ("VirtualMac2,1", .mac),
            ("AppleTV14,1", .appleTV), ("Watch6,1", .watch), ("RealityDevice14,1", .realityDevice),
            ("iPod9,1", nil), ("", nil), ("iphone15,2", nil),
        ]
        for (product, family) in cases { #expect(ModelFamily(product: product) == family, "\(product)") }
    }

    @Test func identifiersSplitAtTheLastAt() {
        #expect(DiscoveryPolicy.split("jane@partner@AppleID.example.com")! == ("jane@partner", "appleid.example.com"))
        #expect(DiscoveryPolicy.split("jane") == nil)
        #expect(DiscoveryPolicy.split("@appleid.example.com") == nil)
        #expect(DiscoveryPolicy.split("jane@") == nil)
        #expect(ModelFamily(named: "iphone") == .iPhone && ModelFamily(named: "Toaster") == nil)
    }
}
