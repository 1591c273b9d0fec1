public import TesseraCore
public import TesseraStore

#if canImport(FoundationEssentials)
    public import FoundationEssentials
#else
    public import Foundation
#endif

/// Managed-account provisioning and sign-in: the rules of TesseraCore applied to the store, with an
/// audit entry in the same transaction as every change. The CLI, SCIM and the admin API all call this.
public struct AccountService: Sendable {
    public let store: any Store
    public let policy: AccountPolicy
    let hasher: any PasswordHashing
    let audit: AuditLog
    let generateTemporaryPassword: @Sendable () -> String
    let now: @Sendable () -> Date
    /// The directory people sign in through, if one is configured.
    public let directory: (any PasswordDirectory)?

    /// - Parameters:
    ///   - generateTemporaryPassword: a fresh random temporary password per call.
    ///   - sha256Hex: hex SHA-256, for the audit chain.
    ///   - now: the clock (tests pass a fixed one).
    ///   - directory: where names that are not local accounts sign in (LDAP), with just-in-time accounts.
    public init(
        store: any Store, policy: AccountPolicy, hasher: any PasswordHashing,
        generateTemporaryPassword: @escaping @Sendable () -> String, sha256Hex: @escaping @Sendable ([UInt8]) -> String,
        now: @escaping @Sendable () -> Date = { Date() }, directory: (any PasswordDirectory)? = nil
    ) {
        self.directory = directory
        self.store = store
        self.policy = policy
        self.hasher = hasher
        self.audit = AuditLog(sha256Hex: sha256Hex)
        self.generateTemporaryPassword = generateTemporaryPassword
        self.now = now
    }

    // MARK: - Reading

    public func account(_ managedID: String, by actor: Actor) async throws -> Account {
        let id = try parse(managedID)
        let account = try await store.read { try $0.account(managedID: id) }
        guard let account else { throw notFound(id) }
        guard mayView(account, actor) else {
            throw CoreError(.notPermitted, "account.view_denied", "\(actor) may not view \(id)")
        }
        return account
    }

    /// Accounts matching `query` that `actor` may see, ordered by managed ID. A `limit` counts what the
    /// actor sees: pages are read until that many are found or none are left, so a page is short only
    /// at the end and `after` its last managed ID continues it.
    public func accounts(matching query: AccountQuery, by actor: Actor) async throws -> [Account] {
        guard let limit = query.limit else {
            return try await store.read { try $0.accounts(matching: query) }.filter { mayView($0, actor) }
        }
        var found: [Account] = []
        var page = query
        while found.count < limit {
            let batch = try await store.read { [page] in try $0.accounts(matching: page) }
            found += batch.filter { mayView($0, actor) }
            guard batch.count == limit, let last = batch.last else { break }
            page.after = last.managedID.rawValue
        }
        return Array(found.prefix(limit))
    }

    // MARK: - Provisioning

    /// Creates an account. Local accounts get a temporary password, returned once and stored only hashed.
    public func create(_ input: NewAccount, by actor: Actor) async throws -> IssuedAccount {
        let account = try validate(input, at: now())
        try requireAuthority(actor, over: account.roles, action: "create")
        let issued = try await withInitialCredential(account)
        let created = issued.account
        try await store.change { transaction in
            try insert(created, in: transaction)
            try audit.record(
                AuditRecord.account(created, action: "account.create", actor: actor, before: nil), in: transaction,
                at: created.createdAt)
        }
        return issued
    }

