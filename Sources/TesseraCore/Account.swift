#if canImport(FoundationEssentials)
    public import FoundationEssentials
#else
    public import Foundation
#endif

/// Where an account comes from. Only `local` accounts hold a Tessera password.
public enum AccountSource: String, Sendable, CaseIterable, Codable {
    case local, ldap, kerberos, scim

    public init(parsing text: String) throws {
        guard let source = AccountSource(rawValue: text.lowercased()) else {
            throw CoreError(
                .invalidInput, "account.source_unknown",
                "unknown source '\(ManagedAccountID.printable(text))' (sources: \(Self.allCases.map(\.rawValue).joined(separator: ", ")))"
            )
        }
        self = source
    }
}

public enum AccountState: String, Sendable, CaseIterable, Codable {
    case active, deactivated

    public init(parsing text: String) throws {
        guard let state = AccountState(rawValue: text.lowercased()) else {
            throw CoreError(
                .invalidInput, "account.state_unknown",
                "unknown state '\(ManagedAccountID.printable(text))' (states: active, deactivated)")
        }
        self = state
    }
}

/// A local account's password: a PHC string, never the password itself.
public struct PasswordCredential: Sendable, Equatable {
    public var hash: String
    /// A temporary password must be changed at the first sign-in.
    public var isTemporary: Bool
    /// When a temporary password stops working.
    public var expiresAt: Date?

    public init(hash: String, isTemporary: Bool, expiresAt: Date?) {
        self.hash = hash
        self.isTemporary = isTemporary
        self.expiresAt = expiresAt
    }
}

/// A managed account (DESIGN.md "Domain in one page").
public struct Account: Sendable, Equatable, Identifiable {
    public var id: String
    public var managedID: ManagedAccountID
    public var givenName: String
    public var familyName: String
    public var email: String?
    public var employeeNumber: String?
    public var department: String?
    public var roles: Set<Role>
    public var source: AccountSource
    /// The directory's stable identifier (entryUUID, objectGUID, SCIM externalId).
    public var externalID: String?
    public var state: AccountState
    public var credential: PasswordCredential?
    public var failedLoginCount: Int
    public var lockedAt: Date?
    /// Incremented by every change; used for ETags and optimistic concurrency.
    public var version: Int
    public var createdAt: Date
    public var updatedAt: Date
    public var deactivatedAt: Date?

    public init(
        id: String, managedID: ManagedAccountID, givenName: String, familyName: String, email: String? = nil,
        employeeNumber: String? = nil, department: String? = nil, roles: Set<Role>, source: AccountSource,
        externalID: String? = nil, state: AccountState = .active, credential: PasswordCredential? = nil,
        failedLoginCount: Int = 0, lockedAt: Date? = nil, version: Int = 1, createdAt: Date, updatedAt: Date,
        deactivatedAt: Date? = nil
    ) {
        self.id = id
        self.managedID = managedID
        self.givenName = givenName
        self.familyName = familyName
        self.email = email
        self.employeeNumber = employeeNumber
        self.department = department
        self.roles = roles
        self.source = source
        self.externalID = externalID
        self.state = state
        self.credential = credential
        self.failedLoginCount = failedLoginCount
        self.lockedAt = lockedAt
        self.version = version
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.deactivatedAt = deactivatedAt
    }

    public var isLocked: Bool { lockedAt != nil }

    /// The roles used for authority checks: an account without roles counts as Staff.
    public var effectiveRoles: Set<Role> { roles.isEmpty ? [.staff] : roles }
}
