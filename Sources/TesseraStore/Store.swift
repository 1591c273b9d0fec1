public import TesseraCore

#if canImport(FoundationEssentials)
    public import FoundationEssentials
#else
    public import Foundation
#endif

/// Persistence for every service. A backend (SQLite now, PostgreSQL next) implements it; services
/// never see SQL.
///
/// Each call runs one transaction on the backend's own blocking threads: `write` takes the database's
/// write lock for its whole body (so a read-check-write inside it is atomic, across processes too),
/// commits when the body returns and rolls back when it throws.
public protocol Store: Sendable {
    func write<T: Sendable>(_ body: @escaping @Sendable (any StoreTransaction) throws -> T) async throws -> T
    func read<T: Sendable>(_ body: @escaping @Sendable (any StoreReader) throws -> T) async throws -> T
    /// Throws unless the database answers a trivial query (readiness probe).
    func checkReachable() async throws
}

/// Filters for listing accounts; results are ordered by managed ID.
public struct AccountQuery: Sendable, Equatable {
    public var state: AccountState?
    public var role: Role?
    public var source: AccountSource?
    /// Only managed IDs that start with this (lower-cased) text.
    public var managedIDPrefix: String?
    /// Keyset pagination: only managed IDs after this one.
    public var after: String?
    public var limit: Int?

    public init(
        state: AccountState? = nil, role: Role? = nil, source: AccountSource? = nil, managedIDPrefix: String? = nil,
        after: String? = nil, limit: Int? = nil
    ) {
        self.state = state
        self.role = role
        self.source = source
        self.managedIDPrefix = managedIDPrefix
        self.after = after
        self.limit = limit
    }
}

public protocol StoreReader {
    func account(id: String) throws -> Account?
    func account(managedID: ManagedAccountID) throws -> Account?
    /// The account a directory knows by this stable id (unique per source).
    func account(source: AccountSource, externalID: String) throws -> Account?
    func accounts(matching query: AccountQuery) throws -> [Account]
    /// Where the last sync of this directory left off; nil before the first.
    func directorySyncState(source: AccountSource) throws -> DirectorySyncState?
    /// The accounts a sync of this directory deactivated (and may reactivate).
    func syncDeactivatedAccountIDs(source: AccountSource) throws -> Set<String>
    /// Deactivated accounts whose deactivation happened at or before `cutoff`.
    func accountsDeactivated(before cutoff: Date, source: AccountSource) throws -> [Account]
    func lastAuditEntry() throws -> AuditEntry?
    /// Entries with sequence ≥ `from`, in order, at most `limit`.
    func auditEntries(from sequence: Int64, limit: Int) throws -> [AuditEntry]
    func auditEntry(sequence: Int64) throws -> AuditEntry?

    func client(id: String) throws -> OAuthClient?
    func client(name: String) throws -> OAuthClient?
    /// Every client, ordered by name.
    func clients() throws -> [OAuthClient]
    func signingKeys() throws -> [SigningKeyRecord]

    func tokenFamily(id: String) throws -> TokenFamily?
    func authorizationCode(hash: String) throws -> AuthorizationCode?
    func refreshToken(hash: String) throws -> RefreshToken?
    /// The token family an access token was issued in (a code or refresh token's), if any.
    func tokenFamilyID(accessTokenJTI jti: String) throws -> String?
    /// Whether an access token's `jti` was revoked, by itself or with its family.
    func isAccessTokenRevoked(jti: String) throws -> Bool
    /// The account of a live browser session (by the hash of its cookie value), if any.
    func browserSessionAccount(idHash: String, at: Date) throws -> String?

    func device(id: String) throws -> Device?
    /// The device that enrolled with this sign-in (access token `jti`).
    func device(enrolmentTokenID: String) throws -> Device?
    /// The enrolled device with this UDID, if any.
    func enrolledDevice(udid: String) throws -> Device?
    /// Devices, newest enrolment first; only those bound to `accountID` when given.
    func devices(accountID: String?) throws -> [Device]
    /// A scope's items, ordered by kind and name.
    func deviceItems(deviceID: String, scope: DataScope) throws -> [DeviceItem]
}

