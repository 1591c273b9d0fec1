import Foundation
public import TesseraCore
public import TesseraDirectory
public import TesseraEnrolment
import TesseraHTTP
import TesseraPlatform

/// Tessera's configuration, read from `Config/tessera.json` (JSON5: comments and trailing commas are
/// allowed) and overridden by `TESSERA_*` environment variables. Every key is listed, with its default,
/// in `ConfigurationSchema` and the README.
public struct TesseraConfiguration: Sendable {
    public struct Server: Sendable {
        public var host: String
        public var port: Int
        public var eventLoopThreads: Int
        public var maxConnections: Int
        public var maxRequestLineBytes: Int
        public var maxHeaderBytes: Int
        public var maxHeaderCount: Int
        public var maxBodyBytes: Int
        public var headerTimeout: Duration
        public var bodyTimeout: Duration
        public var idleTimeout: Duration
        public var shutdownGrace: Duration
        public var trustedTLSProxy: Bool
        public var tlsCertificateFile: String?
        public var tlsPrivateKeyFile: String?
    }

    public struct SQLite: Sendable {
        public var path: String
        public var busyTimeout: Duration
        public var connections: Int
    }

    public struct Passwords: Sendable {
        public var scryptLogN: Int
        public var scryptR: Int
        public var scryptP: Int
        public var maxConcurrentHashes: Int
    }

    public struct OAuth: Sendable {
        public var issuer: String
        public var accessTokenAudience: String
        public var signingAlgorithm: String
        public var keyEncryptionKeyFile: String
        public var keyPrepublish: Duration
        public var passwordAttemptsPerMinute: Int
        public var sessionLifetime: Duration
        public var accessTokenLifetime: Duration
        public var refreshTokenLifetime: Duration
    }

    public struct Discovery: Sendable {
        /// Tessera's enrolment URL: devices are sent to `<baseURL>/byod` and `<baseURL>/adde`.
        public var baseURL: String
        public var policy: DiscoveryPolicy
        /// `apple-oauth2` or `apple-as-web`.
        public var challenge: String
        /// The client devices sign in as, and the scope they ask for.
        public var clientID: String
        public var scope: String
        public var profileTemplate: String
        public var signingCertificate: String
        public var signingKey: String
        /// Automated Device Enrolment: the trust anchors' file (nil: no ADE endpoint) and minimum OS versions.
        public var adeTrustAnchors: String?
        public var adeMinimumOSVersions: [AutomatedEnrolmentService.MinimumOS]
    }

    public var server: Server
    public var oauth: OAuth
    public var sqlite: SQLite
    public var accountPolicy: AccountPolicy
    public var passwords: Passwords
    /// The LDAP directory people sign in through, when `directory.ldap.enabled`.
    public var ldap: LDAP?
    /// Kerberos password checks and tickets, when `directory.kerberos.enabled`.
    public var kerberos: KerberosSettings?
    /// Kerberos without LDAP (`kerberos` set, `ldap` nil): the managed domain of the accounts principals
    /// sign in to (`directory.kerberos.managed_domain`).
    public var kerberosAccountsDomain: String?
    /// Account-driven enrolment's service discovery, when `enrolment.base_url` is set.
    public var discovery: Discovery?
    /// The `com.apple.maid` token: the server's UUID and the signing key's file, when configured.
    public var managedAccountToken: (serverUUID: String, keyFile: String)?
    public var logLevel: String
    /// Where the configuration came from, for messages.
    public var source: String
    /// Every key's value in force, for `tessera config check`.
    let resolved: [String: ConfigValue]

    /// Every key with the value in force as JSON text, in schema order.
    public func effectiveValues() -> [(String, String)] {
        ConfigurationSchema.keys.map { ($0.path, (resolved[$0.path] ?? $0.defaultValue).json) }
    }

