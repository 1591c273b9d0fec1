import Foundation
import TesseraCore
public import TesseraDirectory

extension TesseraConfiguration {
    /// The `directory.ldap` section, when enabled.
    public struct LDAP: Sendable {
        public var connection: LDAPSettings
        public var bindDN: String
        /// Read when the runtime opens the directory; the password itself is never part of the configuration.
        public var bindPasswordFile: String
        public var poolSize: Int
        public var mapping: DirectoryMapping
        /// How often `tessera serve` syncs; nil: never (only `tessera sync ldap`).
        public var syncInterval: Duration?
        /// A scheduled sync is full when the last full one is older than this.
        public var fullSyncInterval: Duration
    }

    /// Builds the LDAP section from the checked values; nil when `directory.ldap.enabled` is false.
    /// Every problem names its key.
    static func ldap(_ values: [String: ConfigValue], managedDomains: ManagedDomains) throws -> LDAP? {
        func string(_ key: String) -> String {
            if case .string(let value) = values["directory.ldap." + key] { return value }
            return ""
        }
        func integer(_ key: String) -> Int {
            if case .integer(let value) = values["directory.ldap." + key] { return value }
            return 0
        }
        func required(_ key: String) throws -> String {
            let value = string(key)
            guard !value.isEmpty else { throw ConfigurationError(key: "directory.ldap." + key, "must be set") }
            return value
        }
        guard values["directory.ldap.enabled"] == .boolean(true) else { return nil }

        let transport: LDAPSettings.Transport
        switch string("transport") {
        case "ldaps": transport = .ldaps
        case "starttls": transport = .startTLS
        case "plaintext": transport = .plaintext
        default:
            throw ConfigurationError(
                key: "directory.ldap.transport",
                "unknown transport \(string("transport")); expected ldaps, starttls or plaintext")
        }
        let caFile = string("ca_file").isEmpty ? nil : string("ca_file")
        if let caFile, !FileManager.default.isReadableFile(atPath: caFile) {
            throw ConfigurationError(key: "directory.ldap.ca_file", "file \(caFile) does not exist or is not readable")
        }
        let connection = LDAPSettings(
            uri: try required("uri"), transport: transport, caFile: caFile,
            connectTimeout: .seconds(integer("connect_timeout_seconds")),
            operationTimeout: .seconds(integer("operation_timeout_seconds")))
        do {
            try connection.validate()
        } catch {
            throw ConfigurationError(
                key: error.message.contains("CA file") ? "directory.ldap.ca_file" : "directory.ldap.uri", error.message)
        }
        let passwordFile = try required("bind_password_file")
        guard FileManager.default.isReadableFile(atPath: passwordFile) else {
            throw ConfigurationError(
                key: "directory.ldap.bind_password_file", "file \(passwordFile) does not exist or is not readable")
        }

        let userBase = try required("user_base")
        let domain = string("managed_id_domain").isEmpty ? managedDomains.names[0] : string("managed_id_domain")
        var mapping: DirectoryMapping
        switch string("preset") {
        case "openldap": mapping = .openLDAP(userBase: userBase, domain: domain)
        case "active-directory": mapping = .activeDirectory(userBase: userBase, domain: domain)
        default:
            throw ConfigurationError(
                key: "directory.ldap.preset",
                "unknown preset \(string("preset")); expected openldap or active-directory")
        }
        if !string("user_filter").isEmpty { mapping.userFilter = string("user_filter") }
        if !string("login_attribute").isEmpty { mapping.loginAttribute = string("login_attribute") }
        let idAttribute: String
        switch mapping.managedID {
        case .attributeAtDomain(let attribute, _), .attribute(let attribute): idAttribute = attribute
        }
        let attribute = string("managed_id_attribute").isEmpty ? idAttribute : string("managed_id_attribute")
        mapping.managedID =
            domain == "*" ? .attribute(attribute) : .attributeAtDomain(attribute: attribute, domain: domain)
        if !string("attributes.stable_id").isEmpty {
            mapping.stableID = string("attributes.stable_id")
            mapping.stableIDEncoding = mapping.stableID.lowercased() == "objectguid" ? .activeDirectoryGUID : .text
        }
        if !string("attributes.given_name").isEmpty { mapping.givenName = string("attributes.given_name") }
        if !string("attributes.family_name").isEmpty { mapping.familyName = string("attributes.family_name") }
        if !string("attributes.email").isEmpty { mapping.email = string("attributes.email") }
        if !string("attributes.employee_number").isEmpty {
            mapping.employeeNumber = string("attributes.employee_number")
        }
        if !string("attributes.department").isEmpty { mapping.department = string("attributes.department") }

        var pairs: [String] = []
        if case .strings(let list) = values["directory.ldap.group_roles"] { pairs = list }
        if !pairs.isEmpty {
            let groupBase = string("group_base")
            guard !groupBase.isEmpty else {
                throw ConfigurationError(key: "directory.ldap.group_base", "must be set when group_roles lists groups")
            }
            var roles: [String: Role] = [:]
            for pair in pairs {
                guard let colon = pair.firstIndex(of: ":") else {
                    throw ConfigurationError(key: "directory.ldap.group_roles", "'\(pair)' is not \"role: group DN\"")
                }
                let group = pair[pair.index(after: colon)...].trimmingCharacters(in: .whitespaces)
                let role: Role
                do {
                    role = try Role(parsing: pair[..<colon].trimmingCharacters(in: .whitespaces))
                } catch let error as CoreError {
                    throw ConfigurationError(key: "directory.ldap.group_roles", error.message)
                }
                guard !group.isEmpty else {
                    throw ConfigurationError(key: "directory.ldap.group_roles", "'\(pair)' names no group DN")
                }
                guard
                    !roles.keys.contains(where: {
                        DirectoryMapping.normalisedDN($0) == DirectoryMapping.normalisedDN(group)
                    })
                else {
                    throw ConfigurationError(key: "directory.ldap.group_roles", "group \(group) is listed twice")
                }
                roles[group] = role
            }
            let preset =
                mapping.activeDirectoryAccountControl
                ? DirectoryMapping.activeDirectory(
                    userBase: userBase, domain: domain, groupBase: groupBase, roles: roles)
                : DirectoryMapping.openLDAP(userBase: userBase, domain: domain, groupBase: groupBase, roles: roles)
            mapping.groups = preset.groups
        }
        do {
            try mapping.validate(managedDomains: managedDomains)
        } catch {
            throw ConfigurationError(key: "directory.ldap", error.message)
        }
        return LDAP(
            connection: connection, bindDN: try required("bind_dn"), bindPasswordFile: passwordFile,
            poolSize: integer("pool_size"), mapping: mapping,
            syncInterval: integer("sync_interval_seconds") == 0 ? nil : .seconds(integer("sync_interval_seconds")),
            fullSyncInterval: .seconds(integer("full_sync_interval_hours") * 3600))
    }

