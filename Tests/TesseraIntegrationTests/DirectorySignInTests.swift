import Foundation
import TesseraTestSupport
import Testing

/// `tessera serve` signing people in against a real slapd: the password grant over HTTP creates the
/// account from the directory entry, and a directory that is down answers 503.
@Suite(.serialized) struct ServeDirectoryTests {
    /// The claims of a compact JWS, unverified (the OAuth tests verify signatures).
    func claims(_ token: String) throws -> [String: Any] {
        var payload = String(token.split(separator: ".")[1]).replacingOccurrences(of: "-", with: "+")
            .replacingOccurrences(of: "_", with: "/")
        while payload.count % 4 != 0 { payload += "=" }
        let data = try #require(Data(base64Encoded: payload))
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    @Test func passwordGrantSignsInThroughTheDirectoryAndAnswers503WhenItIsDown() async throws {
        let directory = try await TestDirectory.start()
        defer { directory.stop() }
        let scratch = try Scratch()
        let secret = try scratch.write("ldap-password", TestDirectory.servicePassword + "\n")
        try scratch.write(
            "tessera.json",
            """
            {
              "server": { "port": 0, "shutdown_grace_seconds": 5 },
              "store": { "sqlite": { "path": "\(scratch.path)/var/tessera.sqlite3" } },
              "passwords": { "scrypt_log_n": 10 },
              "oauth": { "key_encryption_key_file": "\(scratch.path)/var/kek" },
              "directory": { "ldap": {
                "enabled": true, "uri": "\(directory.ldapURI)", "transport": "starttls", "ca_file": "\(directory.caFile)",
                "bind_dn": "\(TestDirectory.serviceDN)", "bind_password_file": "\(secret)",
                "user_base": "\(TestDirectory.suffix)", "group_base": "ou=groups,\(TestDirectory.suffix)",
                "group_roles": ["device-enrolment-manager: cn=enrolment-managers,ou=groups,dc=example,dc=com"]
              } }
            }
            """)
        let created = try await runCommand(
            tesseraBinary,
            ["clients", "create", "--config", scratch.config, "--name", "app", "--grant", "password", "--json"])
        #expect(created.status == 0, "\(created.err)")
        let client = try #require(try JSONSerialization.jsonObject(with: Data(created.out.utf8)) as? [String: Any])
        let basic = "\(client["client_id"] as? String ?? ""):\(client["client_secret"] as? String ?? "")"
        let server = try await ServeProcess(config: scratch.config)
        let url = "http://127.0.0.1:\(server.port)/oauth2/token"
        func token(_ username: String, _ password: String) async throws -> (status: Int, body: [String: Any]) {
            let answer = try await curl(
                url,
                [
                    "-u", basic, "--data-urlencode", "grant_type=password", "--data-urlencode", "username=\(username)",
                    "--data-urlencode", "password=\(password)",
                ])
            return (
                answer.status,
                (try? JSONSerialization.jsonObject(with: Data(answer.body.utf8)) as? [String: Any]) ?? [:]
            )
        }

        let signedIn = try await token("jane", "correct horse battery staple")
        #expect(signedIn.status == 200)
        let jane = try claims(try #require(signedIn.body["access_token"] as? String))
        #expect(jane["managed_id"] as? String == "jane@appleid.example.com")
        #expect(jane["roles"] as? [String] == ["device-enrolment-manager"])
        let wrong = try await token("jane@appleid.example.com", "not her password")
        #expect(wrong.status == 400 && wrong.body["error"] as? String == "invalid_grant")
        // The account exists now, made by the sign-in, with no Tessera password.
        let shown = try await runCommand(
            tesseraBinary, ["accounts", "show", "jane@appleid.example.com", "--config", scratch.config, "--json"])
        let account = try #require(try JSONSerialization.jsonObject(with: Data(shown.out.utf8)) as? [String: Any])
        #expect(account["source"] as? String == "ldap" && account["has_password"] as? Bool == false)

        directory.kill()
        let down = try await token("jane", "correct horse battery staple")
        #expect(down.status == 503 && down.body["error"] as? String == "temporarily_unavailable")
        server.signal(SIGTERM)
        #expect(try await server.waitForExit() == 0)
    }
}
