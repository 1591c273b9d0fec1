import Foundation
import TesseraDirectory
import Testing

@testable import TesseraServer

@Suite struct ConfigurationTests {
    func load(_ text: String, environment: [String: String] = [:]) throws -> TesseraConfiguration {
        let path = NSTemporaryDirectory() + "tessera-config-\(UUID().uuidString).json"
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        return try TesseraConfiguration.load(path: path, environment: environment)
    }

    func expectError(_ text: String, key: String?, containing fragment: String, environment: [String: String] = [:]) {
        #expect {
            try load(text, environment: environment)
        } throws: { error in
            guard let error = error as? ConfigurationError else { return false }
            return error.key == key && error.description.contains(fragment)
        }
    }

    @Test func emptyObjectGivesTheDocumentedDefaults() throws {
        let configuration = try load("{}")
        #expect(configuration.server.host == "127.0.0.1")
        #expect(configuration.server.port == 8080)
        #expect(configuration.sqlite.path == "var/tessera.sqlite3")
        #expect(configuration.accountPolicy.managedDomains.names == ["appleid.example.com"])
        #expect(configuration.accountPolicy.lockoutThreshold == 10)
        #expect(configuration.passwords.scryptLogN == 17)
        #expect(configuration.server.tlsCertificateFile == nil)
    }

    @Test func theShippedFileMatchesTheSchemaDefaults() throws {
        let shipped = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
            "../../Config/tessera.json"
        ).path
        let configuration = try TesseraConfiguration.load(path: shipped, environment: [:])
        let defaults = try load("{}")
        #expect(configuration.effectiveValues().map(\.1) == defaults.effectiveValues().map(\.1))
        // Every key of the schema appears in the shipped file, so the file documents all of them.
        let text = try String(contentsOfFile: shipped, encoding: .utf8)
        for key in ConfigurationSchema.keys {
            #expect(
                text.contains("\"\(key.path.split(separator: ".").last!)\""), "Config/tessera.json lacks \(key.path)")
        }
    }

    /// The directory section: presets, overrides, group roles, and every problem named by its key.
    @Test func directorySection() throws {
        let secret = NSTemporaryDirectory() + "tessera-ldap-secret-\(UUID().uuidString)"
        try Data("s3cret\n".utf8).write(to: URL(fileURLWithPath: secret))
        defer { try? FileManager.default.removeItem(atPath: secret) }
        /// The LDAP section with these keys replaced or added (values are JSON text).
        func section(_ overrides: KeyValuePairs<String, String> = [:]) -> String {
            var fields: [(String, String)] = [
                ("enabled", "true"), ("uri", #""ldap://127.0.0.1:3389""#), ("transport", #""starttls""#),
                ("bind_dn", #""cn=tessera,dc=example,dc=com""#), ("bind_password_file", "\"\(secret)\""),
                ("user_base", #""ou=people,dc=example,dc=com""#),
            ]
            for (key, value) in overrides {
                if let index = fields.firstIndex(where: { $0.0 == key }) {
                    fields[index].1 = value
                } else {
                    fields.append((key, value))
                }
            }
            return #"{"directory": {"ldap": {"# + fields.map { "\"\($0.0)\": \($0.1)" }.joined(separator: ", ") + "}}}"
        }
        #expect(try load("{}").ldap == nil)
        let openLDAP = try #require(
            try load(
                section([
                    "group_base": #""ou=groups,dc=example,dc=com""#,
                    "group_roles": #"["staff: cn=staff,ou=groups,dc=example,dc=com"]"#,
                    "attributes": #"{"email": "mailPrimaryAddress"}"#,
                ])
            ).ldap)
        #expect(openLDAP.connection.transport == .startTLS && openLDAP.poolSize == 4)
        #expect(openLDAP.mapping.managedID == .attributeAtDomain(attribute: "uid", domain: "appleid.example.com"))
        #expect(openLDAP.mapping.email == "mailPrimaryAddress" && openLDAP.mapping.stableID == "entryUUID")
        #expect(openLDAP.mapping.groups?.roles == ["cn=staff,ou=groups,dc=example,dc=com": .staff])
        let ad = try #require(
            try load(
                section([
                    "preset": #""active-directory""#, "managed_id_attribute": #""mail""#, "managed_id_domain": #""*""#,
                ])
            ).ldap)
        #expect(ad.mapping.managedID == .attribute("mail") && ad.mapping.stableIDEncoding == .activeDirectoryGUID)
        #expect(ad.mapping.loginAttribute == "sAMAccountName" && ad.mapping.activeDirectoryAccountControl)

        expectError(section(["transport": #""tls""#]), key: "directory.ldap.transport", containing: "unknown transport")
        expectError(
            section(["uri": #""ldap://ldap.example.com""#, "transport": #""plaintext""#]), key: "directory.ldap.uri",
            containing: "in clear")
        expectError(section(["user_base": #""""#]), key: "directory.ldap.user_base", containing: "must be set")
        expectError(section(["preset": #""novell""#]), key: "directory.ldap.preset", containing: "unknown preset")
        expectError(
            section(["bind_password_file": #""/nonexistent/secret""#]), key: "directory.ldap.bind_password_file",
            containing: "not readable")
        expectError(
            section(["group_roles": #"["staff: cn=staff,dc=example,dc=com"]"#]), key: "directory.ldap.group_base",
            containing: "must be set")
        expectError(
            section([
                "group_base": #""dc=example,dc=com""#,
                "group_roles": #"["administrator: cn=admins,dc=example,dc=com"]"#,
            ]),
            key: "directory.ldap", containing: "never given by a directory")
        expectError(
            section(["group_base": #""dc=example,dc=com""#, "group_roles": #"["cn=admins,dc=example,dc=com"]"#]),
            key: "directory.ldap.group_roles", containing: "role: group DN")
        expectError(
            section(["managed_id_domain": #""example.org""#]), key: "directory.ldap",
            containing: "not a managed domain")
        expectError(section(["user_filter": #""uid=*""#]), key: "directory.ldap", containing: "parenthesised")
        expectError(
            section(["ca_file": #""/nonexistent/ca.pem""#]), key: "directory.ldap.ca_file", containing: "not readable")
        expectError(
            section([
                "group_base": #""dc=example,dc=com""#,
                "group_roles": #"["staff: cn=a,dc=example,dc=com", "content-manager: CN=a, dc=example, dc=com"]"#,
            ]), key: "directory.ldap.group_roles", containing: "listed twice")

        // Kerberos needs its realm, keytab and principal. Without LDAP a principal names an account of the
        // managed domain (the first one unless set), in the default realm only.
        let kerberos =
            #""kerberos": {"enabled": true, "default_realm": "EXAMPLE.COM", "keytab": "\#(secret)", "service_principal": "HTTP/id.example.com@EXAMPLE.COM"}"#
        let alone =
            #"{"accounts": {"managed_domains": ["appleid.example.com", "corp.example.com"]}, "directory": {\#(kerberos)}}"#
        let withoutLDAP = try load(alone)
        #expect(withoutLDAP.ldap == nil && withoutLDAP.kerberos?.defaultRealm == "EXAMPLE.COM")
        #expect(withoutLDAP.kerberosAccountsDomain == "appleid.example.com")
        let chosen = alone.replacingOccurrences(
            of: #""enabled": true"#, with: #""enabled": true, "managed_domain": "CORP.example.com""#)
        #expect(try load(chosen).kerberosAccountsDomain == "corp.example.com")
        expectError(
            alone.replacingOccurrences(
                of: #""enabled": true"#, with: #""enabled": true, "managed_domain": "example.org""#),
            key: "directory.kerberos.managed_domain", containing: "not one of accounts.managed_domains")
        expectError(
            alone.replacingOccurrences(
                of: #""enabled": true"#, with: #""enabled": true, "allowed_realms": ["EMEA.EXAMPLE.COM"]"#),
            key: "directory.kerberos.allowed_realms", containing: "directory.ldap")
        expectError(
            alone.replacingOccurrences(
                of: #""enabled": true"#, with: #""enabled": true, "principal_attribute": "mail""#),
            key: "directory.kerberos.principal_attribute", containing: "directory.ldap")
        let both = section().replacingOccurrences(of: "}}}", with: "}, \(kerberos)}}")
        let settings = try #require(try load(both).kerberos)
        #expect(settings.defaultRealm == "EXAMPLE.COM" && settings.keytab == secret && settings.configFile == nil)
        expectError(
            both.replacingOccurrences(
                of: #""enabled": true, "default_realm""#,
                with: #""enabled": true, "managed_domain": "appleid.example.com", "default_realm""#),
            key: "directory.kerberos.managed_domain", containing: "without LDAP")
        expectError(
            both.replacingOccurrences(of: #""default_realm": "EXAMPLE.COM""#, with: #""default_realm": """#),
            key: "directory.kerberos.default_realm", containing: "must be set")
        expectError(
            both.replacingOccurrences(of: secret + #"", "service"#, with: #"/nonexistent/keytab", "service"#),
            key: "directory.kerberos.keytab", containing: "not readable")
    }

    @Test func enrolmentSection() throws {
        #expect(try load("{}").discovery == nil)
        let file = NSTemporaryDirectory() + "tessera-enrolment-\(UUID().uuidString)"
        try Data("x".utf8).write(to: URL(fileURLWithPath: file))
        defer { try? FileManager.default.removeItem(atPath: file) }
        let files =
            #""oauth_client_id": "device", "profile_template": "\#(file)", "profile_signing_certificate": "\#(file)", "profile_signing_key": "\#(file)""#
        let configured = try load(
            #"{"enrolment": {"base_url": "https://mdm.example.com/enrol/", \#(files), "discovery_rules": ["appleid.example.com Mac: mdm-adde", "appleid.example.com: mdm-byod"]}}"#
        )
        let discovery = try #require(configured.discovery)
        #expect(discovery.baseURL == "https://mdm.example.com/enrol" && discovery.clientID == "device")
        #expect(discovery.scope == "enrolment" && discovery.profileTemplate == file)
        #expect(
            discovery.policy.rules.map(\.description) == [
                "appleid.example.com Mac: mdm-adde", "appleid.example.com: mdm-byod",
            ])
        expectError(
            #"{"enrolment": {"discovery_rules": ["appleid.example.com: mdm-byod"]}}"#, key: "enrolment.discovery_rules",
            containing: "needs enrolment.base_url")
        expectError(
            #"{"enrolment": {"base_url": "http://mdm.example.com/enrol", \#(files)}}"#, key: "enrolment.base_url",
            containing: "https")
        expectError(
            #"{"enrolment": {"base_url": "https://mdm.example.com/enrol", \#(files), "discovery_rules": ["example.org: mdm-byod"]}}"#,
            key: "enrolment.discovery_rules", containing: "not one of the managed domains")
        expectError(
            #"{"enrolment": {"base_url": "https://mdm.example.com/enrol"}}"#, key: "enrolment.profile_template",
            containing: "must be set")
        expectError(
            #"{"enrolment": {"base_url": "https://mdm.example.com/enrol", "challenge": "apple-magic", \#(files)}}"#,
            key: "enrolment.challenge", containing: "apple-oauth2 or apple-as-web")
        #expect(
            try load(
                #"{"enrolment": {"maid_server_uuid": "6F0A2D5E-1C34-4B8E-9D1A-2F3B4C5D6E7F", "maid_signing_key": "\#(file)"}}"#
            ).managedAccountToken?.serverUUID == "6F0A2D5E-1C34-4B8E-9D1A-2F3B4C5D6E7F")
        expectError(
            #"{"enrolment": {"maid_server_uuid": "server-1", "maid_signing_key": "\#(file)"}}"#,
            key: "enrolment.maid_server_uuid", containing: "UUID")
        expectError(
            #"{"enrolment": {"maid_server_uuid": "6F0A2D5E-1C34-4B8E-9D1A-2F3B4C5D6E7F"}}"#,
            key: "enrolment.maid_signing_key", containing: "must be set")
        // Automated Device Enrolment: under base_url; minimum OS lines checked.
        let ade = try load(
            #"{"enrolment": {"base_url": "https://mdm.example.com/enrol", \#(files), "ade_trust_anchors": "\#(file)", "ade_minimum_os_versions": ["iPhone: 17.1", "Mac: 14.2"]}}"#
        )
        #expect(ade.discovery?.adeTrustAnchors == file && ade.discovery?.adeMinimumOSVersions.count == 2)
        expectError(
            #"{"enrolment": {"ade_trust_anchors": "\#(file)"}}"#, key: "enrolment.ade_trust_anchors",
            containing: "needs enrolment.base_url")
        expectError(
            #"{"enrolment": {"base_url": "https://mdm.example.com/enrol", \#(files), "ade_minimum_os_versions": ["Toaster: 1"]}}"#,
            key: "enrolment.ade_minimum_os_versions", containing: "model family")
        expectError(
            #"{"enrolment": {"base_url": "https://mdm.example.com/enrol", \#(files), "ade_trust_anchors": "/nonexistent.pem"}}"#,
            key: "enrolment.ade_trust_anchors", containing: "not readable")
        let noClient = files.replacingOccurrences(of: #""device""#, with: #""""#)
        expectError(
            #"{"enrolment": {"base_url": "https://mdm.example.com/enrol", \#(noClient)}}"#,
            key: "enrolment.oauth_client_id", containing: "must be set")
        let noKey = files.replacingOccurrences(
            of: #""profile_signing_key": "\#(file)""#, with: #""profile_signing_key": "/nonexistent""#)
        expectError(
            #"{"enrolment": {"base_url": "https://mdm.example.com/enrol", \#(noKey)}}"#,
            key: "enrolment.profile_signing_key", containing: "not readable")
    }

    @Test func acceptsCommentsAndTrailingCommas() throws {
        let configuration = try load(
            """
            // comment
            { "server": { "port": 9090, /* inline */ }, "accounts": { "managed_domains": ["corp.example.org",], }, }
            """)
        #expect(configuration.server.port == 9090)
        #expect(configuration.accountPolicy.managedDomains.names == ["corp.example.org"])
    }

    @Test func unknownKeysNameTheKey() {
        expectError(#"{"server": {"prot": 1}}"#, key: "server.prot", containing: "unknown key")
        expectError(#"{"serve": {}}"#, key: "serve", containing: "unknown key")
        expectError(#"{"server": {"tls": {"cert": "x"}}}"#, key: "server.tls.cert", containing: "unknown key")
    }

    @Test func badValuesNameTheKey() {
        expectError(#"{"server": {"port": "8080"}}"#, key: "server.port", containing: "whole number")
        expectError(#"{"server": {"port": 70000}}"#, key: "server.port", containing: "between 0 and 65535")
        expectError(#"{"server": {"port": 80.5}}"#, key: "server.port", containing: "whole number")
        expectError(
            #"{"server": {"trusted_tls_proxy": "yes"}}"#, key: "server.trusted_tls_proxy", containing: "true or false")
        expectError(#"{"server": 1}"#, key: "server", containing: "must be an object")
        expectError(
            #"{"accounts": {"managed_domains": []}}"#, key: "accounts.managed_domains", containing: "at least one")
        expectError(
            #"{"accounts": {"managed_domains": ["not a domain"]}}"#, key: "accounts.managed_domains",
            containing: "not a valid domain")
        expectError(#"{"store": {"backend": "oracle"}}"#, key: "store.backend", containing: "unknown backend")
        expectError(#"{"log": {"level": "loud"}}"#, key: "log.level", containing: "unknown level")
        expectError(
            #"{"server": {"tls": {"certificate_file": "/nonexistent.pem", "private_key_file": "/nonexistent.key"}}}"#,
            key: "server.tls.certificate_file", containing: "does not exist")
        expectError(
            #"{"server": {"tls": {"certificate_file": "/etc/hostname"}}}"#, key: "server.tls.private_key_file",
            containing: "set together")
        expectError(#"{"server": {"host": "0.0.0.0"}}"#, key: "server.host", containing: "plain HTTP is refused")
        expectError(#"{"server": {"host": "127.0.0.1.evil"}}"#, key: "server.host", containing: "plain HTTP is refused")
        expectError("[1, 2]", key: nil, containing: "JSON object")
        expectError("{ nope", key: nil, containing: "not valid JSON")
    }

    @Test func environmentOverridesTheFile() throws {
        let configuration = try load(
            #"{"server": {"port": 9090}}"#,
            environment: [
                "TESSERA_SERVER_PORT": "7070", "TESSERA_ACCOUNTS_MANAGED_DOMAINS": "a.example.com, b.example.com",
                "TESSERA_SERVER_TRUSTED_TLS_PROXY": "true", "TESSERA_CONFIG": "ignored", "PATH": "/bin",
            ])
        #expect(configuration.server.port == 7070)
        #expect(configuration.server.trustedTLSProxy)
        #expect(configuration.accountPolicy.managedDomains.names == ["a.example.com", "b.example.com"])
        expectError(
            "{}", key: "server.port", containing: "TESSERA_SERVER_PORT must be a whole number",
            environment: ["TESSERA_SERVER_PORT": "eighty"])
        expectError(
            "{}", key: nil, containing: "unknown environment variable TESSERA_SERVR_PORT",
            environment: ["TESSERA_SERVR_PORT": "1"])
    }

    @Test func plainHTTPOffLoopbackNeedsATrustedProxy() throws {
        #expect(try load(#"{"server": {"host": "0.0.0.0", "trusted_tls_proxy": true}}"#).server.trustedTLSProxy)
        #expect(try load(#"{"server": {"host": "::1"}}"#).server.host == "::1")
        #expect(try load(#"{"server": {"host": "127.0.0.2"}}"#).server.host == "127.0.0.2")
    }

    @Test func missingFileIsReported() {
        #expect { try TesseraConfiguration.load(path: "/nonexistent/tessera.json", environment: [:]) } throws: {
            ($0 as? ConfigurationError)?.description.contains("cannot read configuration file") == true
        }
    }
}
