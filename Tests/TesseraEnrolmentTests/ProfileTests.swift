import Foundation
import TesseraCore
import TesseraCrypto
import Testing

@testable import TesseraEnrolment

/// Runs `openssl` with `arguments` in `directory`; its status and standard error.
func openssl(_ arguments: [String], in directory: String) throws -> (status: Int32, err: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
    process.arguments = arguments
    process.currentDirectoryURL = URL(fileURLWithPath: directory)
    let err = Pipe()
    process.standardError = err
    process.standardOutput = FileHandle.nullDevice
    try process.run()
    let text = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    return (process.terminationStatus, text)
}

@Suite struct ProfileTests {
    let jane = try! ManagedAccountID(
        "jane@appleid.example.com", managedDomains: ManagedDomains(["appleid.example.com"]))

    /// The template shipped in Config/.
    func shipped() throws -> ProfileTemplate {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let bytes = try Data(contentsOf: root.appendingPathComponent("Config/enrolment-profile.json5"))
        return try ProfileTemplate(json5: Array(bytes))
    }

    func payloads(_ profile: PropertyList) throws -> (top: [String: Any], identity: [String: Any], mdm: [String: Any]) {
        // Read back by Foundation's own property-list parser: the XML is a valid plist.
        let parsed = try PropertyListSerialization.propertyList(from: Data(profile.xml), options: [], format: nil)
        let top = try #require(parsed as? [String: Any])
        let content = try #require(top["PayloadContent"] as? [[String: Any]])
        return (top, content[0], content[1])
    }

    @Test func userEnrolmentProfilesCarryTheModeAndAccountAndNoAccessRights() throws {
        let template = try shipped()
        let (top, identity, mdm) = try payloads(try template.profile(for: jane, enrolment: .user))
        #expect(top["PayloadType"] as? String == "Configuration" && top["PayloadVersion"] as? Int == 1)
        #expect(mdm["PayloadType"] as? String == "com.apple.mdm" && mdm["EnrollmentMode"] as? String == "BYOD")
        #expect(mdm["AssignedManagedAppleID"] as? String == "jane@appleid.example.com")
        #expect(mdm["AccessRights"] == nil && mdm["ServerURL"] as? String == "https://mdm.example.com/mdm")
        #expect(mdm["IdentityCertificateUUID"] as? String == identity["PayloadUUID"] as? String)
        #expect(identity["PayloadType"] as? String == "com.apple.security.acme" && identity["KeySize"] as? Int == 384)
        #expect(identity["HardwareBound"] as? Bool == true)
        let uuids = [top, identity, mdm].compactMap { $0["PayloadUUID"] as? String }
        #expect(Set(uuids).count == 3 && uuids.allSatisfy { UUID(uuidString: $0) != nil })
        // Every profile gets new UUIDs.
        let again = try payloads(try template.profile(for: jane, enrolment: .user))
        #expect(again.top["PayloadUUID"] as? String != top["PayloadUUID"] as? String)

        let (_, _, device) = try payloads(try template.profile(for: jane, enrolment: .device))
        #expect(device["EnrollmentMode"] as? String == "ADDE" && device["AccessRights"] as? Int == 8191)
    }

    @Test func xmlEscapesTextAndDropsWhatXMLCannotCarry() {
        let list = PropertyList.dictionary([
            "a<b": .string("x & y <z>\u{1}"), "data": .data([0, 1, 2]), "on": .bool(false), "n": .real(1.5),
            "when": .date(Date(timeIntervalSince1970: 0)),
        ])
        let text = String(decoding: list.xml, as: UTF8.self)
        #expect(text.contains("<key>a&lt;b</key>") && text.contains("<string>x &amp; y &lt;z&gt;</string>"))
        #expect(text.contains("<data>AAEC</data>") && text.contains("<false/>") && text.contains("<real>1.5</real>"))
        #expect(text.contains("<date>1970-01-01T00:00:00Z</date>"))
    }

