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

    /// A configuration in `scratch` that signs in and syncs against `directory`.
    func configure(
        _ scratch: Scratch, for directory: TestDirectory, syncIntervalSeconds: Int = 0, kdc: TestKDC? = nil
    ) throws {
        let kerberos = kdc.map {
            """
            , "kerberos": { "enabled": true, "config_file": "\($0.configFile)", "default_realm": "\(TestKDC.realm)",
              "keytab": "\($0.keytab)", "service_principal": "\(TestKDC.servicePrincipal)" }
            """
        }
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
                "group_roles": ["device-enrolment-manager: cn=enrolment-managers,ou=groups,dc=example,dc=com"],
                "sync_interval_seconds": \(syncIntervalSeconds)
              }\(kerberos ?? "") }
            }
            """)
    }

    @Test func passwordGrantSignsInThroughTheDirectoryAndAnswers503WhenItIsDown() async throws {
        let directory = try await TestDirectory.start()
        defer { directory.stop() }
        let scratch = try Scratch()
        try configure(scratch, for: directory)
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

    /// `tessera sync ldap` against slapd: dry run, first (full) run, an incremental run that sees a
    /// rename, and a full run that would deactivate half the accounts, stopped by the safety limit.
    @Test func syncCreatesRenamesAndDeactivatesWithinTheSafetyLimit() async throws {
        let directory = try await TestDirectory.start()
        defer { directory.stop() }
        let scratch = try Scratch()
        try configure(scratch, for: directory)
        func sync(_ flags: String...) async throws -> Finished {
            try await runCommand(tesseraBinary, ["sync", "ldap", "--config", scratch.config] + flags)
        }
        func accounts() async throws -> [String: String] {
            let listed = try await runCommand(
                tesseraBinary, ["accounts", "list", "--config", scratch.config, "--json"])
            let rows = try JSONSerialization.jsonObject(with: Data(listed.out.utf8)) as? [[String: Any]] ?? []
            return Dictionary(
                uniqueKeysWithValues: rows.map { ($0["managed_id"] as? String ?? "", $0["state"] as? String ?? "") })
        }
        func directoryChange(_ tool: String, _ ldif: String) async throws {
            let file = try scratch.write("change.ldif", ldif)
            let result = try await runCommand(
                "/usr/bin/" + tool,
                ["-H", directory.ldapURI, "-x", "-D", "cn=admin,dc=example,dc=com", "-w", "admin-secret", "-f", file])
            #expect(result.status == 0, "\(result.err)")
        }

        let dry = try await sync("--dry-run")
        #expect(dry.status == 0 && dry.out.contains("create      jane@appleid.example.com"))
        #expect(dry.out.contains("Dry run (full), nothing was changed"))
        #expect(try await accounts().isEmpty)

        let first = try await sync()
        #expect(first.status == 0, "\(first.err)")
        #expect(first.out.contains("conflict    2 directory entries map to sam@appleid.example.com"))
        #expect(first.out.contains("unusable") && first.out.contains("Synced (full): 2 created"))
        #expect(try await accounts() == ["jane@appleid.example.com": "active", "john@appleid.example.com": "active"])

        // A rename in the directory: the incremental run renames the account.
        try await directoryChange(
            "ldapmodify",
            "dn: uid=jane,ou=people,dc=example,dc=com\nchangetype: modrdn\nnewrdn: uid=jane.doe\ndeleteoldrdn: 1\n")
        let renamed = try await sync()
        #expect(
            renamed.out.contains("update      jane.doe@appleid.example.com (renamed from jane@appleid.example.com)"))
        #expect(renamed.out.contains("Synced (incremental)"))
        #expect(
            try await accounts() == ["jane.doe@appleid.example.com": "active", "john@appleid.example.com": "active"])

        // A group changes (John joins it-team, inside enrolment-managers): his entry does not, so the
        // incremental run reads everyone. (Change times have whole seconds: a change must come in a
        // later second than the newest one the last run saw.)
        try await Task.sleep(for: .milliseconds(1100))
        try await directoryChange(
            "ldapmodify",
            "dn: cn=it-team,ou=groups,dc=example,dc=com\nchangetype: modify\nadd: member\n"
                + "member: uid=john,ou=people,dc=example,dc=com\n")
        let regrouped = try await sync()
        #expect(regrouped.out.contains("update      john@appleid.example.com"), "\(regrouped.out)")
        #expect(regrouped.out.contains("Synced (full): 0 created, 1 updated"))
        #expect(try await sync().out.contains("Synced (incremental): 0 created, 0 updated"))

        // John leaves: an incremental run cannot tell; a full one would deactivate 1 of 2 (50%).
        try await directoryChange("ldapdelete", "uid=john,ou=people,dc=example,dc=com\n")
        #expect(try await sync().out.contains("0 deactivated"))
        let stopped = try await sync("--full")
        #expect(stopped.status == 73 && stopped.err.contains("would deactivate 1 of 2 directory accounts (50%)"))
        #expect(try await accounts()["john@appleid.example.com"] == "active")
        let forced = try await sync("--full", "--force", "--json")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(forced.out.utf8)) as? [String: Any])
        #expect(
            report["outcome"] as? String == "applied"
                && report["deactivated"] as? [String] == ["john@appleid.example.com"])
        #expect(try await accounts()["john@appleid.example.com"] == "deactivated")
        let audit = try await runCommand(tesseraBinary, ["audit", "list", "--json", "--config", scratch.config])
        let actions = (try JSONSerialization.jsonObject(with: Data(audit.out.utf8)) as? [[String: Any]] ?? [])
            .compactMap {
                $0["action"] as? String
            }
        #expect(actions.filter { $0 == "directory.sync" }.count == 7)  // six applied runs and the stopped one

        // The server's /metrics shows the last run, though another process (the command) ran it.
        let server = try await ServeProcess(config: scratch.config)
        let metrics = try await curl("http://127.0.0.1:\(server.port)/metrics").body
        #expect(metrics.contains("tessera_directory_sync_last_run_accounts{kind=\"deactivated\"} 1"), "\(metrics)")
        #expect(metrics.contains("tessera_directory_sync_last_run_accounts{kind=\"unchanged\"} 1"))
        #expect(metrics.contains("tessera_directory_sync_last_run_stopped 0"))
        #expect(!metrics.contains("tessera_directory_sync_last_full_run_seconds 0\n"))
        server.signal(SIGTERM)
        #expect(try await server.waitForExit() == 0)
    }

    /// `tessera serve` syncs on its own schedule, counts it in /metrics, and logs a directory that is gone.
    @Test func theServerSyncsOnItsScheduleAndCountsIt() async throws {
        let directory = try await TestDirectory.start()
        defer { directory.stop() }
        let scratch = try Scratch()
        try configure(scratch, for: directory, syncIntervalSeconds: 1)
        let server = try await ServeProcess(config: scratch.config)
        let metricsURL = "http://127.0.0.1:\(server.port)/metrics"
        let synced = try await ServeProcess.waitFor(timeout: .seconds(30)) {
            server.lines.first { $0.contains("\"msg\":\"directory sync\"") }
        }
        #expect(synced?.contains("\"created\":2") == true)
        let metrics = try await curl(metricsURL).body
        #expect(metrics.contains("tessera_directory_sync_changes_total{kind=\"created\"} 2"))
        #expect(!metrics.contains("tessera_directory_sync_runs_total{outcome=\"applied\"} 0"))
        directory.kill()
        let failed = try await ServeProcess.waitFor(timeout: .seconds(30)) {
            server.lines.first { $0.contains("\"msg\":\"directory sync failed\"") }
        }
        #expect(failed != nil)
        #expect(
            try await curl(metricsURL).body.contains("tessera_directory_sync_runs_total{outcome=\"failed\"} 0") == false
        )
        server.signal(SIGTERM)
        #expect(try await server.waitForExit() == 0)
    }

    /// slapd, a KDC where jane's password is `jane-kerberos-1`, and a configuration using both.
    func kerberosRealm() async throws -> (TestDirectory, TestKDC, Scratch) {
        let directory = try await TestDirectory.start()
        let kdc = try await TestKDC.start(people: ["jane": "jane-kerberos-1"])
        let scratch = try Scratch()
        try configure(scratch, for: directory, kdc: kdc)
        return (directory, kdc, scratch)
    }

    /// With Kerberos configured the KDC checks the password (the LDAP password no longer works) and the
    /// LDAP entry still makes the account.
    @Test func passwordGrantChecksThePasswordAtTheKDC() async throws {
        let (directory, kdc, scratch) = try await kerberosRealm()
        defer { directory.stop(); kdc.stop() }
        let created = try await runCommand(
            tesseraBinary,
            ["clients", "create", "--config", scratch.config, "--name", "app", "--grant", "password", "--json"])
        let client = try #require(try JSONSerialization.jsonObject(with: Data(created.out.utf8)) as? [String: Any])
        let basic = "\(client["client_id"] as? String ?? ""):\(client["client_secret"] as? String ?? "")"
        let server = try await ServeProcess(config: scratch.config)
        func status(_ password: String) async throws -> Int {
            try await curl(
                "http://127.0.0.1:\(server.port)/oauth2/token",
                [
                    "-u", basic, "--data-urlencode", "grant_type=password", "--data-urlencode",
                    "username=jane@appleid.example.com", "--data-urlencode", "password=\(password)",
                ]
            ).status
        }
        #expect(try await status("jane-kerberos-1") == 200)
        #expect(try await status("correct horse battery staple") == 400)  // her LDAP password
        kdc.kill()
        #expect(try await status("jane-kerberos-1") == 503)
        server.signal(SIGTERM)
        #expect(try await server.waitForExit() == 0)
    }

    /// Kerberos without an LDAP directory: the KDC checks passwords of the kerberos accounts an
    /// administrator created (`jane` → jane@appleid.example.com); a principal without one is refused.
    @Test func withoutLDAPTheKDCSignsInToKerberosAccounts() async throws {
        let kdc = try await TestKDC.start(people: ["jane": "jane-kerberos-1", "ghost": "ghost-kerberos-2"])
        defer { kdc.stop() }
        let scratch = try Scratch(
            """
            "directory": { "kerberos": { "enabled": true, "config_file": "\(kdc.configFile)",
              "default_realm": "\(TestKDC.realm)", "keytab": "\(kdc.keytab)",
              "service_principal": "\(TestKDC.servicePrincipal)" } }
            """)
        let account = try await runCommand(
            tesseraBinary,
            [
                "accounts", "create", "--config", scratch.config, "--managed-id", "jane@appleid.example.com",
                "--given-name", "Jane", "--family-name", "Doe", "--source", "kerberos",
            ])
        #expect(account.status == 0, "\(account.err)")
        let created = try await runCommand(
            tesseraBinary,
            ["clients", "create", "--config", scratch.config, "--name", "app", "--grant", "password", "--json"])
        let client = try #require(try JSONSerialization.jsonObject(with: Data(created.out.utf8)) as? [String: Any])
        let basic = "\(client["client_id"] as? String ?? ""):\(client["client_secret"] as? String ?? "")"
        let server = try await ServeProcess(config: scratch.config)
        func token(_ username: String, _ password: String) async throws -> (status: Int, body: String) {
            try await curl(
                "http://127.0.0.1:\(server.port)/oauth2/token",
                [
                    "-u", basic, "--data-urlencode", "grant_type=password", "--data-urlencode", "username=\(username)",
                    "--data-urlencode", "password=\(password)",
                ])
        }
        let signedIn = try await token("jane", "jane-kerberos-1")
        #expect(signedIn.status == 200, "\(signedIn.body)")
        #expect(try await token("jane@appleid.example.com", "jane-kerberos-1").status == 200)
        #expect(try await token("jane", "wrong-password").status == 400)
        // The KDC knows ghost, Tessera has no account for him: refused, and none is made.
        #expect(try await token("ghost", "ghost-kerberos-2").status == 400)
        let listed = try await runCommand(tesseraBinary, ["accounts", "list", "--config", scratch.config, "--json"])
        #expect(listed.out.contains("jane@appleid.example.com") && !listed.out.contains("ghost"))
        kdc.kill()
        #expect(try await token("jane", "jane-kerberos-1").status == 503)
        server.signal(SIGTERM)
        #expect(try await server.waitForExit() == 0)
    }

    /// SPNEGO at the sign-in page: without a ticket the page is a 401 challenge whose body is the form;
    /// with one (kinit, then curl --negotiate) the browser is sent on with a code, no password typed.
    @Test func theSignInPageAcceptsAKerberosTicket() async throws {
        let (directory, kdc, scratch) = try await kerberosRealm()
        defer { directory.stop(); kdc.stop() }
        let created = try await runCommand(
            tesseraBinary,
            [
                "clients", "create", "--config", scratch.config, "--name", "web", "--grant", "authorization_code",
                "--redirect-uri", "https://app.example.com/cb", "--json",
            ])
        let client = try #require(try JSONSerialization.jsonObject(with: Data(created.out.utf8)) as? [String: Any])
        let server = try await ServeProcess(config: scratch.config)
        let url =
            "http://localhost:\(server.port)/oauth2/authorize?response_type=code&client_id=\(client["client_id"] as? String ?? "")"
            + "&redirect_uri=https%3A%2F%2Fapp.example.com%2Fcb&state=s1"
            + "&code_challenge=\(String(repeating: "A", count: 43))&code_challenge_method=S256"
        let kerberos = ["KRB5_CONFIG": kdc.configFile, "KRB5CCNAME": "FILE:\(scratch.path)/ccache"]
        let curlArguments = ["-sS", "--max-time", "10", "-o", "/dev/null", "-D", "-", "--negotiate", "-u", ":", url]

        let challenge = try await runCommand("/usr/bin/curl", curlArguments, environment: kerberos)
        #expect(challenge.out.hasPrefix("HTTP/1.1 401") && challenge.out.contains("WWW-Authenticate: Negotiate"))
        let kinit = try await runCommand(
            "/bin/sh", ["-c", "printf 'jane-kerberos-1\\n' | kinit jane@EXAMPLE.COM"], environment: kerberos)
        #expect(kinit.status == 0, "\(kinit.err)")
        let signedIn = try await runCommand("/usr/bin/curl", curlArguments, environment: kerberos)
        #expect(signedIn.out.contains("HTTP/1.1 302"), "\(signedIn.out) \(signedIn.err)")
        #expect(signedIn.out.contains("Location: https://app.example.com/cb?code="))
        let shown = try await runCommand(
            tesseraBinary, ["accounts", "show", "jane@appleid.example.com", "--config", scratch.config, "--json"])
        #expect(shown.status == 0 && shown.out.contains("\"source\":\"ldap\""))
        server.signal(SIGTERM)
        #expect(try await server.waitForExit() == 0)
    }
}
