public import TesseraCore

/// A failure of the directory as a source of people, in the terms callers act on.
public struct DirectoryError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        /// Unknown name, wrong or empty password, several entries for one name, or a disabled entry: the
        /// caller must not tell these apart.
        case rejected
        /// The directory cannot be reached or did not answer (`503`, never "wrong password").
        case unavailable
        /// An entry lacks what the mapping needs, or maps to an invalid managed ID.
        case invalidEntry
        /// The mapping or connection settings cannot work.
        case configuration
    }

    public var kind: Kind
    public var message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { "DirectoryError.\(kind.rawValue): \(message)" }
}

/// A person as the directory describes them, mapped to Tessera's terms.
public struct DirectoryPerson: Sendable, Equatable {
    public var dn: String
    /// The directory's stable identifier (entryUUID, objectGUID as a UUID string): the key of sync.
    public var stableID: String
    public var managedID: ManagedAccountID
    public var givenName: String
    public var familyName: String
    public var email: String?
    public var employeeNumber: String?
    public var department: String?
    public var roles: Set<Role>
    /// Disabled in the directory (Active Directory's `userAccountControl` ACCOUNTDISABLE bit).
    public var isDisabled: Bool
}

/// Which groups grant which roles.
public struct GroupMapping: Sendable, Equatable {
    public enum Membership: Sendable, Equatable {
        /// Groups list members by DN in this attribute (`member` of `groupOfNames` or an AD `group`).
        /// Nested groups are followed by searching again for each group found, up to `maximumDepth`.
        case memberAttribute(String)
        /// Active Directory: one search with the in-chain matching rule (1.2.840.113556.1.4.1941),
        /// which resolves nested groups on the server.
        case activeDirectoryInChain
    }

    public static let maximumDepth = 8

    public var base: String
    /// Which entries are groups, e.g. `(objectClass=groupOfNames)`.
    public var filter: String
    public var membership: Membership
    /// Group DN → role. Administrator and People Manager never come from a directory.
    public var roles: [String: Role]

    public init(base: String, filter: String, membership: Membership, roles: [String: Role]) {
        self.base = base
        self.filter = filter
        self.membership = membership
        self.roles = roles
    }
}

/// How directory entries become managed accounts. `openLDAP` and `activeDirectory` give the usual
/// attribute choices; every field can be set on its own.
public struct DirectoryMapping: Sendable, Equatable {
    public enum ManagedIDRule: Sendable, Equatable {
        /// `value@domain`, e.g. `uid` or `sAMAccountName` and a managed domain.
        case attributeAtDomain(attribute: String, domain: String)
        /// The attribute holds the whole managed ID (e.g. `mail`, `userPrincipalName`); its domain must
        /// be a managed domain.
        case attribute(String)
    }

    public enum StableIDEncoding: String, Sendable {
        /// A string attribute (OpenLDAP's `entryUUID`).
        case text
        /// Active Directory's binary `objectGUID`, written as a UUID string.
        case activeDirectoryGUID = "active-directory-guid"
    }

    public var userBase: String
    public var userScope: LDAPConnection.Scope
    /// Which entries are people, e.g. `(objectClass=inetOrgPerson)`.
    public var userFilter: String
    /// The attribute a sign-in name is matched against (`uid`, `sAMAccountName`).
    public var loginAttribute: String
    public var managedID: ManagedIDRule
    public var stableID: String
    public var stableIDEncoding: StableIDEncoding
    public var givenName: String
    public var familyName: String
    public var email: String?
    public var employeeNumber: String?
    public var department: String?
    /// Read Active Directory's `userAccountControl` and treat the ACCOUNTDISABLE bit as deactivated.
    public var activeDirectoryAccountControl: Bool
    public var groups: GroupMapping?
    /// When an entry last changed (`modifyTimestamp`, AD `whenChanged`): incremental syncs ask for
    /// entries changed since the last run.
    public var modifiedAttribute: String

