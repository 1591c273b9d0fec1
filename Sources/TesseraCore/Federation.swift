#if canImport(FoundationEssentials)
    public import FoundationEssentials
#else
    public import Foundation
#endif

/// A person as a directory vouches for them once it has checked their password.
public struct DirectoryIdentity: Sendable, Equatable {
    public var source: AccountSource
    /// The directory's stable id (entryUUID, objectGUID): what the account is keyed by, so a rename in
    /// the directory renames the account instead of making a second one.
    public var externalID: String
    public var managedID: ManagedAccountID
    public var givenName: String
    public var familyName: String
    public var email: String?
    public var employeeNumber: String?
    public var department: String?
    /// Never Administrator or People Manager (PROTOCOLS.md §3).
    public var roles: Set<Role>
    /// The directory describes the person (names, roles…), so their account is created or refreshed from
    /// it. False for a source that only proves who signs in (a Kerberos realm without an LDAP
    /// directory): the account must exist already, and its profile stays what Tessera holds.
    public private(set) var describesPerson = true

    public init(
        source: AccountSource, externalID: String, managedID: ManagedAccountID, givenName: String, familyName: String,
        email: String? = nil, employeeNumber: String? = nil, department: String? = nil, roles: Set<Role> = []
    ) {
        self.source = source
        self.externalID = externalID
        self.managedID = managedID
        self.givenName = givenName
        self.familyName = familyName
        self.email = email
        self.employeeNumber = employeeNumber
        self.department = department
        self.roles = roles
    }

    /// Who signed in, from a source that says nothing else about them (see `describesPerson`).
    public static func signInOnly(source: AccountSource, externalID: String, managedID: ManagedAccountID) -> Self {
        var identity = DirectoryIdentity(
            source: source, externalID: externalID, managedID: managedID, givenName: "", familyName: "")
        identity.describesPerson = false
        return identity
    }
}

/// A directory that checks people's passwords (LDAP, a Kerberos realm).
public protocol PasswordDirectory: Sendable {
    /// The source of the accounts it vouches for.
    var source: AccountSource { get }

    /// Checks `password` for `name`, which is what the person typed: their managed ID or their
    /// directory sign-in name.
    /// - Throws: `CoreError.unauthenticated` for every refusal (one answer for unknown names, wrong
    ///   passwords and disabled entries); `CoreError.unavailable` when the directory cannot answer.
    func authenticate(_ name: String, password: String) async throws -> DirectoryIdentity
}

/// A directory that vouches for people by a Kerberos ticket sent through SPNEGO (RFC 4559).
public protocol TicketDirectory: Sendable {
    /// The person a `Negotiate` token proves, and a token for the reply (mutual authentication), if any.
    /// - Throws: `CoreError.unauthenticated` for a token it does not accept or a principal it does not
    ///   know; `CoreError.unavailable` when it cannot answer.
    func authenticate(negotiateToken: [UInt8]) async throws -> (identity: DirectoryIdentity, reply: [UInt8]?)
}

extension Account {
    /// A new account for a person a directory vouched for (just-in-time provisioning): no Tessera
    /// password, the directory's roles.
    public static func provisioned(from identity: DirectoryIdentity, id: String, at now: Date) -> Account {
        Account(
            id: id, managedID: identity.managedID, givenName: identity.givenName, familyName: identity.familyName,
            email: identity.email, employeeNumber: identity.employeeNumber, department: identity.department,
            roles: identity.roles.filter { !$0.isPrivileged }, source: identity.source, externalID: identity.externalID,
            createdAt: now, updatedAt: now)
    }

    /// This account with the directory's current view of the person: managed ID (a rename in the
    /// directory renames the account), names, email, employee number, department and roles. Unchanged
    /// (same version) when nothing differs.
    public func refreshed(from identity: DirectoryIdentity, at now: Date) -> Account {
        var next = self
        next.managedID = identity.managedID
        next.givenName = identity.givenName
        next.familyName = identity.familyName
        next.email = identity.email
        next.employeeNumber = identity.employeeNumber
        next.department = identity.department
        next.roles = identity.roles.filter { !$0.isPrivileged }
        next.externalID = identity.externalID
        return next == self ? self : next.touched(at: now)
    }

    /// Whether a person a directory just vouched for may sign in to this account: it must come from
    /// that directory and be active and unlocked in Tessera (an administrator may have deactivated it).
    public func checkDirectorySignInAllowed(from source: AccountSource) throws {
        guard self.source == source else {
            throw CoreError(
                .unauthenticated, "sign_in.source_mismatch",
                "account \(managedID) is a \(self.source.rawValue) account, not one of the \(source.rawValue) directory"
            )
        }
        guard state == .active else {
            throw CoreError(.unauthenticated, "sign_in.deactivated", "account is deactivated")
        }
        guard !isLocked else {
            throw CoreError(.unauthenticated, "sign_in.locked", "account is locked")
        }
    }
}
