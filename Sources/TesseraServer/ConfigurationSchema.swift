import TesseraPlatform

/// Every configuration key, its type, default and meaning: the single source the loader, the
/// environment overrides and `tessera config check` use.
struct ConfigKey: Sendable {
    enum Kind: Sendable, Equatable {
        case string, integer(ClosedRange<Int>), boolean, strings, optionalPath
    }

    let path: String
    let kind: Kind
    let defaultValue: ConfigValue
    let summary: String

    /// `TESSERA_` + the path upper-cased with `.` as `_`: `server.port` → `TESSERA_SERVER_PORT`.
    var environmentName: String {
        "TESSERA_" + path.uppercased().map { $0 == "." ? "_" : $0 }.map(String.init).joined()
    }
}

enum ConfigValue: Sendable, Equatable {
    case string(String), integer(Int), boolean(Bool), strings([String]), null

    /// The value as JSON text.
    var json: String {
        var writer = JSONWriter()
        switch self {
        case .string(let text): writer.string(text)
        case .integer(let number): writer.int(number)
        case .boolean(let flag): writer.bool(flag)
        case .strings(let list):
            writer.beginArray()
            for item in list { writer.string(item) }
            writer.endArray()
        case .null: writer.null()
        }
        return String(decoding: writer.bytes, as: UTF8.self)
    }
}