    /// Reads and checks the configuration file, then applies the environment.
    /// - Throws: `ConfigurationError` naming the key (or variable) and what is wrong with it.
    public static func load(path: String, environment: [String: String]? = nil) throws -> TesseraConfiguration {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigurationError(key: nil, "cannot read configuration file \(path)")
        }
        let values = try ConfigurationLoader.resolve(
            data: data, file: path, environment: environment ?? ProcessInfo.processInfo.environment)
        return try TesseraConfiguration(values: values, source: path)
    }

    init(values: [String: ConfigValue], source: String) throws {
        func string(_ key: String) -> String {
            if case .string(let value) = values[key] { return value }
            return ""
        }
        func integer(_ key: String) -> Int {
            if case .integer(let value) = values[key] { return value }
            return 0
        }
        func boolean(_ key: String) -> Bool { values[key] == .boolean(true) }
        func optional(_ key: String) -> String? {
            if case .string(let value) = values[key] { return value }
            return nil
        }
        server = Server(
            host: string("server.host"), port: integer("server.port"),
            eventLoopThreads: integer("server.event_loop_threads"),
            maxConnections: integer("server.max_connections"),
            maxRequestLineBytes: integer("server.max_request_line_bytes"),
            maxHeaderBytes: integer("server.max_header_bytes"), maxHeaderCount: integer("server.max_header_count"),
            maxBodyBytes: integer("server.max_body_bytes"),
            headerTimeout: .seconds(integer("server.header_timeout_seconds")),
            bodyTimeout: .seconds(integer("server.body_timeout_seconds")),
            idleTimeout: .seconds(integer("server.idle_timeout_seconds")),
            shutdownGrace: .seconds(integer("server.shutdown_grace_seconds")),
            trustedTLSProxy: boolean("server.trusted_tls_proxy"),
            tlsCertificateFile: optional("server.tls.certificate_file"),
            tlsPrivateKeyFile: optional("server.tls.private_key_file"))
        if (server.tlsCertificateFile == nil) != (server.tlsPrivateKeyFile == nil) {
            throw ConfigurationError(
                key: server.tlsCertificateFile == nil ? "server.tls.certificate_file" : "server.tls.private_key_file",
                "must be set together with \(server.tlsCertificateFile == nil ? "server.tls.private_key_file" : "server.tls.certificate_file")"
            )
        }
        for key in ["server.tls.certificate_file", "server.tls.private_key_file"] {
            if let file = optional(key), !FileManager.default.isReadableFile(atPath: file) {
                throw ConfigurationError(key: key, "file \(file) does not exist or is not readable")
            }
        }
        if server.tlsCertificateFile == nil && !server.trustedTLSProxy
            && !HTTPServerConfiguration.isLoopback(host: server.host)
        {
            throw ConfigurationError(
                key: "server.host",
                "plain HTTP is refused on non-loopback address \(server.host): set server.tls.certificate_file and server.tls.private_key_file, or server.trusted_tls_proxy when a TLS proxy stands in front"
            )
        }
        guard string("store.backend") == "sqlite" else {
            throw ConfigurationError(
                key: "store.backend", "unknown backend \(string("store.backend")); expected sqlite")
        }
        guard !string("store.sqlite.path").isEmpty else {
            throw ConfigurationError(key: "store.sqlite.path", "must not be empty")
        }
        sqlite = SQLite(
            path: string("store.sqlite.path"), busyTimeout: .milliseconds(integer("store.sqlite.busy_timeout_ms")),
            connections: integer("store.sqlite.connections"))
        let domains: ManagedDomains
        do {
            guard case .strings(let names) = values["accounts.managed_domains"], !names.isEmpty else {
                throw ConfigurationError(key: "accounts.managed_domains", "must list at least one domain")
            }
            domains = try ManagedDomains(names)
        } catch let error as CoreError {
            throw ConfigurationError(key: "accounts.managed_domains", error.message)
        }
        accountPolicy = AccountPolicy(
            managedDomains: domains,
            temporaryPasswordLifetime: .seconds(integer("accounts.temporary_password_days") * 86_400),
            lockoutThreshold: integer("accounts.lockout_threshold"),
            deactivatedRetention: .seconds(integer("accounts.deactivated_retention_days") * 86_400))
        passwords = Passwords(
            scryptLogN: integer("passwords.scrypt_log_n"), scryptR: integer("passwords.scrypt_r"),
            scryptP: integer("passwords.scrypt_p"),
            maxConcurrentHashes: integer("passwords.max_concurrent_hashes"))
        oauth = OAuth(
            issuer: try Self.issuer(string("oauth.issuer")), accessTokenAudience: string("oauth.access_token_audience"),
            signingAlgorithm: string("oauth.signing_algorithm"),
            keyEncryptionKeyFile: string("oauth.key_encryption_key_file"),
            keyPrepublish: .seconds(integer("oauth.key_prepublish_seconds")),
            passwordAttemptsPerMinute: integer("oauth.password_attempts_per_minute"),
            sessionLifetime: .seconds(integer("oauth.session_lifetime_seconds")),
            accessTokenLifetime: .seconds(integer("oauth.access_token_lifetime_seconds")),
            refreshTokenLifetime: .seconds(integer("oauth.refresh_token_lifetime_seconds")))
        guard ["ES256", "EdDSA", "RS256"].contains(oauth.signingAlgorithm) else {
            throw ConfigurationError(
                key: "oauth.signing_algorithm",
                "unknown algorithm \(oauth.signingAlgorithm); expected ES256, EdDSA or RS256")
        }
        guard !oauth.accessTokenAudience.isEmpty else {
            throw ConfigurationError(key: "oauth.access_token_audience", "must not be empty")
        }
        guard !oauth.keyEncryptionKeyFile.isEmpty else {
            throw ConfigurationError(key: "oauth.key_encryption_key_file", "must not be empty")
        }
        ldap = try Self.ldap(values, managedDomains: domains)
        let kerberos = try Self.kerberos(values, ldapEnabled: ldap != nil, managedDomains: domains)
        self.kerberos = kerberos?.settings
        kerberosAccountsDomain = kerberos?.domain
        discovery = try Self.discovery(values, managedDomains: domains)
        managedAccountToken = try Self.managedAccountToken(values)
        logLevel = string("log.level")
        guard ["debug", "info", "notice", "warning", "error"].contains(logLevel) else {
            throw ConfigurationError(
                key: "log.level", "unknown level \(logLevel); expected debug, info, notice, warning or error")
        }
        self.source = source
        self.resolved = values
    }
}