    @Test func templatesAreChecked() throws {
        func problem(_ text: String) -> String? {
            do {
                _ = try ProfileTemplate(json5: Array(text.utf8))
                return nil
            } catch {
                return error.message
            }
        }
        let mdm = #""ServerURL": "https://mdm.example.com/mdm", "Topic": "com.apple.mgmt.External.x""#
        let identity = #""identity": {"PayloadType": "com.apple.security.scep"}"#
        let good =
            #"{"PayloadDisplayName": "D", "PayloadIdentifier": "com.example.mdm", "mdm": {\#(mdm)}, \#(identity)}"#
        #expect(problem(good) == nil)
        let device = try ProfileTemplate(json5: Array(good.utf8))
        #expect(throws: ProfileError.self) { _ = try device.profile(for: jane, enrolment: .device) }  // no AccessRights
        let cases: [(String, String)] = [
            (good.replacingOccurrences(of: "\"D\"", with: "\"D\", \"Extra\": 1"), "unknown key 'Extra'"),
            (good.replacingOccurrences(of: "https://mdm", with: "http://mdm"), "mdm.ServerURL must be an https URL"),
            (good.replacingOccurrences(of: "com.apple.mgmt.External.x", with: "push"), "mdm.Topic"),
            (
                good.replacingOccurrences(of: #""Topic""#, with: #""EnrollmentMode": "BYOD", "Topic""#),
                "mdm.EnrollmentMode is set by Tessera"
            ),
            (
                good.replacingOccurrences(of: #"{"PayloadType": "com.apple.security.scep"}"#, with: "{}"),
                "identity.PayloadType is missing"
            ),
            (
                good.replacingOccurrences(of: #""Topic""#, with: #""Blob": {"$data": "%%"}, "Topic""#),
                "mdm.Blob: $data is not base64"
            ),
            (
                good.replacingOccurrences(of: #""Topic""#, with: #""Nothing": null, "Topic""#),
                "mdm.Nothing: property lists have no null"
            ),
            (good.replacingOccurrences(of: #""Topic""#, with: #""AccessRights": 0, "Topic""#), "mdm.AccessRights"),
            (good.replacingOccurrences(of: "com.example.mdm", with: "com..mdm"), "reverse-DNS"),
            ("[]", "must be an object"),
            ("{", "not JSON5"),
        ]
        for (text, fragment) in cases {
            #expect(problem(text)?.contains(fragment) == true, "\(fragment): \(problem(text) ?? "accepted")")
        }
    }

    /// The signed profile verifies with `openssl cms -verify` against the CA alone (the signer's
    /// certificate and the chain travel inside the CMS), and its content is the XML profile byte for byte.
    @Test func signedProfilesVerifyWithOpenSSL() throws {
        let directory = NSTemporaryDirectory() + "tessera-profile-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let steps: [[String]] = [
            [
                "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "ca.key",
                "-out", "ca.pem", "-days", "1", "-subj", "/CN=Test Profile CA",
            ],
            [
                "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "signer.key",
                "-out",
                "signer.csr", "-subj", "/CN=Test Profile Signer",
            ],
            [
                "x509", "-req", "-in", "signer.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-days",
                "1",
                "-out", "signer.pem",
            ],
        ]
        for step in steps {
            let run = try openssl(step, in: directory)
            try #require(run.status == 0, "\(step): \(run.err)")
        }
        func read(_ name: String) throws -> String {
            try String(contentsOfFile: directory + "/" + name, encoding: .utf8)
        }
        let signer = try CMSSigner(
            certificatePEM: try read("signer.pem") + read("ca.pem"), keyPEM: try read("signer.key"))
        let profile = try shipped().profile(for: jane, enrolment: .user)
        let signed = try signer.sign(profile.xml)
        try Data(signed).write(to: URL(fileURLWithPath: directory + "/profile.der"))
        let verified = try openssl(
            [
                "cms", "-verify", "-inform", "DER", "-in", "profile.der", "-CAfile", "ca.pem", "-purpose", "any",
                "-out", "content.xml",
            ], in: directory)
        #expect(verified.status == 0, "\(verified.err)")
        #expect(Array(try Data(contentsOf: URL(fileURLWithPath: directory + "/content.xml"))) == profile.xml)

        // A key that is not the certificate's, or no certificate at all, is refused up front.
        #expect(throws: CryptoError.self) {
            _ = try CMSSigner(certificatePEM: try read("signer.pem"), keyPEM: try read("ca.key"))
        }
        #expect(throws: CryptoError.self) { _ = try CMSSigner(certificatePEM: "", keyPEM: try read("signer.key")) }
        #expect(throws: CryptoError.self) { _ = try CMSSigner(certificatePEM: try read("signer.pem"), keyPEM: "nope") }
    }
}