enum ConfigurationSchema {
    static let keys: [ConfigKey] = [
        ConfigKey(
            path: "server.host", kind: .string, defaultValue: .string("127.0.0.1"),
            summary: "address to listen on (IPv4 or IPv6)"),
        ConfigKey(
            path: "server.port", kind: .integer(0...65535), defaultValue: .integer(8080),
            summary: "TCP port (0 picks a free one)"),
        ConfigKey(
            path: "server.event_loop_threads", kind: .integer(0...256), defaultValue: .integer(0),
            summary: "I/O threads; 0 means one per core"),
        ConfigKey(
            path: "server.max_connections", kind: .integer(1...1_000_000), defaultValue: .integer(16384),
            summary: "open connections before new ones get 503"),
        ConfigKey(
            path: "server.max_request_line_bytes", kind: .integer(256...1_048_576), defaultValue: .integer(8192),
            summary: "longest request line (414 beyond)"),
        ConfigKey(
            path: "server.max_header_bytes", kind: .integer(1024...1_048_576), defaultValue: .integer(32768),
            summary: "largest header block (431 beyond)"),
        ConfigKey(
            path: "server.max_header_count", kind: .integer(8...1000), defaultValue: .integer(100),
            summary: "most header fields (431 beyond)"),
        ConfigKey(
            path: "server.max_body_bytes", kind: .integer(0...1_073_741_824), defaultValue: .integer(1_048_576),
            summary: "largest request body (413 beyond)"),
        ConfigKey(
            path: "server.header_timeout_seconds", kind: .integer(1...3600), defaultValue: .integer(10),
            summary: "deadline to receive a whole request head (408)"),
        ConfigKey(
            path: "server.body_timeout_seconds", kind: .integer(1...3600), defaultValue: .integer(30),
            summary: "longest pause while receiving a body (408)"),
        ConfigKey(
            path: "server.idle_timeout_seconds", kind: .integer(1...86400), defaultValue: .integer(60),
            summary: "idle keep-alive connections close after this"),
        ConfigKey(
            path: "server.shutdown_grace_seconds", kind: .integer(0...3600), defaultValue: .integer(30),
            summary: "time in-flight requests get on SIGTERM/SIGINT"),
        ConfigKey(
            path: "server.trusted_tls_proxy", kind: .boolean, defaultValue: .boolean(false),
            summary: "allow plain HTTP on a non-loopback address because a TLS proxy stands in front"),
        ConfigKey(
            path: "server.tls.certificate_file", kind: .optionalPath, defaultValue: .null,
            summary: "PEM certificate chain; enables TLS (reloaded on SIGHUP)"),
        ConfigKey(
            path: "server.tls.private_key_file", kind: .optionalPath, defaultValue: .null,
            summary: "PEM private key for the certificate"),
        ConfigKey(
            path: "store.backend", kind: .string, defaultValue: .string("sqlite"), summary: "storage backend: sqlite"),
        ConfigKey(
            path: "store.sqlite.path", kind: .string, defaultValue: .string("var/tessera.sqlite3"),
            summary: "database file, created on first start"),
        ConfigKey(
            path: "store.sqlite.busy_timeout_ms", kind: .integer(0...600_000), defaultValue: .integer(5000),
            summary: "how long a writer waits for another"),
        ConfigKey(
            path: "store.sqlite.connections", kind: .integer(1...64), defaultValue: .integer(4),
            summary: "database connections (and blocking threads)"),
        ConfigKey(
            path: "accounts.managed_domains", kind: .strings, defaultValue: .strings(["appleid.example.com"]),
            summary: "domains whose accounts Tessera manages"),
        ConfigKey(
            path: "accounts.temporary_password_days", kind: .integer(1...365), defaultValue: .integer(90),
            summary: "lifetime of a temporary password"),
        ConfigKey(
            path: "accounts.lockout_threshold", kind: .integer(1...1000), defaultValue: .integer(10),
            summary: "an account locks after more wrong passwords than this"),
        ConfigKey(
            path: "accounts.deactivated_retention_days", kind: .integer(1...3650), defaultValue: .integer(30),
            summary: "deactivated local accounts are deleted after this"),
        ConfigKey(
            path: "passwords.scrypt_log_n", kind: .integer(10...22), defaultValue: .integer(17),
            summary: "scrypt cost: N = 2^log_n (OWASP: 17)"),
        ConfigKey(
            path: "passwords.scrypt_r", kind: .integer(1...32), defaultValue: .integer(8),
            summary: "scrypt block size (OWASP: 8)"),
        ConfigKey(
            path: "passwords.scrypt_p", kind: .integer(1...16), defaultValue: .integer(1),
            summary: "scrypt parallelism (OWASP: 1)"),
        ConfigKey(
            path: "passwords.max_concurrent_hashes", kind: .integer(1...64), defaultValue: .integer(2),
            summary: "scrypt runs at once (each takes 128·N·r bytes)"),
        ConfigKey(
            path: "oauth.issuer", kind: .string, defaultValue: .string("http://127.0.0.1:8080"),
            summary: "the issuer identifier (iss) and base URL of the OAuth endpoints; https off loopback"),
        ConfigKey(
            path: "oauth.access_token_audience", kind: .string, defaultValue: .string("tessera"),
            summary: "the aud claim of access tokens"),
        ConfigKey(
            path: "oauth.signing_algorithm", kind: .string, defaultValue: .string("ES256"),
            summary: "algorithm of new signing keys: ES256, EdDSA or RS256"),
        ConfigKey(
            path: "oauth.key_encryption_key_file", kind: .string, defaultValue: .string("var/key-encryption.key"),
            summary: "32-byte key that seals signing keys at rest; created (0600) when missing"),
        ConfigKey(
            path: "oauth.key_prepublish_seconds", kind: .integer(0...2_592_000), defaultValue: .integer(3600),
            summary: "how long a rotated-in key is published before it signs"),
        ConfigKey(
            path: "oauth.session_lifetime_seconds", kind: .integer(0...2_592_000), defaultValue: .integer(28800),
            summary: "how long a browser sign-in is remembered by the authorization endpoint (0: never)"),
        ConfigKey(
            path: "oauth.password_attempts_per_minute", kind: .integer(1...100_000), defaultValue: .integer(30),
            summary: "password attempts per address and per account, failed client secrets per address (429 beyond)"),
        ConfigKey(
            path: "oauth.access_token_lifetime_seconds", kind: .integer(60...86_400), defaultValue: .integer(900),
            summary: "default access token lifetime for new clients"),
        ConfigKey(
            path: "oauth.refresh_token_lifetime_seconds", kind: .integer(300...34_560_000),
            defaultValue: .integer(2_592_000), summary: "default refresh token lifetime for new clients"),
        ConfigKey(
            path: "directory.ldap.enabled", kind: .boolean, defaultValue: .boolean(false),
            summary: "sign in names that are not local accounts against this LDAP directory"),
        ConfigKey(
            path: "directory.ldap.uri", kind: .string, defaultValue: .string("ldaps://ldap.example.com"),
            summary: "ldap://host[:port] or ldaps://host[:port] of one server"),
        ConfigKey(
            path: "directory.ldap.transport", kind: .string, defaultValue: .string("ldaps"),
            summary: "ldaps, starttls, or plaintext (loopback only)"),
        ConfigKey(
            path: "directory.ldap.ca_file", kind: .optionalPath, defaultValue: .null,
            summary: "PEM file of the CAs to trust (null: the system's)"),
        ConfigKey(
            path: "directory.ldap.bind_dn", kind: .string, defaultValue: .string(""),
            summary: "DN of Tessera's service account"),
        ConfigKey(
            path: "directory.ldap.bind_password_file", kind: .optionalPath, defaultValue: .null,
            summary: "file holding the service account's password"),
        ConfigKey(
            path: "directory.ldap.pool_size", kind: .integer(1...64), defaultValue: .integer(4),
            summary: "connections kept open (and threads for directory calls)"),
        ConfigKey(
            path: "directory.ldap.connect_timeout_seconds", kind: .integer(1...300), defaultValue: .integer(5),
            summary: "time to connect (and finish TLS)"),
        ConfigKey(
            path: "directory.ldap.operation_timeout_seconds", kind: .integer(1...600), defaultValue: .integer(10),
            summary: "time the server has to answer one operation"),
        ConfigKey(
            path: "directory.ldap.preset", kind: .string, defaultValue: .string("openldap"),
            summary: "attribute choices to start from: openldap or active-directory"),
        ConfigKey(
            path: "directory.ldap.user_base", kind: .string, defaultValue: .string(""),
            summary: "base DN under which people are searched"),
        ConfigKey(
            path: "directory.ldap.user_filter", kind: .string, defaultValue: .string(""),
            summary: "which entries are people (empty: the preset's)"),
        ConfigKey(
            path: "directory.ldap.login_attribute", kind: .string, defaultValue: .string(""),
            summary: "attribute a sign-in name is matched against (empty: the preset's)"),
        ConfigKey(
            path: "directory.ldap.managed_id_attribute", kind: .string, defaultValue: .string(""),
            summary: "attribute the managed ID is made of (empty: the preset's)"),
        ConfigKey(
            path: "directory.ldap.managed_id_domain", kind: .string, defaultValue: .string(""),
            summary:
                "managed domain appended to it (empty: the first managed domain; \"*\": the attribute holds the whole managed ID)"
        ),
        ConfigKey(
            path: "directory.ldap.attributes.stable_id", kind: .string, defaultValue: .string(""),
            summary: "the entry's stable id (empty: entryUUID / objectGUID)"),
        ConfigKey(
            path: "directory.ldap.attributes.given_name", kind: .string, defaultValue: .string(""),
            summary: "given name attribute (empty: givenName)"),
        ConfigKey(
            path: "directory.ldap.attributes.family_name", kind: .string, defaultValue: .string(""),
            summary: "family name attribute (empty: sn)"),
        ConfigKey(
            path: "directory.ldap.attributes.email", kind: .string, defaultValue: .string(""),
            summary: "email attribute (empty: mail)"),
        ConfigKey(
            path: "directory.ldap.attributes.employee_number", kind: .string, defaultValue: .string(""),
            summary: "employee number attribute (empty: employeeNumber / employeeID)"),
        ConfigKey(
            path: "directory.ldap.attributes.department", kind: .string, defaultValue: .string(""),
            summary: "department attribute (empty: departmentNumber / department)"),
        ConfigKey(
            path: "directory.ldap.group_base", kind: .string, defaultValue: .string(""),
            summary: "base DN of the groups that grant roles (empty: no roles from groups)"),
        ConfigKey(
            path: "directory.ldap.group_roles", kind: .strings, defaultValue: .strings([]),
            summary: "\"role: group DN\" pairs; nested groups count; never administrator or people-manager"),
        ConfigKey(
            path: "directory.ldap.sync_interval_seconds", kind: .integer(0...604_800), defaultValue: .integer(900),
            summary: "tessera serve syncs the directory this often (0: only tessera sync ldap does)"),
        ConfigKey(
            path: "directory.ldap.full_sync_interval_hours", kind: .integer(1...720), defaultValue: .integer(24),
            summary: "a scheduled sync reads the whole directory when the last full one is this old"),
        ConfigKey(
            path: "directory.kerberos.enabled", kind: .boolean, defaultValue: .boolean(false),
            summary:
                "check passwords at the Kerberos KDC and accept tickets (the person comes from the LDAP directory when enabled, else from Tessera's kerberos accounts)"
        ),
        ConfigKey(
            path: "directory.kerberos.config_file", kind: .optionalPath, defaultValue: .null,
            summary: "krb5.conf naming the realm's KDCs (null: the system's)"),
        ConfigKey(
            path: "directory.kerberos.default_realm", kind: .string, defaultValue: .string(""),
            summary: "realm of names typed without @REALM"),
        ConfigKey(
            path: "directory.kerberos.allowed_realms", kind: .strings, defaultValue: .strings([]),
            summary: "other realms whose principals may sign in"),
        ConfigKey(
            path: "directory.kerberos.keytab", kind: .optionalPath, defaultValue: .null,
            summary: "keytab holding the service principal's key"),
        ConfigKey(
            path: "directory.kerberos.service_principal", kind: .string, defaultValue: .string(""),
            summary: "principal whose key proves the KDC, e.g. HTTP/id.example.com@EXAMPLE.COM"),
        ConfigKey(
            path: "directory.kerberos.principal_attribute", kind: .string, defaultValue: .string(""),
            summary:
                "LDAP attribute holding the whole principal, e.g. userPrincipalName (empty: the principal's name in the sign-in attribute)"
        ),
        ConfigKey(
            path: "directory.kerberos.managed_domain", kind: .string, defaultValue: .string(""),
            summary:
                "without LDAP: name@DEFAULT.REALM signs in to the kerberos account name@<this domain> (empty: the first managed domain)"
        ),
        ConfigKey(
            path: "enrolment.base_url", kind: .string, defaultValue: .string(""),
            summary:
                "Tessera's enrolment URL: discovery sends devices to <base_url>/byod or /adde; empty: no enrolment endpoints"
        ),
        ConfigKey(
            path: "enrolment.discovery_rules", kind: .strings, defaultValue: .strings([]),
            summary:
                "\"<managed domain> [model families] [role=<role>]: mdm-byod|mdm-adde\" lines; the first match answers, none refuses"
        ),
        ConfigKey(
            path: "enrolment.challenge", kind: .string, defaultValue: .string("apple-oauth2"),
            summary: "how devices sign in: apple-oauth2 (the device runs OAuth) or apple-as-web (a web page)"),
        ConfigKey(
            path: "enrolment.oauth_client_id", kind: .string, defaultValue: .string(""),
            summary:
                "the public client (--pkce apple-enrolment) devices sign in as, named in the apple-oauth2 challenge"),
        ConfigKey(
            path: "enrolment.oauth_scope", kind: .string, defaultValue: .string("enrolment"),
            summary: "the scope the apple-oauth2 challenge asks for (the client must be allowed it)"),
        ConfigKey(
            path: "enrolment.profile_template", kind: .optionalPath, defaultValue: .null,
            summary: "JSON5 template of the enrolment profile (see Config/enrolment-profile.json5)"),
        ConfigKey(
            path: "enrolment.profile_signing_certificate", kind: .optionalPath, defaultValue: .null,
            summary: "PEM certificate (then its chain) that signs enrolment profiles"),
        ConfigKey(
            path: "enrolment.profile_signing_key", kind: .optionalPath, defaultValue: .null,
            summary: "PEM private key of the profile signing certificate"),
        ConfigKey(
            path: "enrolment.ade_trust_anchors", kind: .optionalPath, defaultValue: .null,
            summary:
                "PEM certificates device identities must chain to (the Apple Root CA) for Automated Device Enrolment; null: no POST <base_url>/ade"
        ),
        ConfigKey(
            path: "enrolment.ade_minimum_os_versions", kind: .strings, defaultValue: .strings([]),
            summary:
                "\"<model family>: <version>\" lines: older devices that can update are told to (403 softwareupdate.required)"
        ),
        ConfigKey(
            path: "enrolment.maid_server_uuid", kind: .string, defaultValue: .string(""),
            summary:
                "the MDM server's UUID in Apple Business Manager (iss of com.apple.maid tokens); empty: no such tokens"),
        ConfigKey(
            path: "enrolment.maid_signing_key", kind: .optionalPath, defaultValue: .null,
            summary: "PEM RSA private key of the server certificate registered with Apple; signs com.apple.maid tokens"),
        ConfigKey(
            path: "log.level", kind: .string, defaultValue: .string("info"),
            summary: "debug, info, notice, warning or error"),
    ]

    /// Section names: every proper prefix of a key path.
    static let sections: Set<String> = {
        var result: Set<String> = []
        for key in keys {
            var parts = key.path.split(separator: ".").dropLast()
            while !parts.isEmpty {
                result.insert(parts.joined(separator: "."))
                parts = parts.dropLast()
            }
        }
        return result
    }()
}
