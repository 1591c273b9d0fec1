import Foundation
import TesseraTestSupport
import Testing

/// Account-driven enrolment through `tessera serve`, as a device plays it (PROTOCOLS.md §1): discovery,
/// the first POST and its `apple-oauth2` challenge, sign-in at the authorization endpoint, the code
/// exchanged at the token endpoint, and the bearer POST that returns the signed enrolment profile.
@Suite struct EnrolmentEndpointTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    /// A scratch configuration with enrolment on: the shipped profile template, a signing certificate
    /// made here, device fixtures from Fixtures/enrolment, and the enrolment client registered.
    func enrolmentSetUp(challenge: String = "apple-oauth2", extra: String = "") async throws -> (
        scratch: Scratch, clientID: String
    ) {
        let scratch = try Scratch(
            """
            "accounts": { "managed_domains": ["appleid.example.com", "partner.example.com"] },
            "enrolment": {
              "base_url": "https://mdm.example.com/enrol",
              "discovery_rules": [
                "appleid.example.com role=device-enrolment-manager: mdm-adde",
                "appleid.example.com Mac: mdm-adde",
                "appleid.example.com: mdm-byod"
              ],
              "challenge": "\(challenge)",
              "oauth_client_id": "@CLIENT@",
              "profile_template": "\(Self.repository)/Config/enrolment-profile.json5",
              "profile_signing_certificate": "@DIR@/signer.pem",
              "profile_signing_key": "@DIR@/signer.key"\(extra)
            }
            """)
        let made = try await runCommand(
            "/usr/bin/openssl",
            [
                "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout",
                scratch.path + "/signer.key", "-out", scratch.path + "/signer.pem", "-days", "1", "-subj",
                "/CN=Tessera Test Profile Signer",
            ])
        #expect(made.status == 0, "\(made.err)")
        let fixtures = try await runCommand(
            "/bin/bash", [Self.repository + "/Fixtures/enrolment/make-device-info.sh", scratch.path + "/device"])
        #expect(fixtures.status == 0, "\(fixtures.err)")
        // The client is registered while the configuration names a stand-in id (clients create reads it).
        var text = try String(contentsOfFile: scratch.config, encoding: .utf8).replacingOccurrences(
            of: "@DIR@", with: scratch.path)
        try scratch.write("tessera.json", text.replacingOccurrences(of: "@CLIENT@", with: "not-yet-registered"))
        let created = try await runCommand(
            tesseraBinary,
            [
                "clients", "create", "--config", scratch.config, "--name", "enrolling-device", "--public", "--grant",
                "authorization_code", "--grant", "refresh_token", "--redirect-uri",
                "apple-remotemanagement-user-login:/oauth2/redirection", "--redirect-uri",
                "http://127.0.0.1:8080/enrolment/login/complete", "--redirect-uri",
                "https://mdm.example.com/enrol/ade/complete", "--pkce", "apple-enrolment", "--scope",
                "enrolment", "--json",
            ])
        #expect(created.status == 0, "\(created.err)")
        let client = try #require(try JSONSerialization.jsonObject(with: Data(created.out.utf8)) as? [String: Any])
        let clientID = try #require(client["client_id"] as? String)
        text = text.replacingOccurrences(of: "@CLIENT@", with: clientID)
        try scratch.write("tessera.json", text)
        return (scratch, clientID)
    }

    /// curl with a cookie jar; status, headers (lower-cased names; a repeated header's values joined by
    /// line breaks, so an exact comparison notices it) and body.
    func request(_ arguments: [String], jar: String) async throws -> (
        status: Int, headers: [String: String], body: Data
    ) {
        let bodyFile = jar + ".body"
        let result = try await runCommand(
            "/usr/bin/curl", ["-sS", "--max-time", "10", "-b", jar, "-c", jar, "-D", "-", "-o", bodyFile] + arguments)
        #expect(result.status == 0, "\(result.err)")
        var headers: [String: String] = [:]
        let lines = result.out.components(separatedBy: "\r\n")
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            headers[line[..<colon].lowercased(), default: ""].append(
                headers[line[..<colon].lowercased()] == nil ? value : "\n" + value)
        }
        let status = Int(lines.first?.split(separator: " ").dropFirst().first ?? "") ?? 0
        return (status, headers, (try? Data(contentsOf: URL(fileURLWithPath: bodyFile))) ?? Data())
    }

    /// The `com.apple.mdm` payload of a signed profile, after `openssl cms -verify` against the fixture
    /// signing certificate.
    func verifiedMDMPayload(_ body: Data, scratch: Scratch) async throws -> [String: Any] {
        let name = scratch.path + "/profile-\(UUID().uuidString)"
        try body.write(to: URL(fileURLWithPath: name + ".der"))
        let verified = try await runCommand(
            "/usr/bin/openssl",
            [
                "cms", "-verify", "-inform", "DER", "-in", name + ".der", "-CAfile", scratch.path + "/signer.pem",
                "-purpose", "any", "-out", name + ".plist",
            ])
        #expect(verified.status == 0, "\(verified.err)")
        let profile = try #require(
            try PropertyListSerialization.propertyList(
                from: Data(contentsOf: URL(fileURLWithPath: name + ".plist")), format: nil) as? [String: Any])
        return try #require(
            (profile["PayloadContent"] as? [[String: Any]])?.first { $0["PayloadType"] as? String == "com.apple.mdm" })
    }

    /// The device's first request: discovery for Jane's iPhone answers the User Enrolment URL.
    func expectDiscovery(origin: String, jar: String) async throws {
        let answer = try await request(
            [
                origin
                    + "/.well-known/com.apple.remotemanagement?user-identifier=jane%40appleid.example.com&model-family=iPhone"
            ],
            jar: jar)
        let servers =
            (try JSONSerialization.jsonObject(with: answer.body) as? [String: Any])?["Servers"] as? [[String: Any]]
        #expect(answer.status == 200 && servers?.first?["BaseURL"] as? String == "https://mdm.example.com/enrol/byod")
        #expect(servers?.first?["Version"] as? String == "mdm-byod")
    }

    /// Jane (or another person: `user`, with `roles`), a local account with a temporary password (printed
    /// once by the command).
    func createJane(_ scratch: Scratch, user: String = "jane", roles: [String] = []) async throws -> String {
        let account = try await runCommand(
            tesseraBinary,
            [
                "accounts", "create", "--config", scratch.config, "--managed-id", "\(user)@appleid.example.com",
                "--given-name", user.capitalized, "--family-name", "Doe", "--json",
            ] + roles.flatMap { ["--role", $0] })
        let issued = try #require(try JSONSerialization.jsonObject(with: Data(account.out.utf8)) as? [String: Any])
        return try #require(issued["temporary_password"] as? String)
    }

    /// Signs Jane in on the sign-in page the web session is on (its authorization request in `parameters`,
    /// the CSRF cookie in `jar`), changing her temporary password first; the sign-in's answer.
    func signInJane(
        parameters: [String], temporary: String, origin: String, jar: String, user: String = "jane"
    ) async throws -> (status: Int, headers: [String: String], body: Data) {
        let csrf = try #require(
            try String(contentsOfFile: jar, encoding: .utf8).split(separator: "\n").first {
                $0.contains("tessera_csrf")
            }?
            .split(separator: "\t").last.map(String.init))
        func form(_ fields: [String]) -> [String] {
            (parameters + ["csrf_token=\(csrf)"] + fields).flatMap { ["--data", $0] } + [origin + "/oauth2/authorize"]
        }
        let change = try await request(
            form(["username=\(user)%40appleid.example.com", "password=\(temporary)"]), jar: jar)
        #expect(change.status == 200 && String(decoding: change.body, as: UTF8.self).contains("new_password"))
        return try await request(
            form([
                "action=change-password", "username=\(user)%40appleid.example.com", "password=\(temporary)",
                "new_password=Correct-horse-battery-9", "confirm_password=Correct-horse-battery-9",
            ]), jar: jar)
    }

    /// What a device does after the `apple-oauth2` challenge, with the checks of each step: the sign-in
    /// page (prefilled from `login_hint`, no PKCE), Jane's sign-in there, the `308` to the device's
    /// callback with the code and its `state`, and the code for tokens (a public client). The token answer.
    func deviceSignsIn(clientID: String, temporary: String, origin: String, jar: String, user: String = "jane")
        async throws -> [String: Any]
    {
        let state = UUID().uuidString
        let parameters = [
            "response_type=code", "client_id=\(clientID)",
            "redirect_uri=apple-remotemanagement-user-login%3A%2Foauth2%2Fredirection", "state=\(state)",
            "login_hint=\(user)%40appleid.example.com", "scope=enrolment",
        ]
        let page = try await request([origin + "/oauth2/authorize?" + parameters.joined(separator: "&")], jar: jar)
        #expect(
            page.status == 200 && String(decoding: page.body, as: UTF8.self).contains("\(user)@appleid.example.com"))
        // A temporary password is changed on the page first.
        let signedIn = try await signInJane(
            parameters: parameters, temporary: temporary, origin: origin, jar: jar, user: user)
        #expect(signedIn.status == 308)
        let location = try #require(signedIn.headers["location"])
        #expect(location.hasPrefix("apple-remotemanagement-user-login:/oauth2/redirection?code="))
        let query = try #require(URLComponents(string: location)?.queryItems)
        #expect(query.first { $0.name == "state" }?.value == state)
        let code = try #require(query.first { $0.name == "code" }?.value)
        let tokens = try await request(
            [
                "--data", "grant_type=authorization_code", "--data-urlencode", "code=\(code)", "--data-urlencode",
                "redirect_uri=apple-remotemanagement-user-login:/oauth2/redirection", "--data", "client_id=\(clientID)",
                origin + "/oauth2/token",
            ], jar: jar)
        #expect(tokens.status == 200)
        let answer = try #require(try JSONSerialization.jsonObject(with: tokens.body) as? [String: Any])
        #expect(answer["refresh_token"] is String && answer["token_type"] as? String == "Bearer")
        return answer
    }

    @Test func discoveryOffersTheEnrolmentTheRulesSay() async throws {
        let (scratch, _) = try await enrolmentSetUp()
        let created = try await runCommand(
            tesseraBinary,
            [
                "accounts", "create", "--config", scratch.config, "--managed-id", "dem@appleid.example.com",
                "--given-name", "Dee", "--family-name", "Em", "--role", "device-enrolment-manager",
            ])
        #expect(created.status == 0, "\(created.err)")
        let server = try await ServeProcess(config: scratch.config)
        let jar = scratch.path + "/jar"
        func discover(_ query: String) async throws -> (status: Int, body: [String: Any], headers: [String: String]) {
            let answer = try await request(
                ["http://127.0.0.1:\(server.port)/.well-known/com.apple.remotemanagement?\(query)"], jar: jar)
            return (
                answer.status, (try? JSONSerialization.jsonObject(with: answer.body) as? [String: Any]) ?? [:],
                answer.headers
            )
        }
        func baseURL(_ body: [String: Any]) -> String? {
            ((body["Servers"] as? [[String: Any]])?.first)?["BaseURL"] as? String
        }
        func version(_ body: [String: Any]) -> String? {
            ((body["Servers"] as? [[String: Any]])?.first)?["Version"] as? String
        }

        let phone = try await discover("user-identifier=jane%40appleid.example.com&model-family=iPhone")
        #expect(phone.status == 200 && version(phone.body) == "mdm-byod")
        #expect(baseURL(phone.body) == "https://mdm.example.com/enrol/byod")
        #expect(phone.headers["content-type"] == "application/json" && phone.headers["cache-control"] == "no-store")
        let mac = try await discover("user-identifier=jane@AppleID.example.com&model-family=Mac")
        #expect(version(mac.body) == "mdm-adde" && baseURL(mac.body) == "https://mdm.example.com/enrol/adde")
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

    @Test func aUserEnrolmentSignsInWithOAuthAndReceivesItsSignedProfile() async throws {
        let (scratch, clientID) = try await enrolmentSetUp()
        let temporary = try await createJane(scratch)
        let server = try await ServeProcess(config: scratch.config)
        let origin = "http://127.0.0.1:\(server.port)"
        let jar = scratch.path + "/jar"
        let userRequest = scratch.path + "/device/user.p7"

        // 0. Discovery sends the device to the User Enrolment URL.
        try await expectDiscovery(origin: origin, jar: jar)
        // 1. The first POST: the signed request, any Content-Type, no token → 401 and the challenge.
        let first = try await request(
            [
                "-H", "Content-Type: application/pkcs7-signature", "--data-binary", "@" + userRequest,
                origin + "/enrol/byod",
            ],
            jar: jar)
        #expect(first.status == 401)
        let challenge = try #require(first.headers["www-authenticate"])
        // The URLs are the issuer's (oauth.issuer, the default http://127.0.0.1:8080 here), not the address asked.
        let issuer = "http://127.0.0.1:8080"
        #expect(
            challenge
                == "Bearer method=\"apple-oauth2\", authorization-url=\"\(issuer)/oauth2/authorize\", token-url=\"\(issuer)/oauth2/token\", "
                + "redirect-url=\"apple-remotemanagement-user-login:/oauth2/redirection\", client-id=\"\(clientID)\", scope=\"enrolment\""
        )

        // 2. and 3. The device signs in (apple-oauth2) and takes its tokens.
        let answer = try await deviceSignsIn(clientID: clientID, temporary: temporary, origin: origin, jar: jar)
        let accessToken = try #require(answer["access_token"] as? String)

        // Discovery's rules hold at the enrolment URL too: Jane's iPhone is not offered device enrolment.
        let notOffered = try await request(
            ["-H", "Authorization: Bearer \(accessToken)", "--data-binary", "@" + userRequest, origin + "/enrol/adde"],
            jar: jar)
        #expect(notOffered.status == 403 && String(decoding: notOffered.body, as: UTF8.self).contains("access_denied"))

        // 4. The bearer POST: the signed profile.
        let enrolled = try await request(
            [
                "-H", "Authorization: Bearer \(accessToken)", "-H", "Content-Type: application/pkcs7-signature",
                "--data-binary", "@" + userRequest, origin + "/enrol/byod",
            ], jar: jar)
        #expect(enrolled.status == 200 && enrolled.headers["content-type"] == "application/x-apple-aspen-config")
        let mdm = try await verifiedMDMPayload(enrolled.body, scratch: scratch)
        #expect(
            mdm["EnrollmentMode"] as? String == "BYOD"
                && mdm["AssignedManagedAppleID"] as? String == "jane@appleid.example.com")
        #expect(mdm["AccessRights"] == nil)

        // The enrolment recorded a personal device bound to Jane. A repeated POST, even with a refreshed
        // token (the device refreshes as the public client), is the same enrolment.
        let refreshed = try await request(
            [
                "--data", "grant_type=refresh_token", "--data-urlencode",
                "refresh_token=\(answer["refresh_token"] as? String ?? "")", "--data", "client_id=\(clientID)",
                origin + "/oauth2/token",
            ], jar: jar)
        let renewed = try #require(
            (try JSONSerialization.jsonObject(with: refreshed.body) as? [String: Any])?["access_token"] as? String)
        #expect(renewed != accessToken)
        let repeated = try await request(
            [
                "-H", "Authorization: Bearer \(renewed)", "--data-binary", "@" + userRequest,
                origin + "/enrol/byod",
            ], jar: jar)
        #expect(repeated.status == 200)
        let listed = try await runCommand(tesseraBinary, ["devices", "list", "--config", scratch.config, "--json"])
        let devices = try #require(try JSONSerialization.jsonObject(with: Data(listed.out.utf8)) as? [[String: Any]])
        #expect(devices.count == 1 && devices.first?["kind"] as? String == "user")
        #expect(devices.first?["ownership"] as? String == "personal" && devices.first?["udid"] is NSNull)
        let deviceID = try #require(devices.first?["id"] as? String)
        // Tokens issued after the profile went out name the enrolment (the refreshed one here).
        var payload = String(renewed.split(separator: ".")[1]).replacingOccurrences(of: "-", with: "+")
            .replacingOccurrences(of: "_", with: "/")
        while payload.count % 4 != 0 { payload += "=" }
        let decoded = try #require(Data(base64Encoded: payload))
        let claims = try #require(try JSONSerialization.jsonObject(with: decoded) as? [String: Any])
        #expect(claims["enrolment_id"] as? String == deviceID && claims["enrolment_mode"] as? String == "BYOD")
        #expect(claims["managed_id"] as? String == "jane@appleid.example.com")
        let capabilities = try await runCommand(
            tesseraBinary, ["devices", "capabilities", deviceID, "--config", scratch.config, "--json"])
        let matrix = try #require(
            (try JSONSerialization.jsonObject(with: Data(capabilities.out.utf8)) as? [String: Any])?["actions"]
                as? [String: Bool])
        // The CLI refuses what the matrix forbids, as the token endpoint does.
        let wipeCheck = try await runCommand(
            tesseraBinary, ["devices", "check", deviceID, "erase-device", "--config", scratch.config])
        #expect(wipeCheck.status == 77 && wipeCheck.err.contains("does not allow erase-device on a personal device"))
        #expect(
            try await runCommand(
                tesseraBinary, ["devices", "check", deviceID, "erase-work-data", "--config", scratch.config]
            ).status == 0)
        #expect(
            matrix["erase-device"] == false && matrix["erase-work-data"] == true
                && matrix["read-personal-data"] == false)
        // Device-scoped tokens: an MDM client gets one only for what the matrix allows on that device.
        let mdmClient = try await runCommand(
            tesseraBinary,
            [
                "clients", "create", "--config", scratch.config, "--name", "mdm", "--grant", "client_credentials",
                "--scope", "devices", "--json",
            ])
        let registered = try #require(
            try JSONSerialization.jsonObject(with: Data(mdmClient.out.utf8)) as? [String: Any])
        let basic = "\(registered["client_id"] as? String ?? ""):\(registered["client_secret"] as? String ?? "")"
        func clientToken(_ scope: String) async throws -> (status: Int, body: [String: Any]) {
            let answer = try await request(
                [
                    "-u", basic, "--data", "grant_type=client_credentials", "--data-urlencode", "scope=\(scope)",
                    origin + "/oauth2/token",
                ], jar: jar)
            return (answer.status, (try? JSONSerialization.jsonObject(with: answer.body) as? [String: Any]) ?? [:])
        }
        let wipe = try await clientToken("device:\(deviceID):erase-device")
        #expect(wipe.status == 400 && wipe.body["error"] as? String == "invalid_scope")
        let work = try await clientToken("device:\(deviceID):erase-work-data")
        #expect(work.status == 200 && work.body["scope"] as? String == "device:\(deviceID):erase-work-data")
        #expect(try await clientToken("device:\(deviceID):self-destruct").body["error"] as? String == "invalid_scope")
        #expect(
            try await clientToken("device:no-such-device:erase-work-data").body["error"] as? String == "invalid_scope")

        // The data scopes over HTTP: the MDM (scope devices) and Jane (a token of hers with the scope
        // own-devices, from a client that is not the enrolment's), each where allowed.
        let mdmToken = try #require(try await clientToken("devices").body["access_token"] as? String)
        let portal = try JSONSerialization.jsonObject(
            with: Data(
                try await runCommand(
                    tesseraBinary,
                    [
                        "clients", "create", "--config", scratch.config, "--name", "portal", "--grant", "password",
                        "--scope", "own-devices", "--json",
                    ]
                ).out.utf8)) as? [String: Any]
        let janeAnswer = try await request(
            [
                "-u", "\(portal?["client_id"] as? String ?? ""):\(portal?["client_secret"] as? String ?? "")",
                "--data", "grant_type=password", "--data", "username=jane@appleid.example.com", "--data",
                "password=Correct-horse-battery-9", "--data", "scope=own-devices", origin + "/oauth2/token",
            ], jar: jar)
        let janeToken = try #require(
            (try JSONSerialization.jsonObject(with: janeAnswer.body) as? [String: Any])?["access_token"] as? String)
        func scope(_ method: String, _ token: String, _ path: String, _ value: String? = nil) async throws -> (
            status: Int, body: String
        ) {
            let answer = try await request(
                ["-X", method, "-H", "Authorization: Bearer \(token)"] + (value.map { ["--data-binary", $0] } ?? [])
                    + [origin + "/devices/\(deviceID)/scopes/" + path], jar: jar)
            return (answer.status, String(decoding: answer.body, as: UTF8.self))
        }
        #expect(try await scope("PUT", mdmToken, "managed/items/app/com.example.mail", "1.0").status == 204)
        #expect(try await scope("PUT", janeToken, "personal/items/document/notes", "my notes").status == 204)
        #expect(try await scope("GET", mdmToken, "personal/items").status == 403)  // never the person's data
        #expect(try await scope("PUT", mdmToken, "personal/items/log/x", "x").status == 403)
        #expect(try await scope("PUT", janeToken, "managed/items/app/evil", "x").status == 403)
        // The enrolment token reaches nothing: the device hands it to the MDM with every request.
        let enrolmentToken = try await scope("GET", accessToken, "personal/items")
        #expect(enrolmentToken.status == 403 && enrolmentToken.body.contains("insufficient_scope"))
        let managedItems = try await scope("GET", janeToken, "managed/items")
        #expect(managedItems.status == 200 && managedItems.body.contains("com.example.mail"))
        #expect(try await scope("GET", "not.a.token", "managed/items").status == 401)
        // The MDM reports the device's EnrollmentID (User Enrolment's only identifier); Jane cannot.
        func report(_ token: String, _ value: String) async throws -> Int {
            try await request(
                [
                    "-X", "PUT", "-H", "Authorization: Bearer \(token)", "--data-binary", value,
                    origin + "/devices/\(deviceID)/enrollment-id",
                ], jar: jar
            ).status
        }
        #expect(try await report(janeToken, "SELF-REPORTED") == 403)
        #expect(try await report(mdmToken, "bad id") == 400)
        #expect(try await report(mdmToken, "E1A2B3C4-ENROLLMENT") == 204)
        let shown = try await runCommand(
            tesseraBinary, ["devices", "show", deviceID, "--config", scratch.config, "--json"])
        #expect(shown.out.contains(#""enrollment_id":"E1A2B3C4-ENROLLMENT""#))

        // Introspection names the enrolment of any token of its sign-in, the first one included (its claims
        // could not: the profile had not gone out), from the registry as it is now.
        func introspected(_ token: String) async throws -> [String: Any] {
            let answer = try await request(["-u", basic, "--data", "token=\(token)", origin + "/oauth2/introspect"], jar: jar)
            return try #require(try JSONSerialization.jsonObject(with: answer.body) as? [String: Any])
        }
        let firstToken = try await introspected(accessToken)
        #expect(
            firstToken["active"] as? Bool == true && firstToken["managed_id"] as? String == "jane@appleid.example.com")
        #expect(
            firstToken["enrolment_id"] as? String == deviceID && firstToken["enrolment_mode"] as? String == "BYOD")
        // The registry over HTTP, for the MDM (scope devices); the matrix refuses there as the CLI does.
        func admin(_ method: String, _ token: String, _ path: String) async throws -> (status: Int, body: String) {
            let answer = try await request(
                ["-X", method, "-H", "Authorization: Bearer \(token)", origin + "/devices" + path], jar: jar)
            return (answer.status, String(decoding: answer.body, as: UTF8.self))
        }
        let registry = try await admin("GET", mdmToken, "?account=jane%40appleid.example.com")
        #expect(registry.status == 200 && registry.body.contains(#""id":"\#(deviceID)""#))
        #expect(try await admin("GET", mdmToken, "/\(deviceID)").body.contains(#""ownership":"personal""#))
        #expect(try await admin("GET", mdmToken, "/\(deviceID)/capabilities").body.contains(#""erase-device":false"#))
        let eraseDevice = try await admin("GET", mdmToken, "/\(deviceID)/capabilities/erase-device")
        #expect(eraseDevice.status == 403 && eraseDevice.body.contains("does not allow erase-device on a personal device"))
        #expect(try await admin("GET", mdmToken, "/\(deviceID)/capabilities/erase-work-data").status == 200)
        #expect(try await admin("GET", mdmToken, "/\(deviceID)/capabilities/self-destruct").status == 400)
        #expect(try await admin("GET", janeToken, "").status == 403)  // Jane's own-devices token is no registry actor
        #expect(try await admin("GET", accessToken, "").status == 403)  // nor is the enrolment token
        #expect(try await admin("GET", mdmToken, "/no-such-device").status == 404)
        let unenrolled = try await admin("POST", mdmToken, "/\(deviceID)/unenrol")
        #expect(unenrolled.status == 200 && unenrolled.body.contains(#""state":"unenrolled""#))
        #expect(try await admin("POST", mdmToken, "/\(deviceID)/unenrol").status == 409)
        #expect(try await introspected(renewed)["enrolment_id"] == nil)
        // The enrolment was ended: its sign-in cannot enrol again.
        let ended = try await request(
            ["-H", "Authorization: Bearer \(renewed)", "--data-binary", "@" + userRequest, origin + "/enrol/byod"],
            jar: jar)
        #expect(ended.status == 401 && ended.headers["www-authenticate"] == challenge)
        let again = try await runCommand(tesseraBinary, ["devices", "unenrol", deviceID, "--config", scratch.config])
        #expect(again.status == 73 && again.err.contains("not enrolled"))
        #expect(try await clientToken("device:\(deviceID):erase-work-data").body["error"] as? String == "invalid_scope")
        // Un-enrolment took the managed scope and left the personal one.
        #expect(try await scope("GET", mdmToken, "managed/items").body == "[]")
        let personalItems = try await scope("GET", janeToken, "personal/items")
        #expect(personalItems.status == 200 && personalItems.body.contains("my notes"))

        // A User Enrolment request that names the device is refused; a token that is not ours is challenged.
        let named = try await request(
            [
                "-H", "Authorization: Bearer \(accessToken)", "--data-binary",
                "@" + scratch.path + "/device/user-with-udid.p7",
                origin + "/enrol/byod",
            ], jar: jar)
        #expect(named.status == 400)
        let forged = try await request(
            ["-H", "Authorization: Bearer not.a.token", "--data-binary", "@" + userRequest, origin + "/enrol/byod"],
            jar: jar)
        #expect(forged.status == 401 && forged.headers["www-authenticate"] == challenge)
        server.signal(SIGTERM)
        #expect(try await server.waitForExit() == 0)
    }

    /// `apple-as-web`: the device opens the login URL; Tessera's sign-in page (through the authorization
    /// endpoint) signs the person in, and the answer is `308` to the device's callback with the token.
    /// Account-driven Device Enrolment: a device enrolment manager's iPhone is the organisation's. The
    /// same sequence, to `<base>/adde`, ends with an ADDE profile (with AccessRights) and an unsupervised
    /// organisation device.
    @Test func anAccountDrivenDeviceEnrolmentSignsInWithOAuth() async throws {
        let (scratch, clientID) = try await enrolmentSetUp()
        let temporary = try await createJane(scratch, user: "dem", roles: ["device-enrolment-manager"])
        let server = try await ServeProcess(config: scratch.config)
        let origin = "http://127.0.0.1:\(server.port)"
        let jar = scratch.path + "/jar"
        let deviceRequest = scratch.path + "/device/user.p7"
        let discovered = try await request(
            [origin + "/.well-known/com.apple.remotemanagement?user-identifier=dem%40appleid.example.com&model-family=iPhone"],
            jar: jar)
        let servers =
            (try JSONSerialization.jsonObject(with: discovered.body) as? [String: Any])?["Servers"] as? [[String: Any]]
        #expect(servers?.first?["Version"] as? String == "mdm-adde")
        #expect(servers?.first?["BaseURL"] as? String == "https://mdm.example.com/enrol/adde")
        let first = try await request(["--data-binary", "@" + deviceRequest, origin + "/enrol/adde"], jar: jar)
        #expect(first.status == 401 && first.headers["www-authenticate"]?.hasPrefix("Bearer method=\"apple-oauth2\"") == true)
        let answer = try await deviceSignsIn(
            clientID: clientID, temporary: temporary, origin: origin, jar: jar, user: "dem")
        let token = try #require(answer["access_token"] as? String)
        // Not offered User Enrolment, by the rules.
        #expect(
            try await request(
                ["-H", "Authorization: Bearer \(token)", "--data-binary", "@" + deviceRequest, origin + "/enrol/byod"],
                jar: jar
            ).status == 403)
        let enrolled = try await request(
            ["-H", "Authorization: Bearer \(token)", "--data-binary", "@" + deviceRequest, origin + "/enrol/adde"],
            jar: jar)
        #expect(enrolled.status == 200 && enrolled.headers["content-type"] == "application/x-apple-aspen-config")
        let mdm = try await verifiedMDMPayload(enrolled.body, scratch: scratch)
        #expect(
            mdm["EnrollmentMode"] as? String == "ADDE"
                && mdm["AssignedManagedAppleID"] as? String == "dem@appleid.example.com")
        #expect(mdm["AccessRights"] is Int)
        let listed = try await runCommand(tesseraBinary, ["devices", "list", "--config", scratch.config, "--json"])
        let device = try #require(
            (try JSONSerialization.jsonObject(with: Data(listed.out.utf8)) as? [[String: Any]])?.first)
        #expect(device["kind"] as? String == "adde" && device["ownership"] as? String == "organisation")
        #expect(device["supervised"] as? Bool == false)
        let deviceID = try #require(device["id"] as? String)
        // The organisation may erase its device, but Lost Mode needs supervision.
        #expect(
            try await runCommand(tesseraBinary, ["devices", "check", deviceID, "erase-device", "--config", scratch.config])
                .status == 0)
        let lost = try await runCommand(
            tesseraBinary, ["devices", "check", deviceID, "lost-mode", "--config", scratch.config])
        #expect(lost.status == 77 && lost.err.contains("on an unsupervised organisation device"))
        server.signal(SIGTERM)
        #expect(try await server.waitForExit() == 0)
    }

    @Test func aWebSignInEndsWithA308CarryingTheToken() async throws {
        let (scratch, _) = try await enrolmentSetUp(challenge: "apple-as-web")
        let temporary = try await createJane(scratch)
        let server = try await ServeProcess(config: scratch.config)
        let origin = "http://127.0.0.1:\(server.port)"
        // The issuer (oauth.issuer) is http://127.0.0.1:8080 here; the server listens elsewhere.
        func local(_ url: String) -> String { url.replacingOccurrences(of: "http://127.0.0.1:8080", with: origin) }
        let jar = scratch.path + "/jar"
        let userRequest = scratch.path + "/device/user.p7"

        try await expectDiscovery(origin: origin, jar: jar)
        let first = try await request(["--data-binary", "@" + userRequest, origin + "/enrol/byod"], jar: jar)
        #expect(first.status == 401)
        #expect(
            first.headers["www-authenticate"]
                == "Bearer method=\"apple-as-web\", url=\"http://127.0.0.1:8080/enrolment/login\"")

        // The login URL sends the web session to the sign-in page, prefilled.
        let login = try await request(
            [origin + "/enrolment/login?user-identifier=jane%40appleid.example.com"], jar: jar)
        #expect(login.status == 302)
        let authorize = local(try #require(login.headers["location"]))
        let page = try await request([authorize], jar: jar)
        #expect(page.status == 200 && String(decoding: page.body, as: UTF8.self).contains("jane@appleid.example.com"))
        let parameters = try #require(URLComponents(string: authorize)?.percentEncodedQuery).split(separator: "&").map(
            String.init)
        let signedIn = try await signInJane(parameters: parameters, temporary: temporary, origin: origin, jar: jar)
        #expect(signedIn.status == 303)
        let completion = local(try #require(signedIn.headers["location"]))
        #expect(completion.hasPrefix(origin + "/enrolment/login/complete?code="))

        // The completion: 308 to the device's callback with the access token.
        let done = try await request([completion], jar: jar)
        #expect(done.status == 308)
        let results = try #require(done.headers["location"])
        #expect(results.hasPrefix("apple-remotemanagement-user-login://authentication-results?access-token="))
        let token = try #require(URLComponents(string: results)?.queryItems?.first { $0.name == "access-token" }?.value)
        // The same state cannot complete twice (its cookie is spent), nor a code be used twice.
        #expect(try await request([completion], jar: jar).status == 400)

        let enrolled = try await request(
            ["-H", "Authorization: Bearer \(token)", "--data-binary", "@" + userRequest, origin + "/enrol/byod"],
            jar: jar)
        #expect(enrolled.status == 200 && enrolled.headers["content-type"] == "application/x-apple-aspen-config")

        // A completion this session did not start, or one the sign-in page refused, is an error page.
        let stranger = try await request(
            [origin + "/enrolment/login/complete?code=x&state=y"], jar: scratch.path + "/other")
        #expect(stranger.status == 400 && stranger.headers["content-type"] == "text/html; charset=utf-8")
        let cancelled = try await request([origin + "/enrolment/login/complete?error=access_denied&state=y"], jar: jar)
        #expect(cancelled.status == 400 && String(decoding: cancelled.body, as: UTF8.self).contains("cancelled"))
        server.signal(SIGTERM)
        #expect(try await server.waitForExit() == 0)
    }

    /// An MDM server obtains the com.apple.maid token with a client_credentials access token carrying the
    /// scope `maid`; the signature verifies with openssl against the key's public half.
    @Test func anMDMObtainsTheManagedAccountToken() async throws {
        let scratch = try Scratch(
            """
            "enrolment": { "maid_server_uuid": "6F0A2D5E-1C34-4B8E-9D1A-2F3B4C5D6E7F",
                           "maid_signing_key": "@DIR@/server.key" }
            """)
        try scratch.write(
            "tessera.json",
            try String(contentsOfFile: scratch.config, encoding: .utf8).replacingOccurrences(
                of: "@DIR@", with: scratch.path))
        for step in [
            ["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", scratch.path + "/server.key"],
            ["pkey", "-in", scratch.path + "/server.key", "-pubout", "-out", scratch.path + "/server.pub"],
        ] {
            let made = try await runCommand("/usr/bin/openssl", step)
            #expect(made.status == 0, "\(made.err)")
        }
        func client(_ name: String, scope: String) async throws -> String {
            let created = try await runCommand(
                tesseraBinary,
                [
                    "clients", "create", "--config", scratch.config, "--name", name, "--grant", "client_credentials",
                    "--scope", scope, "--json",
                ])
            let json = try #require(try JSONSerialization.jsonObject(with: Data(created.out.utf8)) as? [String: Any])
            return "\(json["client_id"] as? String ?? ""):\(json["client_secret"] as? String ?? "")"
        }
        let mdm = try await client("mdm", scope: "maid")
        let other = try await client("other", scope: "inventory")
        let server = try await ServeProcess(config: scratch.config)
        let origin = "http://127.0.0.1:\(server.port)"
        let jar = scratch.path + "/jar"
        func accessToken(_ basic: String) async throws -> String {
            let answer = try await request(
                ["-u", basic, "--data", "grant_type=client_credentials", origin + "/oauth2/token"], jar: jar)
            let json = try #require(try JSONSerialization.jsonObject(with: answer.body) as? [String: Any])
            return try #require(json["access_token"] as? String)
        }

        let issued = try await request(
            [
                "-X", "POST", "-H", "Authorization: Bearer \(try await accessToken(mdm))",
                origin + "/enrolment/managed-account-token",
            ],
            jar: jar)
        #expect(issued.status == 200 && issued.headers["cache-control"] == "no-store")
        let json = try #require(try JSONSerialization.jsonObject(with: issued.body) as? [String: Any])
        #expect(json["service_type"] as? String == "com.apple.maid")
        let token = try #require(json["token"] as? String)
        let parts = token.split(separator: ".").map(String.init)
        try #require(parts.count == 3)
        func decoded(_ segment: String) -> Data {
            var text = segment.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
            while text.count % 4 != 0 { text += "=" }
            return Data(base64Encoded: text) ?? Data()
        }
        let header = try #require(try JSONSerialization.jsonObject(with: decoded(parts[0])) as? [String: Any])
        let claims = try #require(try JSONSerialization.jsonObject(with: decoded(parts[1])) as? [String: Any])
        #expect(
            header["alg"] as? String == "RS256" && claims["iss"] as? String == "6F0A2D5E-1C34-4B8E-9D1A-2F3B4C5D6E7F")
        #expect(
            claims["service_type"] as? String == "com.apple.maid" && claims["jti"] is String && claims["iat"] is Int)
        try Data((parts[0] + "." + parts[1]).utf8).write(to: URL(fileURLWithPath: scratch.path + "/signed.txt"))
        try decoded(parts[2]).write(to: URL(fileURLWithPath: scratch.path + "/signature.bin"))
        let verified = try await runCommand(
            "/usr/bin/openssl",
            [
                "dgst", "-sha256", "-verify", scratch.path + "/server.pub", "-signature",
                scratch.path + "/signature.bin",
                scratch.path + "/signed.txt",
            ])
        #expect(verified.status == 0 && verified.out.contains("Verified OK"), "\(verified.out) \(verified.err)")

        // Without a token, or with one lacking the scope maid: 401.
        #expect(try await request(["-X", "POST", origin + "/enrolment/managed-account-token"], jar: jar).status == 401)
        let refused = try await request(
            [
                "-X", "POST", "-H", "Authorization: Bearer \(try await accessToken(other))",
                origin + "/enrolment/managed-account-token",
            ],
            jar: jar)
        #expect(refused.status == 401 && refused.headers["www-authenticate"]?.contains("scope=\"maid\"") == true)
        server.signal(SIGTERM)
        #expect(try await server.waitForExit() == 0)
    }

    /// Automated Device Enrolment's token-less URL: the signed MachineInfo (chained to the fixture root,
    /// which stands in for the Apple Root CA) gets the profile, unless the OS is too old for a device that
    /// can update; devices outside the trust, tampered or cut short are refused.
    @Test func automatedDeviceEnrolment() async throws {
        func serve(minimum: String) async throws -> (Scratch, ServeProcess) {
            let (scratch, _) = try await enrolmentSetUp(
                extra: """
                    , "ade_trust_anchors": "@DIR@/device/root.pem", "ade_minimum_os_versions": ["\(minimum)"]
                    """)
            try scratch.write(
                "tessera.json",
                try String(contentsOfFile: scratch.config, encoding: .utf8).replacingOccurrences(
                    of: "@DIR@", with: scratch.path))
            return (scratch, try await ServeProcess(config: scratch.config))
        }
        // The fixture device runs 17.4.1 and says it can update.
        let (old, tooNew) = try await serve(minimum: "iPhone: 17.5")
        let jar = old.path + "/jar"
        let update = try await request(
            ["--data-binary", "@\(old.path)/device/machineinfo.p7", "http://127.0.0.1:\(tooNew.port)/enrol/ade"],
            jar: jar)
        #expect(update.status == 403)
        let answer = try #require(try JSONSerialization.jsonObject(with: update.body) as? [String: Any])
        #expect(answer["code"] as? String == "com.apple.softwareupdate.required")
        #expect((answer["details"] as? [String: Any])?["OSVersion"] as? String == "17.5")
        let header = try String(contentsOfFile: old.path + "/device/machineinfo.b64", encoding: .utf8)
        let webUpdate = try await request(
            ["-H", "x-apple-aspen-deviceinfo: \(header)", "http://127.0.0.1:\(tooNew.port)/enrol/ade/web"], jar: jar)
        #expect(webUpdate.status == 403 && String(decoding: webUpdate.body, as: UTF8.self).contains("softwareupdate"))
        tooNew.signal(SIGTERM)
        #expect(try await tooNew.waitForExit() == 0)

        let (scratch, server) = try await serve(minimum: "iPhone: 17.0")
        let origin = "http://127.0.0.1:\(server.port)"
        func post(_ fixture: String) async throws -> (status: Int, headers: [String: String], body: Data) {
            try await request(["--data-binary", "@\(scratch.path)/device/\(fixture)", origin + "/enrol/ade"], jar: jar)
        }
        let enrolled = try await post("machineinfo.p7")
        #expect(enrolled.status == 200 && enrolled.headers["content-type"] == "application/x-apple-aspen-config")
        let mdm = try await verifiedMDMPayload(enrolled.body, scratch: scratch)
        #expect(mdm["EnrollmentMode"] == nil && mdm["AccessRights"] as? Int == 8191)
        let listed = try await runCommand(tesseraBinary, ["devices", "list", "--config", scratch.config, "--json"])
        let device = try #require(
            (try JSONSerialization.jsonObject(with: Data(listed.out.utf8)) as? [[String: Any]])?.first)
        #expect(device["kind"] as? String == "ade" && device["supervised"] as? Bool == true)
        #expect(device["udid"] as? String == "00008030-001A2B3C4D5E6F70" && device["account_id"] is NSNull)
        #expect(try await post("machineinfo-unknown-ca.p7").status == 403)
        #expect(try await post("machineinfo-tampered.p7").status == 403)
        #expect(try await post("machineinfo-truncated.p7").status == 400)

        // configuration_web_url: the device information in the header, the person signs in, and the web
        // view receives the profile; the device is bound to Jane.
        let temporary = try await createJane(scratch)
        let deviceInfo = try String(contentsOfFile: scratch.path + "/device/machineinfo.b64", encoding: .utf8)
        func local(_ url: String) -> String {
            url.replacingOccurrences(of: "http://127.0.0.1:8080", with: origin)
                .replacingOccurrences(of: "https://mdm.example.com", with: origin)
        }
        let webJar = scratch.path + "/web-jar"
        #expect(try await request([origin + "/enrol/ade/web"], jar: webJar).status == 400)
        #expect(
            try await request(["-H", "x-apple-aspen-deviceinfo: not base64!", origin + "/enrol/ade/web"], jar: webJar)
                .status == 400)
        let start = try await request(
            ["-H", "x-apple-aspen-deviceinfo: \(deviceInfo)", origin + "/enrol/ade/web"], jar: webJar)
        #expect(start.status == 302)
        let authorize = local(try #require(start.headers["location"]))
        #expect(try await request([authorize], jar: webJar).status == 200)
        let parameters = try #require(URLComponents(string: authorize)?.percentEncodedQuery).split(separator: "&").map(
            String.init)
        let signedIn = try await signInJane(parameters: parameters, temporary: temporary, origin: origin, jar: webJar)
        #expect(signedIn.status == 303)
        let completion = local(try #require(signedIn.headers["location"]))
        #expect(completion.hasPrefix(origin + "/enrol/ade/complete?code="))
        let webProfile = try await request([completion], jar: webJar)
        #expect(webProfile.status == 200 && webProfile.headers["content-type"] == "application/x-apple-aspen-config")
        #expect(try await verifiedMDMPayload(webProfile.body, scratch: scratch)["AccessRights"] as? Int == 8191)
        #expect(try await request([completion], jar: webJar).status == 400)  // once only
        let all = try await runCommand(tesseraBinary, ["devices", "list", "--config", scratch.config, "--json"])
        let bound = try #require(
            (try JSONSerialization.jsonObject(with: Data(all.out.utf8)) as? [[String: Any]])?.first)
        #expect(bound["kind"] as? String == "ade" && bound["account_id"] is String)  // the newest: the web enrolment

        let ade = try await runCommand(
            tesseraBinary, ["ade", "profile", "--config", scratch.config, "--name", "Example", "--web"])
        let printed = try #require(try JSONSerialization.jsonObject(with: Data(ade.out.utf8)) as? [String: Any])
        #expect(
            printed["url"] as? String == "https://mdm.example.com/enrol/ade"
                && printed["is_supervised"] as? Bool == true)
        #expect(printed["profile_name"] as? String == "Example")
        #expect(printed["configuration_web_url"] as? String == "https://mdm.example.com/enrol/ade/web")
        server.signal(SIGTERM)
        #expect(try await server.waitForExit() == 0)
    }

    /// Forward authentication through a real nginx in front of a stand-in MDM: the enrolled device's
    /// requests reach the MDM with its identity; without a token the device gets the challenge; once
    /// un-enrolled, `403 com.apple.unrecognized.device`.
    @Test func anMDMBehindNginxAsksTesseraAboutEveryDeviceRequest() async throws {
        let (scratch, clientID) = try await enrolmentSetUp()
        let temporary = try await createJane(scratch)
        let server = try await ServeProcess(config: scratch.config)
        let origin = "http://127.0.0.1:\(server.port)"
        let jar = scratch.path + "/jar"
        let token = try #require(
            try await deviceSignsIn(clientID: clientID, temporary: temporary, origin: origin, jar: jar)["access_token"]
                as? String)
        let nginx = try await TestNginx.start(repository: Self.repository, tesseraPort: server.port)
        defer { nginx.stop() }
        let checkIn = "http://127.0.0.1:\(nginx.port)/mdm/checkin"
        func viaNginx(_ bearer: String?) async throws -> (status: Int, headers: [String: String], body: Data) {
            try await request(
                (bearer.map { ["-H", "Authorization: Bearer \($0)"] } ?? [])
                    + ["-H", "X-Tessera-Managed-ID: forged@appleid.example.com", "-X", "PUT", "--data", "x", checkIn],
                jar: jar)
        }
        func headersSeen(_ answer: (status: Int, headers: [String: String], body: Data)) throws -> [String: String] {
            try #require(
                (try JSONSerialization.jsonObject(with: answer.body) as? [String: Any])?["headers"] as? [String: String])
        }
        // Signed in but not enrolled yet (no profile delivered): the device is sent to sign in.
        #expect(try await viaNginx(token).status == 401)
        let enrolled = try await request(
            [
                "-H", "Authorization: Bearer \(token)", "--data-binary", "@\(scratch.path)/device/user.p7",
                origin + "/enrol/byod",
            ],
            jar: jar)
        #expect(enrolled.status == 200)

        let passed = try await viaNginx(token)
        #expect(passed.status == 200)
        let seen = try headersSeen(passed)
        let listed = try await runCommand(tesseraBinary, ["devices", "list", "--config", scratch.config, "--json"])
        let deviceID = try #require(
            (try JSONSerialization.jsonObject(with: Data(listed.out.utf8)) as? [[String: Any]])?.first?["id"] as? String
        )
        #expect(seen["X-Tessera-Managed-ID"] == "jane@appleid.example.com")
        #expect(seen["X-Tessera-Enrolment-Mode"] == "BYOD" && seen["X-Tessera-Enrolment-ID"] == deviceID)

        // A token that is not a live enrolment's: 401 with the challenge, once.
        let challenge = try #require(
            try await request(["--data-binary", "@\(scratch.path)/device/user.p7", origin + "/enrol/byod"], jar: jar)
                .headers["www-authenticate"])
        #expect(challenge.hasPrefix("Bearer method=\"apple-oauth2\""))
        let stale = try await viaNginx("not.a.token")
        #expect(stale.status == 401 && stale.headers["www-authenticate"] == challenge)
        // Tessera's own answer to a request without a token is the same challenge…
        let direct = try await request([origin + "/enrolment/forward-auth"], jar: jar)
        #expect(direct.status == 401 && direct.headers["www-authenticate"] == challenge)
        // …but nginx sends such requests (ADE devices, a Mac's device channel) to the MDM unannotated.
        let anonymous = try await viaNginx(nil)
        #expect(anonymous.status == 200)
        #expect(try headersSeen(anonymous).keys.filter { $0.lowercased().hasPrefix("x-tessera") }.isEmpty)
        #expect((try JSONSerialization.jsonObject(with: anonymous.body) as? [String: Any])?["path"] as? String == "/mdm/checkin")

        #expect(
            try await runCommand(tesseraBinary, ["devices", "unenrol", deviceID, "--config", scratch.config]).status
                == 0)
        let removed = try await viaNginx(token)
        #expect(removed.status == 403)
        #expect(String(decoding: removed.body, as: UTF8.self) == #"{"code":"com.apple.unrecognized.device"}"#)
        server.signal(SIGTERM)
        #expect(try await server.waitForExit() == 0)
        // Tessera gone: the device is told to come back later, not to sign in again.
        let down = try await viaNginx(token)
        #expect(down.status == 503 && down.headers["retry-after"] == "5")
    }
}
