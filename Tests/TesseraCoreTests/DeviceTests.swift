import Foundation
import Testing

@testable import TesseraCore

@Suite struct DeviceTests {
    let now = Date(timeIntervalSince1970: 1_800_000_000)

    func device(_ kind: EnrolmentKind, account: String = "acc-1") throws -> Device {
        try Device.enrolled(
            id: "dev-1", kind: kind, accountID: account, serialNumber: nil, udid: nil, product: "iPhone15,2",
            osBuild: "21E236", enrolmentTokenID: "jti-1", at: now)
    }

    @Test func identifiersFollowOwnership() throws {
        #expect(try device(.user).ownership == .personal && !(try device(.user)).supervised)
        #expect(try device(.ade).supervised && (try device(.adde)).ownership == .organisation)
        #expect(throws: CoreError.self) {
            _ = try Device.enrolled(
                id: "d", kind: .user, accountID: "a", serialNumber: "C02", udid: nil, product: nil, osBuild: nil,
                enrolmentTokenID: nil, at: now)
        }
        #expect(throws: CoreError.self) {
            _ = try Device.enrolled(
                id: "d", kind: .adde, accountID: "a", serialNumber: "C02", udid: "U", enrollmentID: "E", product: nil,
                osBuild: nil, enrolmentTokenID: nil, at: now)
        }
        let gone = try device(.user).unenrolled(at: now)
        #expect(gone.state == .unenrolled && gone.unenrolledAt == now)
        #expect(throws: CoreError.self) { _ = try gone.unenrolled(at: now) }
    }

    /// The organisation never reaches a person's personal scope; the person never another's device.
    @Test func scopeAccess() throws {
        let personal = try device(.user, account: "jane")
        let organisation = try device(.adde, account: "jane")
        let cases: [(DeviceCaller, DeviceAccess.Operation, DataScope, Device, Bool)] = [
            (.organisation, .read, .managed, personal, true), (.organisation, .write, .managed, personal, true),
            (.organisation, .read, .personal, personal, false), (.organisation, .write, .personal, personal, false),
            (.organisation, .read, .personal, organisation, true),
            (.account("jane"), .read, .personal, personal, true), (.account("jane"), .write, .personal, personal, true),
            (.account("jane"), .read, .managed, personal, true), (.account("jane"), .write, .managed, personal, false),
            (.account("john"), .read, .personal, personal, false), (.account("john"), .read, .managed, personal, false),
        ]
        for (caller, operation, scope, device, allowed) in cases {
            #expect(
                DeviceAccess.may(caller, operation, scope, of: device) == allowed,
                "\(caller) \(operation) \(scope) \(device.kind)")
        }
    }

    @Test func whomATokenMakesItsHolder() throws {
        func holder(_ account: String?, _ roles: Set<Role>, _ client: String, _ scopes: Set<String>) throws
            -> DeviceCaller
        {
            try DeviceCaller.holder(
                accountID: account, roles: roles, clientID: client, scopes: scopes, enrolmentClientID: "enrol")
        }
        #expect(try holder(nil, [], "mdm", ["devices"]) == .organisation)
        #expect(try holder("jane", [], "portal", ["own-devices"]) == .account("jane"))
        #expect(try holder("ada", [.administrator], "portal", ["devices"]) == .organisation)
        #expect(try holder("dem", [.deviceEnrolmentManager], "portal", ["devices"]) == .organisation)
        #expect(
            try holder("dem", [.deviceEnrolmentManager], "portal", ["devices", "own-devices"])
                == .organisationAndAccount("dem"))
        // A person without device authority asking as the organisation is herself, with own-devices.
        #expect(try holder("jane", [.staff], "portal", ["devices", "own-devices"]) == .account("jane"))
        for (account, roles, client, scopes) in [
            (nil, [], "mdm", ["mdm"]),  // a client without the scope devices
            ("jane", [.staff], "portal", ["devices"]),  // no device authority, no own-devices
            ("jane", [], "portal", ["email"]),
            ("jane", [], "enrol", ["own-devices"]),  // the enrolment token: the MDM holds it too
            (nil, [], "enrol", ["devices"]),
        ] as [(String?, Set<Role>, String, Set<String>)] {
            #expect(throws: CoreError.self, "\(account ?? "client") \(client) \(scopes)") {
                try holder(account, roles, client, scopes)
            }
        }
    }
}