    /// `inetOrgPerson` entries: `uid@domain`, `entryUUID`, `givenName`/`sn`, `mail`, `employeeNumber`,
    /// `departmentNumber`; groups are `groupOfNames` with `member`.
    public static func openLDAP(userBase: String, domain: String, groupBase: String? = nil, roles: [String: Role] = [:])
        -> DirectoryMapping
    {
        DirectoryMapping(
            userBase: userBase, userScope: .subtree, userFilter: "(objectClass=inetOrgPerson)", loginAttribute: "uid",
            managedID: .attributeAtDomain(attribute: "uid", domain: domain), stableID: "entryUUID",
            stableIDEncoding: .text, givenName: "givenName", familyName: "sn", email: "mail",
            employeeNumber: "employeeNumber", department: "departmentNumber", activeDirectoryAccountControl: false,
            groups: groupBase.map {
                GroupMapping(
                    base: $0, filter: "(objectClass=groupOfNames)", membership: .memberAttribute("member"), roles: roles
                )
            })
    }

    /// Active Directory `user` entries: `sAMAccountName@domain`, binary `objectGUID`, `givenName`/`sn`,
    /// `mail`, `employeeID`, `department`, `userAccountControl`; nested groups resolved by the server.
    public static func activeDirectory(
        userBase: String, domain: String, groupBase: String? = nil, roles: [String: Role] = [:]
    ) -> DirectoryMapping {
        DirectoryMapping(
            userBase: userBase, userScope: .subtree,
            userFilter: "(&(objectCategory=person)(objectClass=user))", loginAttribute: "sAMAccountName",
            managedID: .attributeAtDomain(attribute: "sAMAccountName", domain: domain), stableID: "objectGUID",
            stableIDEncoding: .activeDirectoryGUID, givenName: "givenName", familyName: "sn", email: "mail",
            employeeNumber: "employeeID", department: "department", activeDirectoryAccountControl: true,
            groups: groupBase.map {
                GroupMapping(base: $0, filter: "(objectClass=group)", membership: .activeDirectoryInChain, roles: roles)
            }, modifiedAttribute: "whenChanged")
    }

    public init(
        userBase: String, userScope: LDAPConnection.Scope, userFilter: String, loginAttribute: String,
        managedID: ManagedIDRule, stableID: String, stableIDEncoding: StableIDEncoding, givenName: String,
        familyName: String, email: String?, employeeNumber: String?, department: String?,
        activeDirectoryAccountControl: Bool, groups: GroupMapping?, modifiedAttribute: String = "modifyTimestamp"
    ) {
        self.modifiedAttribute = modifiedAttribute
        self.userBase = userBase
        self.userScope = userScope
        self.userFilter = userFilter
        self.loginAttribute = loginAttribute
        self.managedID = managedID
        self.stableID = stableID
        self.stableIDEncoding = stableIDEncoding
        self.givenName = givenName
        self.familyName = familyName
        self.email = email
        self.employeeNumber = employeeNumber
        self.department = department
        self.activeDirectoryAccountControl = activeDirectoryAccountControl
        self.groups = groups
    }

    /// The attributes a person's entry is read with.
    public var attributes: [String] {
        var names = [stableID, givenName, familyName, loginAttribute]
        switch managedID {
        case .attributeAtDomain(let attribute, _), .attribute(let attribute): names.append(attribute)
        }
        names += [email, employeeNumber, department].compactMap { $0 }
        if activeDirectoryAccountControl { names.append("userAccountControl") }
        var seen = Set<String>()
        return names.filter { seen.insert($0.lowercased()).inserted }
    }