public protocol StoreTransaction: StoreReader {
    /// - Throws: `StoreError.duplicate` when the managed ID (or source + external ID) is taken.
    func insert(_ account: Account) throws
    /// Writes `account` if the stored version is still `expectedVersion`.
    /// - Throws: `StoreError.staleVersion` or `.notFound`.
    func update(_ account: Account, expectedVersion: Int) throws
    func deleteAccount(id: String) throws
    func append(_ entry: AuditEntry) throws
    func save(_ state: DirectorySyncState) throws
    /// Marks (or unmarks) an account as deactivated by a sync of `source`.
    func setSyncDeactivated(accountID: String, source: AccountSource, _ deactivated: Bool) throws

    /// - Throws: `StoreError.duplicate` when the id or name is taken.
    func insert(_ client: OAuthClient) throws
    func update(_ client: OAuthClient, expectedVersion: Int) throws
    func deleteClient(id: String) throws
    func insert(_ key: SigningKeyRecord) throws
    func update(_ key: SigningKeyRecord) throws
    func deleteSigningKey(id: String) throws

    func insert(_ family: TokenFamily) throws
    /// Revokes a family: its codes and refresh tokens stop working, its recorded access tokens read as revoked.
    func revokeTokenFamily(id: String, at: Date, reason: String) throws
    func insert(_ code: AuthorizationCode) throws
    /// Marks a code used; false when it was already used (a replay).
    func markAuthorizationCodeUsed(hash: String, at: Date) throws -> Bool
    func insert(_ token: RefreshToken) throws
    /// Marks a refresh token used; false when it was already used (a replay).
    func markRefreshTokenUsed(hash: String, at: Date) throws -> Bool
    /// Records an access token issued within a family, so revoking the family reaches it.
    func recordFamilyAccessToken(jti: String, familyID: String, expiresAt: Date) throws
    func revokeAccessToken(jti: String, expiresAt: Date) throws
    /// Records a client assertion's `jti`; false when the client used it before (a replay).
    func recordClientAssertion(clientID: String, jti: String, expiresAt: Date) throws -> Bool
    func insertBrowserSession(idHash: String, accountID: String, createdAt: Date, expiresAt: Date) throws
    func deleteBrowserSession(idHash: String) throws
    /// Revokes every unrevoked token family of an account (deactivation, password reset).
    func revokeTokenFamilies(accountID: String, at: Date, reason: String) throws
    /// Ends every browser session of an account.
    func deleteBrowserSessions(accountID: String) throws
    /// Deletes what has expired (codes, refresh tokens, families, revocations, assertion ids) as of `now`.
    func purgeExpiredTokens(before now: Date) throws -> Int

    func insert(_ pending: PendingDeviceEnrolment) throws
    /// Removes and returns the pending enrolment of a state hash, if it has not expired by `now`; expired
    /// ones are deleted on the way.
    func takePendingDeviceEnrolment(stateHash: String, at now: Date) throws -> PendingDeviceEnrolment?
    /// - Throws: `StoreError.duplicate` when the id or enrolment token id is taken.
    func insert(_ device: Device) throws
    /// Writes `device` if the stored version is still `expectedVersion`.
    /// - Throws: `StoreError.staleVersion` or `.notFound`.
    func update(_ device: Device, expectedVersion: Int) throws
    /// Writes (or replaces) one item of a scope.
    func save(_ item: DeviceItem) throws
    /// Deletes one item; false when there was none.
    func deleteDeviceItem(deviceID: String, scope: DataScope, kind: String, name: String) throws -> Bool
    /// Deletes every item of a scope; returns how many there were.
    func deleteDeviceItems(deviceID: String, scope: DataScope) throws -> Int
}

/// Failures of a store backend.
public struct StoreError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        case duplicate, staleVersion = "stale_version", notFound = "not_found", unavailable, schema, corrupt, `internal`
    }
    public var kind: Kind
    public var message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }
}