extension TesseraConfiguration {
    /// RFC 8414 §2: an https URL without query or fragment (http only on loopback, for development).
    static func issuer(_ text: String) throws -> String {
        guard isServiceURL(text) else {
            throw ConfigurationError(
                key: "oauth.issuer",
                "must be an https URL without query or fragment (http only on loopback), got '\(text)'")
        }
        return text.hasSuffix("/") ? String(text.dropLast()) : text
    }

    /// An https URL without query or fragment; http only to a loopback host.
    static func isServiceURL(_ text: String) -> Bool {
        guard let url = URL(string: text), let scheme = url.scheme, let host = url.host, url.query == nil,
            url.fragment == nil
        else { return false }
        return scheme == "https" || (scheme == "http" && HTTPServerConfiguration.isLoopback(host: host))
    }

    /// The `com.apple.maid` token settings; nil when neither key is set.
    static func managedAccountToken(_ values: [String: ConfigValue]) throws -> (serverUUID: String, keyFile: String)? {
        var uuid = ""
        if case .string(let text) = values["enrolment.maid_server_uuid"] { uuid = text }
        var keyFile = ""
        if case .string(let text) = values["enrolment.maid_signing_key"] { keyFile = text }
        if uuid.isEmpty && keyFile.isEmpty { return nil }
        guard UUID(uuidString: uuid) != nil else {
            throw ConfigurationError(
                key: "enrolment.maid_server_uuid",
                "must be the server's UUID (from Apple Business Manager), got '\(uuid)'")
        }
        guard !keyFile.isEmpty else {
            throw ConfigurationError(key: "enrolment.maid_signing_key", "must be set with enrolment.maid_server_uuid")
        }
        guard FileManager.default.isReadableFile(atPath: keyFile) else {
            throw ConfigurationError(
                key: "enrolment.maid_signing_key", "file \(keyFile) does not exist or is not readable")
        }
        return (uuid, keyFile)
    }