    /// Creates every account or none. Each row is validated first and every bad row reported by line.
    /// - Parameters:
    ///   - rows: the accounts with the line number each came from.
    ///   - progress: called with (done, total) while temporary passwords are hashed.
    public func importAccounts(
        _ rows: [(line: Int, account: NewAccount)], by actor: Actor,
        progress: @Sendable (Int, Int) -> Void = { _, _ in }
    ) async throws -> [IssuedAccount] {
        let createdAt = now()
        var errors: [ImportRowError] = []
        var accounts: [(line: Int, account: Account)] = []
        var seen: [ManagedAccountID: Int] = [:]
        for row in rows {
            do {
                let account = try validate(row.account, at: createdAt)
                try requireAuthority(actor, over: account.roles, action: "create")
                if let first = seen[account.managedID] {
                    errors.append(ImportRowError(line: row.line, message: "\(account.managedID) repeats line \(first)"))
                    continue
                }
                seen[account.managedID] = row.line
                accounts.append((row.line, account))
            } catch let error as CoreError {
                errors.append(ImportRowError(line: row.line, message: error.message))
            }
        }
        if rows.isEmpty {
            throw CoreError(.invalidInput, "import.empty", "the file has no accounts")
        }
        guard errors.isEmpty else { throw ImportError(rows: errors) }

        // Existing accounts are checked before the slow hashing, and again inside the transaction.
        let candidates = accounts
        let existing = try await store.read { reader in
            try candidates.compactMap { row in
                try reader.account(managedID: row.account.managedID) == nil ? nil : row.line
            }
        }
        if !existing.isEmpty {
            throw ImportError(
                rows: existing.map { line in
                    ImportRowError(
                        line: line, message: "\(accounts.first { $0.line == line }!.account.managedID) already exists")
                })
        }

        // Hash a few at a time: the hasher bounds how many run at once, the window bounds queued work.
        var issued = [IssuedAccount?](repeating: nil, count: accounts.count)
        try await withThrowingTaskGroup(of: (Int, IssuedAccount).self) { group in
            var next = 0
            var done = 0
            while done < accounts.count {
                while next < accounts.count && next - done < Self.importWindow {
                    let (index, account) = (next, accounts[next].account)
                    group.addTask { (index, try await withInitialCredential(account)) }
                    next += 1
                }
                if let (index, result) = try await group.next() {
                    issued[index] = result
                    done += 1
                    progress(done, accounts.count)
                }
            }
        }
        let lines = accounts.map(\.line)
        let toInsert = issued.map { $0!.account }
        try await store.change { transaction in
            for (line, account) in zip(lines, toInsert) {
                do {
                    try insert(account, in: transaction)
                } catch let error as CoreError where error.kind == .conflict {
                    throw ImportError(rows: [ImportRowError(line: line, message: error.message)])
                }
                try audit.record(
                    AuditRecord.account(account, action: "account.import", actor: actor, before: nil), in: transaction,
                    at: createdAt)
            }
        }
        return issued.map { $0! }
    }

    /// How many temporary passwords an import hashes concurrently (the hasher's own bound still applies).
    static let importWindow = 8

    /// A new local account with a fresh temporary password (hashed); other sources get none.
    private func withInitialCredential(_ account: Account) async throws -> IssuedAccount {
        guard account.source == .local else { return IssuedAccount(account: account, temporaryPassword: nil) }
        let password = generateTemporaryPassword()
        let hash = try await hasher.hashPassword(password)
        var credentialed = try account.withTemporaryPassword(hash: hash, at: account.createdAt, policy: policy)
        credentialed.version = 1  // a new account starts at version 1
        return IssuedAccount(account: credentialed, temporaryPassword: password)
    }

    /// Applies `changes`; `expectedVersion` (an ETag) guards against lost updates when given.
    public func update(_ managedID: String, _ changes: AccountChanges, expectedVersion: Int? = nil, by actor: Actor)
        async throws -> Account
    {
        guard !changes.isEmpty else {
            throw CoreError(.invalidInput, "account.no_changes", "nothing to change: name at least one field")
        }
        let newRoles = try changes.roles.map { try Set($0.map(Role.init(parsing:))) }
        return try await change(managedID, action: "account.update", by: actor, expectedVersion: expectedVersion) {
            account, at in
            try account.checkLocallyEditable(changingProfile: changes.changesProfile)
            var next = account
            if let given = changes.givenName {
                next.givenName = try AccountFieldRules.text(given, field: "given_name", required: true)!
            }
            if let family = changes.familyName {
                next.familyName = try AccountFieldRules.text(family, field: "family_name", required: true)!
            }
            if let email = changes.email { next.email = try AccountFieldRules.email(email) }
            if let number = changes.employeeNumber {
                next.employeeNumber = try AccountFieldRules.text(number, field: "employee_number", required: false)
            }
            if let department = changes.department {
                next.department = try AccountFieldRules.text(department, field: "department", required: false)
            }
            if let newRoles {
                try requireAuthority(actor, over: newRoles, action: "grant roles to")
                try requireFederationRules(source: account.source, roles: newRoles, managedID: account.managedID)
                next.roles = newRoles
            }
            guard next != account else {
                throw CoreError(
                    .invalidInput, "account.no_changes", "nothing changed: the account already has these values")
            }
            return next.touched(at: at)
        }
    }

    /// Deactivates an account; its tokens and browser sessions end with it.
    public func deactivate(_ managedID: String, by actor: Actor) async throws -> Account {
        try await change(managedID, action: "account.deactivate", by: actor, forbidSelf: true, also: Self.endSignIns) {
            account, at in
            try account.deactivated(at: at)
        }
    }

