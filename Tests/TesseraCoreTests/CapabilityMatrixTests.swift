import Foundation
import Testing

@testable import TesseraCore

/// Every row of DESIGN.md's capability matrix, both ownerships, restated here action by action, plus the
/// organisation device that is not supervised (account-driven Device Enrolment).
@Suite struct CapabilityMatrixTests {
    /// (action, supervised organisation device, unsupervised organisation device, user-enrolled personal device)
    static let rows: [(ManagementAction, Bool, Bool, Bool)] = [
        (.configureAccounts, true, true, true),
        (.globalProxy, true, false, false), (.perAppVPN, true, true, true),
        (.manageAllApps, true, false, false), (.manageWorkApps, true, true, true),
        (.requireComplexPasscode, true, true, false), (.requirePasscode, true, true, true),
        (.enforceAllRestrictions, true, false, false), (.enforceCertainRestrictions, true, true, true),
        (.inventoryAllApps, true, true, false), (.inventoryWorkApps, true, true, true),
        (.eraseDevice, true, true, false), (.eraseWorkData, true, true, true),
        (.manageSoftwareUpdates, true, false, false), (.removeSystemApps, true, false, false),
        (.setWallpaper, true, false, false), (.singleAppMode, true, false, false), (.keepWiFiOn, true, false, false),
        (.bypassActivationLock, true, false, false), (.lostMode, true, false, false),
        (.deviceLocation, true, false, false), (.readPersonalData, true, true, false),
    ]

    static func device(_ kind: EnrolmentKind, state: Device.State = .enrolled) throws -> Device {
        var device = try Device.enrolled(
            id: "dev-\(kind.rawValue)", kind: kind, accountID: "acct", serialNumber: nil, udid: nil, product: "iPhone15,2",
            osBuild: "22A3354", enrolmentTokenID: nil, at: Date(timeIntervalSince1970: 0))
        device.state = state
        return device
    }

    @Test func everyRowForEveryKindOfDevice() throws {
        #expect(Set(Self.rows.map(\.0)) == Set(ManagementAction.allCases))
        let ade = try Self.device(.ade), adde = try Self.device(.adde), user = try Self.device(.user)
        #expect(ade.supervised && !adde.supervised && !user.supervised)
        for (action, supervised, unsupervised, personal) in Self.rows {
            #expect(CapabilityMatrix.allows(action, on: ade) == supervised, "\(action) on a supervised device")
            #expect(CapabilityMatrix.allows(action, on: adde) == unsupervised, "\(action) on an unsupervised one")
            #expect(CapabilityMatrix.allows(action, on: user) == personal, "\(action) on a personal device")
            #expect(CapabilityMatrix.allows(action, on: .personal, supervised: true) == personal)
            #expect((CapabilityMatrix.refusal(action, on: adde) == nil) == unsupervised)
        }
        #expect(CapabilityMatrix.capabilities(of: user).filter(\.allowed).count == 7)
        #expect(
            CapabilityMatrix.refusal(.lostMode, on: adde)
                == "the capability matrix does not allow lost-mode on an unsupervised organisation device")
        #expect(
            CapabilityMatrix.refusal(.configureAccounts, on: try Self.device(.ade, state: .unenrolled))
                == "device dev-ade is not enrolled")
    }

    @Test func deviceScopesNameADeviceAndAnAction() throws {
        let scope = try #require(try DeviceScope.parse("device:dev-1:erase-device"))
        #expect(scope.deviceID == "dev-1" && scope.action == .eraseDevice)
        #expect(try DeviceScope.parse("device:a:b:lost-mode")?.deviceID == "a:b")
        #expect(try DeviceScope.parse("mdm") == nil)
        #expect(throws: CoreError.self) { _ = try DeviceScope.parse("device::erase-device") }
        #expect(throws: CoreError.self) { _ = try DeviceScope.parse("device:dev-1") }
        #expect(throws: CoreError.self) { _ = try DeviceScope.parse("device:dev-1:self-destruct") }
    }

    @Test func actionNamesParse() throws {
        #expect(try ManagementAction(parsing: "Erase-Device") == .eraseDevice)
        #expect(throws: CoreError.self) { _ = try ManagementAction(parsing: "self-destruct") }
    }
}
