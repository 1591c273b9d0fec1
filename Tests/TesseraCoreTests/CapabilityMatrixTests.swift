import Testing

@testable import TesseraCore

/// Every row of DESIGN.md's capability matrix, both ownerships, restated here action by action.
@Suite struct CapabilityMatrixTests {
    /// (action, supervised organisation device, user-enrolled personal device)
    static let rows: [(ManagementAction, Bool, Bool)] = [
        (.configureAccounts, true, true),
        (.globalProxy, true, false), (.perAppVPN, true, true),
        (.manageAllApps, true, false), (.manageWorkApps, true, true),
        (.requireComplexPasscode, true, false), (.requirePasscode, true, true),
        (.enforceAllRestrictions, true, false), (.enforceCertainRestrictions, true, true),
        (.inventoryAllApps, true, false), (.inventoryWorkApps, true, true),
        (.eraseDevice, true, false), (.eraseWorkData, true, true),
        (.manageSoftwareUpdates, true, false), (.removeSystemApps, true, false), (.setWallpaper, true, false),
        (.singleAppMode, true, false), (.keepWiFiOn, true, false),
        (.bypassActivationLock, true, false), (.lostMode, true, false), (.deviceLocation, true, false),
        (.readPersonalData, true, false),
    ]

    @Test func everyRowForBothOwnerships() {
        #expect(Set(Self.rows.map(\.0)) == Set(ManagementAction.allCases))
        for (action, organisation, personal) in Self.rows {
            #expect(
                CapabilityMatrix.allows(action, on: .organisation) == organisation,
                "\(action) on an organisation device")
            #expect(CapabilityMatrix.allows(action, on: .personal) == personal, "\(action) on a personal device")
        }
        #expect(CapabilityMatrix.capabilities(of: .personal).filter(\.allowed).count == 7)
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