    /// The discovery section; nil when `enrolment.base_url` is empty (then no rule may be given).
    static func discovery(_ values: [String: ConfigValue], managedDomains: ManagedDomains) throws -> Discovery? {
        var baseURL = ""
        if case .string(let text) = values["enrolment.base_url"] { baseURL = text }
        var lines: [String] = []
        if case .strings(let list) = values["enrolment.discovery_rules"] { lines = list }
        var anchors = ""
        if case .string(let text) = values["enrolment.ade_trust_anchors"] { anchors = text }
        var minimumLines: [String] = []
        if case .strings(let list) = values["enrolment.ade_minimum_os_versions"] { minimumLines = list }
        guard !baseURL.isEmpty else {
            for (key, isSet) in [
                ("ade_trust_anchors", !anchors.isEmpty), ("ade_minimum_os_versions", !minimumLines.isEmpty),
            ]
            where isSet {
                throw ConfigurationError(
                    key: "enrolment." + key, "needs enrolment.base_url, under which Tessera serves the ADE URL")
            }
            guard lines.isEmpty else {
                throw ConfigurationError(
                    key: "enrolment.discovery_rules", "needs enrolment.base_url, the URL the rules send devices to")
            }
            return nil
        }
        // Devices load the enrolment URL over https only.
        guard isServiceURL(baseURL) else {
            throw ConfigurationError(
                key: "enrolment.base_url",
                "must be an https URL without query or fragment (http only on loopback), got '\(baseURL)'")
        }
        var rules: [DiscoveryRule] = []
        for line in lines {
            do {
                rules.append(try DiscoveryRule(parsing: line, managedDomains: managedDomains))
            } catch let error as CoreError {
                throw ConfigurationError(key: "enrolment.discovery_rules", error.message)
            }
        }
        func required(_ key: String) throws -> String {
            guard case .string(let value) = values["enrolment." + key], !value.isEmpty else {
                throw ConfigurationError(key: "enrolment." + key, "must be set when enrolment.base_url is")
            }
            return value
        }
        var files: [String] = []
        for key in ["profile_template", "profile_signing_certificate", "profile_signing_key"] {
            let path = try required(key)
            guard FileManager.default.isReadableFile(atPath: path) else {
                throw ConfigurationError(key: "enrolment." + key, "file \(path) does not exist or is not readable")
            }
            files.append(path)
        }
        let challenge = try required("challenge")
        guard ["apple-oauth2", "apple-as-web"].contains(challenge) else {
            throw ConfigurationError(
                key: "enrolment.challenge", "unknown challenge '\(challenge)'; expected apple-oauth2 or apple-as-web")
        }
        let clientID = try required("oauth_client_id")
        let scope = try required("oauth_scope")
        guard (try? OAuthRules.scopes(scope)) != nil else {
            throw ConfigurationError(key: "enrolment.oauth_scope", "'\(scope)' is not a valid OAuth scope")
        }
        if !anchors.isEmpty, !FileManager.default.isReadableFile(atPath: anchors) {
            throw ConfigurationError(
                key: "enrolment.ade_trust_anchors", "file \(anchors) does not exist or is not readable")
        }
        var minimums: [AutomatedEnrolmentService.MinimumOS] = []
        for line in minimumLines {
            do {
                minimums.append(try AutomatedEnrolmentService.MinimumOS(parsing: line))
            } catch let error as CoreError {
                throw ConfigurationError(key: "enrolment.ade_minimum_os_versions", error.message)
            }
        }
        return Discovery(
            baseURL: baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL,
            policy: DiscoveryPolicy(rules: rules),
            challenge: challenge, clientID: clientID, scope: scope, profileTemplate: files[0],
            signingCertificate: files[1],
            signingKey: files[2], adeTrustAnchors: anchors.isEmpty ? nil : anchors, adeMinimumOSVersions: minimums)
    }
}

/// A configuration problem, naming the key or environment variable.
public struct ConfigurationError: Error, Sendable, CustomStringConvertible {
    public var key: String?
    public var message: String

    init(key: String?, _ message: String) {
        self.key = key
        self.message = message
    }

    public var description: String {
        key.map { "configuration key \($0): \(message)" } ?? "configuration: \(message)"
    }
}

/// File and environment → one value per key, type-checked, with defaults filled in.
enum ConfigurationLoader {
    static func resolve(data: Data, file: String, environment: [String: String]) throws -> [String: ConfigValue] {
        let root: JSONNode
        do {
            let decoder = JSONDecoder()
            decoder.allowsJSON5 = true
            root = try decoder.decode(JSONNode.self, from: data)
        } catch {
            throw ConfigurationError(key: nil, "\(file) is not valid JSON: \(Self.describe(error))")
        }
        guard case .object = root else {
            throw ConfigurationError(key: nil, "\(file) must hold a JSON object")
        }
        var values: [String: ConfigValue] = [:]
        for key in ConfigurationSchema.keys { values[key.path] = key.defaultValue }
        try flatten(root, prefix: "", into: &values)
        try applyEnvironment(environment, to: &values)
        return values
    }

    private static func flatten(_ node: JSONNode, prefix: String, into values: inout [String: ConfigValue]) throws {
        guard case .object(let members) = node else { return }
        for (name, child) in members.sorted(by: { $0.key < $1.key }) {
            let path = prefix.isEmpty ? name : "\(prefix).\(name)"
            if ConfigurationSchema.sections.contains(path) {
                guard case .object = child else {
                    throw ConfigurationError(key: path, "must be an object (a section)")
                }
                try flatten(child, prefix: path, into: &values)
            } else if let key = ConfigurationSchema.keys.first(where: { $0.path == path }) {
                values[path] = try convert(child, for: key)
            } else {
                throw ConfigurationError(key: path, "unknown key" + suggestion(for: path))
            }
        }
    }