    /// Revokes an account's tokens and ends its browser sessions, in the caller's transaction.
    static let endSignIns: @Sendable (any StoreTransaction, Account, Date) throws -> Void = {
        transaction, account, at in
        try transaction.revokeTokenFamilies(
            accountID: account.id, at: at, reason: "account signed out by an administrator")
        try transaction.deleteBrowserSessions(accountID: account.id)
    }

    public func reactivate(_ managedID: String, by actor: Actor) async throws -> Account {
        try await change(managedID, action: "account.reactivate", by: actor) { account, at in
            try account.reactivated(at: at)
        }
    }

    public func unlock(_ managedID: String, by actor: Actor) async throws -> Account {
        try await change(managedID, action: "account.unlock", by: actor) { account, at in
            try account.unlocked(at: at)
        }
    }

    /// Gives a local account a new temporary password, returned once.
    public func resetPassword(_ managedID: String, by actor: Actor) async throws -> IssuedAccount {
        let password = generateTemporaryPassword()
        // Check before hashing, so a refused reset costs no scrypt run.
        let current = try await account(managedID, by: actor)
        try requireAuthority(actor, over: current.effectiveRoles, action: "reset the password of")
        try current.requireLocalCredential()
        let hash = try await hasher.hashPassword(password)
        // A reset signs the account out everywhere: whoever knew the old password loses what it gave them.
        let account = try await change(managedID, action: "account.reset_password", by: actor, also: Self.endSignIns) {
            account, at in
            try account.withTemporaryPassword(hash: hash, at: at, policy: policy)
        }
        return IssuedAccount(account: account, temporaryPassword: password)
    }

    /// Deletes a deactivated account.
    public func delete(_ managedID: String, by actor: Actor) async throws {
        let id = try parse(managedID)
        try await store.change { transaction in
            guard let account = try transaction.account(managedID: id) else { throw notFound(id) }
            try requireAuthority(actor, over: account.effectiveRoles, action: "delete")
            try requireNotSelf(actor, account)
            try account.checkDeletable()
            try Self.releaseDevices(of: account, in: transaction, audit: audit, actor: actor, at: now())
            try transaction.deleteAccount(id: account.id)
            try audit.record(
                AuditRecord.account(account, action: "account.delete", actor: actor, before: account, after: false),
                in: transaction, at: now())
        }
    }

    /// Deletes local accounts deactivated for longer than the retention period (the Apple model's
    /// 30 days). Returns the managed IDs deleted.
    public func purgeExpiredDeactivated() async throws -> [ManagedAccountID] {
        let at = now()
        let cutoff = at.adding(.zero - policy.deactivatedRetention)
        let actor = Actor.system(job: "retention")
        return try await store.change { transaction in
            let due = try transaction.accountsDeactivated(before: cutoff, source: .local)
            for account in due where account.isPastRetention(at: at, policy: policy) {
                try Self.releaseDevices(of: account, in: transaction, audit: audit, actor: actor, at: at)
                try transaction.deleteAccount(id: account.id)
                try audit.record(
                    AuditRecord.account(account, action: "account.purge", actor: actor, before: account, after: false),
                    in: transaction, at: at)
            }
            return due.map(\.managedID)
        }
    }

    /// Before an account goes: its organisation devices stay in the registry, bound to no one; its
    /// personal devices (and their data scopes) go with it. Each is audited.
    private static func releaseDevices(
        of account: Account, in transaction: any StoreTransaction, audit: AuditLog, actor: Actor, at: Date
    ) throws {
        for device in try transaction.devices(accountID: account.id) {
            switch device.ownership {
            case .organisation:
                let unbound = device.unbound(at: at)
                try transaction.update(unbound, expectedVersion: device.version)
                try audit.record(
                    .device(unbound, action: "device.unbind", actor: actor, before: device, after: unbound),
                    in: transaction, at: at)
            case .personal:
                // The row and its scopes go with the account (ON DELETE CASCADE).
                try audit.record(
                    .device(device, action: "device.delete", actor: actor, before: device, after: nil),
                    in: transaction, at: at)
            }
        }
    }

    // MARK: - Sign-in

    public enum SignIn: Sendable, Equatable {
        case signedIn(Account)
        /// The password was a temporary one: it must be changed before anything else.
        case passwordChangeRequired(Account)
    }

