/// The kinds of account-driven enrolment a discovery answer offers (PROTOCOLS.md §1.1).
public enum AccountDrivenEnrolment: String, Sendable, CaseIterable {
    /// User Enrolment: a personal device, the organisation sees only the managed scope.
    case user = "mdm-byod"
    /// Account-driven Device Enrolment: an organisation device.
    case device = "mdm-adde"
}

/// The `model-family` a device names in its discovery request.
public enum ModelFamily: String, Sendable, CaseIterable {
    case appleTV = "AppleTV"
    case iPad
    case iPhone
    case mac = "Mac"
    case realityDevice = "RealityDevice"
    case watch = "Watch"

    /// The family of a hardware model as a device reports it in `PRODUCT` (`iPhone15,2`, `iPad13,4`,
    /// `Mac14,2`, `MacBookPro18,3`, `iMac21,1`, `AppleTV14,1`, `Watch6,1`, `RealityDevice14,1`); nil for
    /// any other.
    public init?(product: String) {
        let prefixes: [(String, ModelFamily)] = [
            ("iPhone", .iPhone), ("iPad", .iPad), ("AppleTV", .appleTV), ("Watch", .watch),
            ("RealityDevice", .realityDevice), ("Mac", .mac), ("iMac", .mac), ("VirtualMac", .mac),
        ]
        guard let (_, family) = prefixes.first(where: { product.hasPrefix($0.0) }) else { return nil }
        self = family
    }

    /// The family named `text`, compared without case; nil for a name Apple does not send.
    public init?(named text: String) {
        guard let family = Self.allCases.first(where: { $0.rawValue.lowercased() == text.lowercased() }) else {
            return nil
        }
        self = family
    }
}

/// One line of the discovery policy: `<managed domain> [<model family>…] [role=<role>…]: <mdm-byod|mdm-adde>`,
/// e.g. `appleid.example.com Mac: mdm-adde`. A rule matches an identifier of its domain; when it names
/// model families, only those; when it names roles, only accounts holding one of them.
public struct DiscoveryRule: Sendable, Equatable, CustomStringConvertible {
    public var domain: String
    public var families: Set<ModelFamily>
    public var roles: Set<Role>
    public var enrolment: AccountDrivenEnrolment

    public init(
        domain: String, families: Set<ModelFamily> = [], roles: Set<Role> = [], enrolment: AccountDrivenEnrolment
    ) {
        self.domain = domain.lowercased()
        self.families = families
        self.roles = roles
        self.enrolment = enrolment
    }

    /// Parses one rule; the domain must be one of `managedDomains`.
    /// - Throws: `CoreError.invalidInput` naming what is wrong.
    public init(parsing text: String, managedDomains: ManagedDomains) throws {
        func invalid(_ reason: String) -> CoreError {
            CoreError(.invalidInput, "discovery_rule.invalid", "discovery rule '\(text)': \(reason)")
        }
        guard let colon = text.lastIndex(of: ":") else {
            throw invalid("expected '<domain> [model families] [role=…]: mdm-byod|mdm-adde'")
        }
        let kind = text[text.index(after: colon)...].split(whereSeparator: { $0 == " " || $0 == "\t" }).joined(
            separator: " ")
        guard let enrolment = AccountDrivenEnrolment(rawValue: kind.lowercased()) else {
            throw invalid("'\(kind)' is neither mdm-byod nor mdm-adde")
        }
        let words = text[..<colon].split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        guard let domain = words.first?.lowercased() else { throw invalid("no managed domain") }
        guard managedDomains.contains(domain) else {
            throw invalid(
                "'\(domain)' is not one of the managed domains (\(managedDomains.names.joined(separator: ", ")))")
        }
        var families = Set<ModelFamily>()
        var roles = Set<Role>()
        for word in words.dropFirst() {
            if word.lowercased().hasPrefix("role=") {
                do {
                    roles.insert(try Role(parsing: String(word.dropFirst("role=".count))))
                } catch {
                    throw invalid((error as? CoreError)?.message ?? "\(error)")
                }
            } else if let family = ModelFamily(named: word) {
                guard families.insert(family).inserted else { throw invalid("\(family.rawValue) is named twice") }
            } else {
                throw invalid(
                    "'\(word)' is neither a model family (\(ModelFamily.allCases.map(\.rawValue).joined(separator: ", "))) nor role=<role>"
                )
            }
        }
        self.init(domain: domain, families: families, roles: roles, enrolment: enrolment)
    }

    public var description: String {
        ([domain] + ModelFamily.allCases.filter(families.contains).map(\.rawValue)
            + Role.allCases.filter(roles.contains).map { "role=\($0.rawValue)" }).joined(separator: " ")
            + ": " + enrolment.rawValue
    }

    func matches(domain: String, family: ModelFamily?, roles accountRoles: Set<Role>) -> Bool {
        guard domain == self.domain else { return false }
        if !families.isEmpty {
            guard let family, families.contains(family) else { return false }
        }
        return roles.isEmpty || !roles.isDisjoint(with: accountRoles)
    }
}

/// Which enrolment a device is offered for a user identifier (PROTOCOLS.md §1.1): the first rule that
/// matches, in order; none means Tessera does not enrol that identifier.
public struct DiscoveryPolicy: Sendable, Equatable {
    public var rules: [DiscoveryRule]

    public init(rules: [DiscoveryRule]) { self.rules = rules }

    /// The user identifier split at its **last** `@`, as devices do; the domain lower-cased. Nil when
    /// there is no `@` or either side is empty.
    public static func split(_ identifier: String) -> (user: String, domain: String)? {
        guard let at = identifier.lastIndex(of: "@") else { return nil }
        let user = String(identifier[..<at])
        let domain = String(identifier[identifier.index(after: at)...]).lowercased()
        guard !user.isEmpty, !domain.isEmpty else { return nil }
        return (user, domain)
    }

    /// - Parameters:
    ///   - domain: the identifier's domain (lower-cased).
    ///   - family: the device's model family, if it named one Apple sends.
    ///   - roles: the roles of the identifier's active account; empty when there is none.
    public func enrolment(domain: String, family: ModelFamily?, roles: Set<Role>) -> AccountDrivenEnrolment? {
        rules.first { $0.matches(domain: domain, family: family, roles: roles) }?.enrolment
    }
}