    /// Builds the Kerberos section, and without LDAP the managed domain of the accounts principals
    /// sign in to; nil when `directory.kerberos.enabled` is false.
    static func kerberos(_ values: [String: ConfigValue], ldapEnabled: Bool, managedDomains: ManagedDomains) throws
        -> (settings: KerberosSettings, domain: String?)?
    {
        func string(_ key: String) -> String {
            if case .string(let value) = values["directory.kerberos." + key] { return value }
            return ""
        }
        guard values["directory.kerberos.enabled"] == .boolean(true) else { return nil }
        for key in ["default_realm", "keytab", "service_principal"] where string(key).isEmpty {
            throw ConfigurationError(key: "directory.kerberos." + key, "must be set")
        }
        for key in ["keytab", "config_file"] where !string(key).isEmpty {
            guard FileManager.default.isReadableFile(atPath: string(key)) else {
                throw ConfigurationError(
                    key: "directory.kerberos." + key, "file \(string(key)) does not exist or is not readable")
            }
        }
        var allowed: [String] = []
        if case .strings(let list) = values["directory.kerberos.allowed_realms"] { allowed = list }
        let attribute = string("principal_attribute")
        var domain: String?
        if ldapEnabled {
            guard string("managed_domain").isEmpty else {
                throw ConfigurationError(
                    key: "directory.kerberos.managed_domain",
                    "is for Kerberos without LDAP: with directory.ldap the directory's mapping makes the managed ID")
            }
        } else {
            // Without LDAP a principal names an account by rule, in the default realm only.
            for (key, isSet) in [("allowed_realms", !allowed.isEmpty), ("principal_attribute", !attribute.isEmpty)]
            where isSet {
                throw ConfigurationError(
                    key: "directory.kerberos." + key,
                    "needs directory.ldap.enabled: without a directory only the default realm's principals sign in")
            }
            let name =
                string("managed_domain").isEmpty ? managedDomains.names[0] : string("managed_domain").lowercased()
            guard managedDomains.contains(name) else {
                throw ConfigurationError(
                    key: "directory.kerberos.managed_domain",
                    "'\(name)' is not one of accounts.managed_domains (\(managedDomains.names.joined(separator: ", ")))"
                )
            }
            domain = name
        }
        guard allowed.isEmpty || !attribute.isEmpty else {
            throw ConfigurationError(
                key: "directory.kerberos.allowed_realms",
                "other realms need directory.kerberos.principal_attribute: a name alone is one person only in the default realm"
            )
        }
        guard attribute.isEmpty || LDAPFilter.isAttributeDescription(attribute) else {
            throw ConfigurationError(
                key: "directory.kerberos.principal_attribute", "'\(attribute)' is not an LDAP attribute name")
        }
        let settings = KerberosSettings(
            configFile: string("config_file").isEmpty ? nil : string("config_file"),
            defaultRealm: string("default_realm"), allowedRealms: allowed, keytab: string("keytab"),
            servicePrincipal: string("service_principal"), principalAttribute: attribute.isEmpty ? nil : attribute)
        return (settings, domain)
    }
}