    /// Checks a password. Local accounts are checked here, counting failures and locking the account past
    /// the threshold; with a directory configured, any other name (a managed ID without a local account,
    /// or a directory sign-in name) is checked by the directory, and its account created or refreshed
    /// from the directory's entry (just-in-time provisioning).
    /// Every refusal is `CoreError.unauthenticated`; callers facing the network should not reveal which.
    /// An unreachable directory is `CoreError.unavailable`.
    public func signIn(_ name: String, password: String) async throws -> SignIn {
        // Directories ignore surrounding spaces and some ignore control characters: one spelling per
        // person, so limits counted per name cannot be dodged.
        guard name == name.trimmingCharacters(in: .whitespacesAndNewlines),
            !name.unicodeScalars.contains(where: { $0.properties.generalCategory == .control })
        else {
            _ = try? await hasher.hashPassword(password)
            throw CoreError(.unauthenticated, "sign_in.failed", "wrong managed ID or password")
        }
        if let directory {
            var account: Account?
            if let id = try? parse(name) { account = try await store.read { try $0.account(managedID: id) } }
            if account == nil || account?.source == directory.source {
                return .signedIn(try await signIn(name, password: password, through: directory))
            }
        }
        return try await signInLocally(name, password: password)
    }

    private func signInLocally(_ managedID: String, password: String) async throws -> SignIn {
        let id = try parse(managedID)
        let failed = CoreError(.unauthenticated, "sign_in.failed", "wrong managed ID or password")
        // 1. Count the attempt under the write lock before the (slow) password check.
        let attempt: Account?
        do {
            attempt = try await store.change { [policy, now] transaction -> Account? in
                guard let account = try transaction.account(managedID: id) else { return nil }
                let next = try account.registeringSignInAttempt(at: now(), policy: policy)
                try transaction.update(next, expectedVersion: account.version)
                return next
            }
        } catch let error as CoreError where error.kind == .unauthenticated {
            // Locked, deactivated or directory accounts cost a hash too, so timing does not tell them apart.
            _ = try? await hasher.hashPassword(password)
            throw error
        }
        guard let account = attempt, let credential = account.credential else {
            // Unknown IDs spend what a real check costs (a hash with the current parameters).
            _ = try? await hasher.hashPassword(password)
            throw failed
        }
        // 2. The password.
        switch try await hasher.verifyPassword(password, against: credential.hash) {
        case .invalid:
            try await change(
                id.rawValue, action: "account.lock", by: .system(job: "sign-in"), authorityNeeded: false,
                auditWhen: { old, new in !old.isLocked && new.isLocked }
            ) { current, at in
                current.afterWrongPassword(at: at, policy: policy)
            }
            throw failed
        case .valid(let needsRehash):
            let rehash = needsRehash ? try await hasher.hashPassword(password) : nil
            // 3. Still allowed? (An administrator may have locked or deactivated it meanwhile.)
            let updated = try await change(
                id.rawValue, action: "account.password_rehash", by: .system(job: "sign-in"), authorityNeeded: false,
                auditWhen: { old, new in old.credential?.hash != new.credential?.hash }
            ) { current, at in
                try current.checkSignInAllowed(at: at)
                var next = current.afterSuccessfulSignIn(at: at)
                if let rehash, var stored = next.credential, stored.hash == credential.hash {
                    stored.hash = rehash
                    next.credential = stored
                    next = next.touched(at: at)
                }
                return next
            }
            try updated.checkTemporaryPasswordCurrent(at: now())
            return updated.credential?.isTemporary == true ? .passwordChangeRequired(updated) : .signedIn(updated)
        }
    }

    /// A directory sign-in, then the account: found by the directory's stable id (and renamed if the
    /// directory renamed the person), adopted when a directory account of that managed ID has no stable
    /// id yet, or created. A managed ID held by an account of another source is never taken over.
    private func signIn(_ name: String, password: String, through directory: any PasswordDirectory) async throws
        -> Account
    {
        let identity: DirectoryIdentity
        do {
            identity = try await directory.authenticate(name, password: password)
        } catch let error as CoreError where error.kind == .unauthenticated {
            // As long as a refused local password takes, so timing does not tell local accounts apart.
            _ = try? await hasher.hashPassword(password)
            throw CoreError(.unauthenticated, "sign_in.failed", "wrong managed ID or password")
        }
        return try await signIn(vouched: identity)
    }

