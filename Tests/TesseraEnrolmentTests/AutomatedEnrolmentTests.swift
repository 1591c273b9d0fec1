import Foundation
import TesseraCore
import Testing

@testable import TesseraEnrolment

@Suite struct AutomatedEnrolmentTests {
    @Test func minimumOSVersionsParseAndCompare() throws {
        let minimum = try AutomatedEnrolmentService.MinimumOS(parsing: "iphone:  17.1")
        #expect(minimum.family == .iPhone && minimum.version == "17.1")
        #expect(minimum.isNewer(than: "17.0.3") && minimum.isNewer(than: "16.7"))
        #expect(!minimum.isNewer(than: "17.1") && !minimum.isNewer(than: "17.1.1") && !minimum.isNewer(than: "18"))
        for bad in ["Toaster: 1.0", "iPhone", "iPhone: 17.x", "iPhone: ", "Mac: 14..1"] {
            #expect(throws: CoreError.self, "\(bad)") { _ = try AutomatedEnrolmentService.MinimumOS(parsing: bad) }
        }
    }

    @Test func automatedProfilesCarryNoAccountAndNeedAccessRights() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let template = try ProfileTemplate(
            json5: Array(try Data(contentsOf: root.appendingPathComponent("Config/enrolment-profile.json5"))))
        let profile =
            try PropertyListSerialization.propertyList(
                from: Data(try template.profile(.automated).xml), format: nil) as? [String: Any]
        let mdm = try #require((profile?["PayloadContent"] as? [[String: Any]])?.last)
        #expect(mdm["PayloadType"] as? String == "com.apple.mdm" && mdm["AccessRights"] as? Int == 8191)
        #expect(mdm["EnrollmentMode"] == nil && mdm["AssignedManagedAppleID"] == nil)
        var withoutRights = template
        withoutRights.mdm["AccessRights"] = nil
        #expect(throws: ProfileError.self) { _ = try withoutRights.profile(.automated) }
    }
}