    /// Checks every attribute name and filter, the managed domain, and that no group grants a privileged
    /// role (PROTOCOLS.md §3: administrators and people managers are always local).
    public func validate(managedDomains: ManagedDomains) throws(DirectoryError) {
        for name in attributes + [modifiedAttribute] where !LDAPFilter.isAttributeDescription(name) {
            throw DirectoryError(.configuration, "'\(name)' is not an LDAP attribute name")
        }
        for filter in [userFilter] + (groups.map { [$0.filter] } ?? []) where !Self.isParenthesised(filter) {
            throw DirectoryError(.configuration, "LDAP filter \(filter) must be one parenthesised filter")
        }
        if case .attributeAtDomain(_, let domain) = managedID, !managedDomains.contains(domain) {
            throw DirectoryError(.configuration, "\(domain) is not a managed domain")
        }
        if let groups {
            if case .memberAttribute(let attribute) = groups.membership, !LDAPFilter.isAttributeDescription(attribute) {
                throw DirectoryError(.configuration, "'\(attribute)' is not an LDAP attribute name")
            }
            for (group, role) in groups.roles where role.isPrivileged {
                throw DirectoryError(
                    .configuration,
                    "group \(group) cannot grant \(role.rawValue): that role is never given by a directory")
            }
        }
    }

    /// The filter that finds the entry a person signs in with. `name` is what they typed: their
    /// directory sign-in name (matched against `loginAttribute`), or their managed ID (matched against
    /// the attribute the managed ID is made of).
    public func signInFilter(username name: String) -> String {
        var attribute = loginAttribute
        var value = name
        if let at = name.lastIndex(of: "@") {
            switch managedID {
            case .attributeAtDomain(let source, let domain)
            where name[name.index(after: at)...].lowercased() == domain.lowercased():
                attribute = source
                value = String(name[..<at])
            case .attribute(let source):
                attribute = source
            case .attributeAtDomain:
                break  // another domain: a sign-in name with an @ (a userPrincipalName, say)
            }
        }
        return "(&\(userFilter)\(LDAPFilter.equals(attribute, value)))"
    }

    /// The entry as a person, with the roles of `groupDNs` (the groups the entry belongs to).
    public func person(from entry: LDAPEntry, groupDNs: [String], managedDomains: ManagedDomains) throws(DirectoryError)
        -> DirectoryPerson
    {
        let roleIndex = roleIndex
        return try person(
            from: entry, roles: Set(groupDNs.compactMap { roleIndex[Self.normalisedDN($0)] }),
            managedDomains: managedDomains)
    }

    /// `person` with the roles its groups grant worked out by the caller (once per group for a whole
    /// directory).
    public func person(from entry: LDAPEntry, roles: Set<Role>, managedDomains: ManagedDomains)
        throws(DirectoryError) -> DirectoryPerson
    {
        func required(_ name: String) throws(DirectoryError) -> String {
            guard let value = entry.string(name), !value.isEmpty else {
                throw DirectoryError(.invalidEntry, "\(entry.dn) has no \(name)")
            }
            return value
        }
        let stable: String
        switch stableIDEncoding {
        case .text: stable = try required(stableID)
        case .activeDirectoryGUID:
            guard let bytes = entry.values(stableID).first, let guid = Self.activeDirectoryGUID(bytes) else {
                throw DirectoryError(.invalidEntry, "\(entry.dn) has no 16-byte \(stableID)")
            }
            stable = guid
        }
        let text: String
        switch managedID {
        case .attributeAtDomain(let attribute, let domain): text = try required(attribute) + "@" + domain
        case .attribute(let attribute): text = try required(attribute)
        }
        let managed: ManagedAccountID
        do {
            managed = try ManagedAccountID(text, managedDomains: managedDomains)
        } catch {
            throw DirectoryError(.invalidEntry, "\(entry.dn): \(error)")
        }
        var disabled = false
        if activeDirectoryAccountControl {
            guard let flags = entry.string("userAccountControl").flatMap({ Int($0) }) else {
                throw DirectoryError(.invalidEntry, "\(entry.dn) has no numeric userAccountControl")
            }
            disabled = flags & 0x2 != 0  // ACCOUNTDISABLE
        }
        // The account rules apply to what a directory says as to what an administrator types: names
        // must pass (else the entry is unusable); an optional value that does not is left out.
        func name(_ attribute: String, _ field: String) throws(DirectoryError) -> String {
            do {
                return try AccountFieldRules.text(try required(attribute), field: field, required: true)!
            } catch let error as DirectoryError {
                throw error
            } catch {
                throw DirectoryError(.invalidEntry, "\(entry.dn): \(error)")
            }
        }
        func optional(_ attribute: String?, _ field: String) -> String? {
            guard let value = attribute.flatMap({ entry.string($0) }) else { return nil }
            return field == "email"
                ? (try? AccountFieldRules.email(value)) ?? nil
                : (try? AccountFieldRules.text(value, field: field, required: false)) ?? nil
        }
        return DirectoryPerson(
            dn: entry.dn, stableID: stable, managedID: managed, givenName: try name(givenName, "given_name"),
            familyName: try name(familyName, "family_name"), email: optional(email, "email"),
            employeeNumber: optional(employeeNumber, "employee_number"), department: optional(department, "department"),
            roles: roles, isDisabled: disabled)
    }

