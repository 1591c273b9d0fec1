import Foundation
import Testing

/// `GET /.well-known/com.apple.remotemanagement` through `tessera serve`, as a device asks it
/// (PROTOCOLS.md §1.1).
@Suite struct EnrolmentDiscoveryEndpointTests {
    @Test func devicesAreOfferedTheEnrolmentTheRulesSay() async throws {
        let scratch = try Scratch(
            """
            "accounts": { "managed_domains": ["appleid.example.com", "partner.example.com"] },
            "enrolment": { "base_url": "https://mdm.example.com/enrol", "discovery_rules": [
              "appleid.example.com role=device-enrolment-manager: mdm-adde",
              "appleid.example.com Mac: mdm-adde",
              "appleid.example.com: mdm-byod"
            ] }
            """)
        let created = try await runCommand(
            tesseraBinary,
            [
                "accounts", "create", "--config", scratch.config, "--managed-id", "dem@appleid.example.com",
                "--given-name", "Dee", "--family-name", "Em", "--role", "device-enrolment-manager",
            ])
        #expect(created.status == 0, "\(created.err)")
        let server = try await ServeProcess(config: scratch.config)
        func discover(_ query: String) async throws -> (status: Int, body: [String: Any], headers: String) {
            let result = try await runCommand(
                "/usr/bin/curl",
                [
                    "-sS", "--max-time", "10", "-D", "-",
                    "http://127.0.0.1:\(server.port)/.well-known/com.apple.remotemanagement?\(query)",
                ])
            let parts = result.out.components(separatedBy: "\r\n\r\n")
            let status = Int(parts[0].split(separator: " ")[1]) ?? 0
            let body = try JSONSerialization.jsonObject(with: Data(parts.dropFirst().joined().utf8)) as? [String: Any]
            return (status, body ?? [:], parts[0])
        }
        func version(_ body: [String: Any]) -> String? {
            ((body["Servers"] as? [[String: Any]])?.first)?["Version"] as? String
        }

        let phone = try await discover("user-identifier=jane%40appleid.example.com&model-family=iPhone")
        #expect(phone.status == 200 && version(phone.body) == "mdm-byod")
        #expect(
            ((phone.body["Servers"] as? [[String: Any]])?.first)?["BaseURL"] as? String
                == "https://mdm.example.com/enrol")
        #expect(
            phone.headers.contains("Content-Type: application/json")
                && phone.headers.contains("Cache-Control: no-store"))
        #expect(
            version(try await discover("user-identifier=jane@AppleID.example.com&model-family=Mac").body) == "mdm-adde")
        // The role rule: an active account with the role; anyone else falls through to the domain.
        #expect(
            version(try await discover("user-identifier=dem@appleid.example.com&model-family=iPhone").body)
                == "mdm-adde")
        // Split at the last @: the domain is appleid.example.com.
        #expect(version(try await discover("user-identifier=jane%40partner%40appleid.example.com").body) == "mdm-byod")

        // Refusals the device understands: 403 com.apple.well-known.failed.
        for query in [
            "user-identifier=jane@example.org&model-family=iPhone",  // not a managed domain
            "user-identifier=jane@partner.example.com&model-family=iPhone",  // managed, but no rule
            "user-identifier=jane&model-family=iPhone",
        ] {
            let refused = try await discover(query)
            #expect(refused.status == 403, "\(query)")
            #expect(refused.body["code"] as? String == "com.apple.well-known.failed")
            #expect((refused.body["description"] as? String)?.isEmpty == false && refused.body["message"] != nil)
        }
        for query in [
            "model-family=iPhone", "user-identifier=a@appleid.example.com&user-identifier=b@appleid.example.com",
        ] {
            #expect(try await discover(query).status == 400, "\(query)")
        }
        server.signal(SIGTERM)
        #expect(try await server.waitForExit() == 0)
    }
}