    /// The account of a person a directory vouched for (a password it checked, a Kerberos ticket):
    /// found by the directory's stable id (and renamed if the directory renamed the person), adopted
    /// when a directory account of that managed ID has no stable id yet, or created. A managed ID held
    /// by an account of another source is never taken over; Tessera's deactivation and lock still apply.
    /// A source that does not describe people (`describesPerson` false) only signs in to accounts of
    /// that source an administrator created, binding the first one its id signs in to.
    public func signIn(vouched identity: DirectoryIdentity) async throws -> Account {
        let actor = Actor.system(job: "directory-sign-in")
        let at = now()
        return try await store.change { [audit] transaction in
            let known = try transaction.account(source: identity.source, externalID: identity.externalID)
            let holder = try transaction.account(managedID: identity.managedID)
            guard let existing = known ?? holder else {
                guard identity.describesPerson else {
                    throw CoreError(
                        .unauthenticated, "sign_in.no_account",
                        "no \(identity.source.rawValue) account \(identity.managedID) for \(identity.externalID)")
                }
                let created = Account.provisioned(from: identity, id: UUID().uuidString.lowercased(), at: at)
                try insert(created, in: transaction)
                try audit.record(
                    AuditRecord.account(created, action: "account.create", actor: actor, before: nil), in: transaction,
                    at: at)
                return created
            }
            if let holder, holder.id != existing.id || (known == nil && holder.externalID != nil) {
                throw CoreError(
                    .unauthenticated, "sign_in.conflict",
                    "managed ID \(identity.managedID) belongs to another account than the directory's entry")
            }
            try existing.checkDirectorySignInAllowed(from: identity.source)
            let next: Account
            if identity.describesPerson {
                next = existing.refreshed(from: identity, at: at)
            } else if existing.externalID == nil {
                var bound = existing  // bound to the id that signed in first
                bound.externalID = identity.externalID
                next = bound.touched(at: at)
            } else {
                next = existing
            }
            if next != existing {
                try save(next, replacing: existing, in: transaction)
                try audit.record(
                    AuditRecord.account(next, action: "account.directory_refresh", actor: actor, before: existing),
                    in: transaction, at: at)
            }
            return next
        }
    }

    /// Replaces a password after checking the current one (first sign-in with a temporary password).
    public func changePassword(_ managedID: String, current: String, new: String) async throws -> Account {
        let signedIn = try await signIn(managedID, password: current)
        let account: Account
        switch signedIn {
        case .signedIn(let a), .passwordChangeRequired(let a): account = a
        }
        guard new != current else {
            throw CoreError(.invalidInput, "password.unchanged", "the new password must differ from the current one")
        }
        try PasswordRules.check(new)
        let hash = try await hasher.hashPassword(new)
        let actor = Actor.account(id: account.id, managedID: account.managedID, roles: account.effectiveRoles)
        return try await change(managedID, action: "account.change_password", by: actor, authorityNeeded: false) {
            current, at in
            try current.withPermanentPassword(hash: hash, at: at)
        }
    }

    /// Resolves `--as ID` to an actor: the account must exist, be active and unlocked.
    public func actor(for managedID: String) async throws -> Actor {
        let id = try parse(managedID)
        guard let account = try await store.read({ try $0.account(managedID: id) }) else {
            throw CoreError(.notPermitted, "actor.unknown", "no account \(id) to act as")
        }
        guard account.state == .active, !account.isLocked else {
            throw CoreError(.notPermitted, "actor.inactive", "account \(id) is deactivated or locked and may not act")
        }
        return .account(id: account.id, managedID: account.managedID, roles: account.effectiveRoles)
    }

    // MARK: - Rules

    private func validate(_ input: NewAccount, at createdAt: Date) throws -> Account {
        let managedID = try ManagedAccountID(input.managedID, managedDomains: policy.managedDomains)
        let roles = try Set(input.roles.map(Role.init(parsing:)))
        let source = try AccountSource(parsing: input.source)
        try requireFederationRules(source: source, roles: roles, managedID: managedID)
        return Account(
            id: UUID().uuidString.lowercased(), managedID: managedID,
            givenName: try AccountFieldRules.text(input.givenName, field: "given_name", required: true)!,
            familyName: try AccountFieldRules.text(input.familyName, field: "family_name", required: true)!,
            email: try input.email.flatMap(AccountFieldRules.email),
            employeeNumber: try input.employeeNumber.flatMap {
                try AccountFieldRules.text($0, field: "employee_number", required: false)
            },
            department: try input.department.flatMap {
                try AccountFieldRules.text($0, field: "department", required: false)
            },
            roles: roles.isEmpty ? [.staff] : roles, source: source, createdAt: createdAt, updatedAt: createdAt)
    }