    /// The entry's stable id as the mapping reads it, if it has one.
    public func stableID(of entry: LDAPEntry) -> String? {
        switch stableIDEncoding {
        case .text: return entry.string(stableID).flatMap { $0.isEmpty ? nil : $0 }
        case .activeDirectoryGUID: return entry.values(stableID).first.flatMap(Self.activeDirectoryGUID)
        }
    }

    /// Active Directory's `objectGUID`: the first three fields are little-endian.
    public static func activeDirectoryGUID(_ bytes: [UInt8]) -> String? {
        guard bytes.count == 16 else { return nil }
        let order = [3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15]
        let hex = order.map { index -> String in
            let text = String(bytes[index], radix: 16)
            return text.count == 1 ? "0" + text : text
        }
        return [hex[0..<4], hex[4..<6], hex[6..<8], hex[8..<10], hex[10..<16]].map { $0.joined() }.joined(
            separator: "-")
    }

    /// A DN for comparison: ASCII letters lower-cased, without spaces around `,` and `=` (RFC 4514
    /// allows them in configuration; servers return DNs without). One pass over the bytes: a sync
    /// compares every member of every group.
    public static func normalisedDN(_ dn: String) -> String {
        var dn = dn
        return dn.withUTF8 { bytes in
            String(unsafeUninitializedCapacity: bytes.count) { out in
                var count = 0
                var afterSeparator = true  // drop spaces at the start and after `,` or `=`
                for byte in bytes {
                    switch byte {
                    case UInt8(ascii: " ") where afterSeparator:
                        continue
                    case UInt8(ascii: ","), UInt8(ascii: "="):
                        while count > 0, out[count - 1] == UInt8(ascii: " ") { count -= 1 }  // spaces before it
                        out[count] = byte
                        afterSeparator = true
                    case UInt8(ascii: "A")...UInt8(ascii: "Z"):
                        out[count] = byte | 0x20
                        afterSeparator = false
                    default:
                        out[count] = byte
                        afterSeparator = false
                    }
                    count += 1
                }
                while count > 0, out[count - 1] == UInt8(ascii: " ") { count -= 1 }
                return count
            }
        }
    }

    /// Group DN (normalised) → role, built once for many people.
    public var roleIndex: [String: Role] {
        var index: [String: Role] = [:]
        for (group, role) in groups?.roles ?? [:] { index[Self.normalisedDN(group)] = role }
        return index
    }

    static func isParenthesised(_ filter: String) -> Bool {
        guard filter.hasPrefix("("), filter.hasSuffix(")") else { return false }
        var depth = 0
        var escaped = false
        for (offset, character) in filter.enumerated() {
            if escaped {
                escaped = false
                continue
            }
            switch character {
            case "\\": escaped = true
            case "(": depth += 1
            case ")":
                depth -= 1
                if depth == 0 && offset != filter.count - 1 { return false }
                if depth < 0 { return false }
            default: break
            }
        }
        return depth == 0
    }
}