    private static func convert(_ node: JSONNode, for key: ConfigKey) throws -> ConfigValue {
        switch (key.kind, node) {
        case (.string, .string(let text)):
            return .string(text)
        case (.optionalPath, .string(let text)) where !text.isEmpty:
            return .string(text)
        case (.optionalPath, .null):
            return .null
        case (.integer(let range), .number(let number)):
            guard let integer = Int(exactly: number) else {
                throw ConfigurationError(key: key.path, "must be a whole number, got \(number)")
            }
            guard range.contains(integer) else {
                throw ConfigurationError(
                    key: key.path, "must be between \(range.lowerBound) and \(range.upperBound), got \(integer)")
            }
            return .integer(integer)
        case (.boolean, .bool(let flag)):
            return .boolean(flag)
        case (.strings, .array(let items)):
            return .strings(
                try items.map { item in
                    guard case .string(let text) = item else {
                        throw ConfigurationError(key: key.path, "must be a list of strings")
                    }
                    return text
                })
        default:
            throw ConfigurationError(key: key.path, "must be \(expected(key.kind))")
        }
    }

    private static func applyEnvironment(_ environment: [String: String], to values: inout [String: ConfigValue]) throws
    {
        let byName = Dictionary(uniqueKeysWithValues: ConfigurationSchema.keys.map { ($0.environmentName, $0) })
        for (name, text) in environment.sorted(by: { $0.key < $1.key })
        where name.hasPrefix("TESSERA_") && name != "TESSERA_CONFIG" {
            guard let key = byName[name] else {
                throw ConfigurationError(key: nil, "unknown environment variable \(name)")
            }
            let node: JSONNode
            switch key.kind {
            case .string, .optionalPath: node = .string(text)
            case .integer:
                guard let number = Int(text) else {
                    throw ConfigurationError(
                        key: key.path, "environment variable \(name) must be a whole number, got '\(text)'")
                }
                node = .number(Double(number))
            case .boolean:
                guard text == "true" || text == "false" else {
                    throw ConfigurationError(key: key.path, "environment variable \(name) must be true or false")
                }
                node = .bool(text == "true")
            case .strings:
                node = .array(
                    text.split(separator: ",").map { .string(String($0).trimmingCharacters(in: .whitespaces)) })
            }
            values[key.path] = try convert(node, for: key)
        }
    }

    private static func expected(_ kind: ConfigKey.Kind) -> String {
        switch kind {
        case .string: "a string"
        case .integer: "a whole number"
        case .boolean: "true or false"
        case .strings: "a list of strings"
        case .optionalPath: "a file path or null"
        }
    }

    private static func suggestion(for path: String) -> String {
        let leaf = path.split(separator: ".").last.map(String.init) ?? path
        if let near = ConfigurationSchema.keys.first(where: { $0.path.hasSuffix("." + leaf) }) {
            return " (did you mean \(near.path)?)"
        }
        return ""
    }

    private static func describe(_ error: any Error) -> String {
        if case DecodingError.dataCorrupted(let context) = error {
            let underlying = (context.underlyingError as? NSError)?.userInfo[NSDebugDescriptionErrorKey] as? String
            return underlying ?? context.debugDescription
        }
        return String(describing: error)
    }
}

/// A parsed JSON value, decoded generically so unknown keys can be reported by name.
enum JSONNode: Decodable, Equatable {
    case object([String: JSONNode]), array([JSONNode]), string(String), number(Double), bool(Bool), null

    private struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    init(from decoder: any Decoder) throws {
        if let object = try? decoder.container(keyedBy: Key.self) {
            var members: [String: JSONNode] = [:]
            for key in object.allKeys { members[key.stringValue] = try object.decode(JSONNode.self, forKey: key) }
            self = .object(members)
        } else if var array = try? decoder.unkeyedContainer() {
            var items: [JSONNode] = []
            while !array.isAtEnd { items.append(try array.decode(JSONNode.self)) }
            self = .array(items)
        } else {
            let value = try decoder.singleValueContainer()
            if value.decodeNil() {
                self = .null
            } else if let flag = try? value.decode(Bool.self) {
                self = .bool(flag)
            } else if let number = try? value.decode(Double.self) {
                self = .number(number)
            } else {
                self = .string(try value.decode(String.self))
            }
        }
    }
}