    /// Administrators and People Managers keep a local credential: they never come from a directory.
    private func requireFederationRules(source: AccountSource, roles: Set<Role>, managedID: ManagedAccountID) throws {
        if source != .local, let privileged = roles.sorted().first(where: \.isPrivileged) {
            throw CoreError(
                .invalidInput, "account.privileged_federated",
                "\(managedID): the \(privileged.rawValue) role is only for local accounts, not \(source.rawValue) ones")
        }
    }

    private func requireAuthority(_ actor: Actor, over roles: Set<Role>, action: String) throws {
        guard RoleAuthority.may(actor.roles, actOn: roles) else {
            throw CoreError(
                .notPermitted, "account.authority",
                "\(actor) may not \(action) accounts with role \(roles.sorted().map(\.rawValue).joined(separator: ", "))"
            )
        }
    }

    private func requireNotSelf(_ actor: Actor, _ account: Account) throws {
        if case .account(let id, _, _) = actor, id == account.id {
            throw CoreError(.notPermitted, "account.self", "an account may not deactivate or delete itself")
        }
    }

    private func mayView(_ account: Account, _ actor: Actor) -> Bool {
        if case .account(let id, _, _) = actor, id == account.id { return true }
        return RoleAuthority.may(actor.roles, actOn: account.effectiveRoles)
    }

    private func parse(_ managedID: String) throws -> ManagedAccountID {
        try ManagedAccountID(managedID, managedDomains: policy.managedDomains)
    }

    private func notFound(_ id: ManagedAccountID) -> CoreError {
        CoreError(.notFound, "account.not_found", "no account \(id)")
    }

    // MARK: - Writing

    /// Loads, transforms and saves one account in one transaction, with its audit entry.
    @discardableResult
    private func change(
        _ managedID: String, action: String, by actor: Actor, expectedVersion: Int? = nil, forbidSelf: Bool = false,
        authorityNeeded: Bool = true, auditWhen: @escaping @Sendable (Account, Account) -> Bool = { _, _ in true },
        also: (@Sendable (any StoreTransaction, Account, Date) throws -> Void)? = nil,
        _ transform: @escaping @Sendable (Account, Date) throws -> Account
    ) async throws -> Account {
        let id = try parse(managedID)
        let at = now()
        return try await store.change { transaction in
            guard let account = try transaction.account(managedID: id) else { throw notFound(id) }
            if authorityNeeded { try requireAuthority(actor, over: account.effectiveRoles, action: "change") }
            if forbidSelf { try requireNotSelf(actor, account) }
            if let expectedVersion, expectedVersion != account.version {
                throw CoreError(
                    .conflict, "account.version",
                    "account \(id) changed since version \(expectedVersion) (now \(account.version))")
            }
            let next = try transform(account, at)
            try save(next, replacing: account, in: transaction)
            try also?(transaction, next, at)
            if auditWhen(account, next) {
                try audit.record(
                    AuditRecord.account(next, action: action, actor: actor, before: account), in: transaction, at: at)
            }
            return next
        }
    }

    private func insert(_ account: Account, in transaction: any StoreTransaction) throws {
        do {
            try transaction.insert(account)
        } catch let error as StoreError where error.kind == .duplicate {
            throw CoreError(.conflict, "account.exists", "account \(account.managedID) already exists")
        }
    }

    private func save(_ account: Account, replacing old: Account, in transaction: any StoreTransaction) throws {
        do {
            try transaction.update(account, expectedVersion: old.version)
        } catch let error as StoreError where error.kind == .staleVersion {
            throw CoreError(.conflict, "account.version", error.message)
        }
    }
}

/// Rules for passwords people choose.
public enum PasswordRules {
    public static let minimumLength = 12
    public static let maximumBytes = 1024

    public static func check(_ password: String) throws {
        guard password.count >= minimumLength else {
            throw CoreError(
                .invalidInput, "password.too_short", "a password must have at least \(minimumLength) characters")
        }
        guard password.utf8.count <= maximumBytes else {
            throw CoreError(.invalidInput, "password.too_long", "a password must be at most \(maximumBytes) bytes")
        }
    }
}

extension AuditRecord {
    static func account(_ account: Account, action: String, actor: Actor, before: Account?, after: Bool = true)
        -> AuditRecord
    {
        AuditRecord(
            actor: actor, action: action, targetType: "account", targetID: account.id,
            targetName: account.managedID.rawValue,
            before: before?.auditSnapshot, after: after ? account.auditSnapshot : nil)
    }
}
