public import TesseraCore
public import TesseraStore

/// Service discovery for account-driven enrolment (PROTOCOLS.md §1.1): which enrolment, at which
/// enrolment URL, a device is offered for the identifier its user typed.
///
/// The answer depends on the identifier's domain and the device's model family, and on the account's
/// roles only where a rule names roles: an identifier of a managed domain without an account (yet: a
/// directory account is made at its first sign-in) gets the domain's answer, so discovery does not tell
/// who has an account.
public struct DiscoveryService: Sendable {
    public enum Answer: Sendable, Equatable {
        case enrol(AccountDrivenEnrolment, baseURL: String)
        /// Tessera does not enrol this identifier (or device); the reason is for the device's log.
        case refused(String)
    }

    let policy: DiscoveryPolicy
    let baseURL: String
    let managedDomains: ManagedDomains
    let store: any Store

    /// - Parameter baseURL: Tessera's enrolment URL; the answer's `BaseURL` is `<baseURL>/byod` or
    ///   `<baseURL>/adde`, so the enrolment endpoint knows which kind discovery offered.
    public init(policy: DiscoveryPolicy, baseURL: String, managedDomains: ManagedDomains, store: any Store) {
        self.policy = policy
        self.baseURL = baseURL
        self.managedDomains = managedDomains
        self.store = store
    }

    /// - Parameters:
    ///   - identifier: the `user-identifier` the device sent, split at its last `@`.
    ///   - modelFamily: the `model-family` it sent; a family Apple does not send matches only rules that
    ///     name none.
    /// - Throws: when the store cannot answer a rule that depends on roles.
    public func discover(identifier: String, modelFamily: String?) async throws -> Answer {
        guard let (_, domain) = DiscoveryPolicy.split(identifier) else {
            return .refused("the user identifier is not of the form name@domain")
        }
        guard managedDomains.contains(domain) else {
            return .refused("\(ManagedAccountID.printable(domain)) is not a domain this organisation manages")
        }
        let managedID = try? ManagedAccountID(identifier, managedDomains: managedDomains)
        guard
            let enrolment = try await enrolment(
                domain: domain, family: modelFamily.flatMap(ModelFamily.init(named:)), managedID: managedID)
        else {
            return .refused("no enrolment is offered for \(domain) to this device")
        }
        return .enrol(enrolment, baseURL: baseURL + "/" + enrolment.urlPathComponent)
    }

    /// Whether discovery offers `kind` to the account `managedID` on a device of the hardware model
    /// `product` (its `PRODUCT`): checked again when the signed-in device asks for its profile, since a
    /// device (or a person with a token) can POST to either enrolment URL.
    /// - Throws: when the store cannot answer a rule that depends on roles.
    public func offers(_ kind: AccountDrivenEnrolment, to managedID: ManagedAccountID, product: String?)
        async throws -> Bool
    {
        try await enrolment(
            domain: managedID.domain, family: product.flatMap(ModelFamily.init(product:)), managedID: managedID)
            == kind
    }

    /// The first rule's answer; the account's roles are read only when a rule of the domain names roles.
    private func enrolment(domain: String, family: ModelFamily?, managedID: ManagedAccountID?) async throws
        -> AccountDrivenEnrolment?
    {
        var roles = Set<Role>()
        if policy.rules.contains(where: { $0.domain == domain && !$0.roles.isEmpty }), let managedID,
            let account = try await store.read({ try $0.account(managedID: managedID) }), account.state == .active
        {
            roles = account.effectiveRoles
        }
        return policy.enrolment(domain: domain, family: family, roles: roles)
    }
}

extension AccountDrivenEnrolment {
    /// The last path component of this kind's enrolment URL, under `enrolment.base_url`.
    public var urlPathComponent: String {
        switch self {
        case .user: "byod"
        case .device: "adde"
        }
    }
}
