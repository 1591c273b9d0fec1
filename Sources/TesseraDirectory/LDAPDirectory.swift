import Synchronization
public import TesseraCore
import TesseraPlatform

/// The organisation's LDAP directory as a source of people: sign-in with directory passwords and
/// lookups, through a pool of connections bound as Tessera's service account.
///
/// Every libldap call runs on the directory's own blocking threads (one per pooled connection), never
/// on the cooperative pool or an event loop. A connection that fails as unavailable is dropped and the
/// operation retried once on a fresh one, so a restarted directory server costs no failed sign-ins.
public final class LDAPDirectory: Sendable {
    public struct Configuration: Sendable {
        public var connection: LDAPSettings
        public var serviceDN: String
        /// Read from the file the configuration names; never logged.
        public var servicePassword: String
        /// Connections kept open, and threads for directory calls.
        public var poolSize: Int
        public var mapping: DirectoryMapping
        public var managedDomains: ManagedDomains

        public init(
            connection: LDAPSettings, serviceDN: String, servicePassword: String, poolSize: Int = 4,
            mapping: DirectoryMapping, managedDomains: ManagedDomains
        ) {
            self.connection = connection
            self.serviceDN = serviceDN
            self.servicePassword = servicePassword
            self.poolSize = poolSize
            self.mapping = mapping
            self.managedDomains = managedDomains
        }
    }

    /// A pooled handle and whom it is bound as.
    private final class Handle: @unchecked Sendable {
        // Used by one pool thread at a time: taken from `idle`, returned after the operation.
        let connection: LDAPConnection
        var boundAsService = false
        /// A person's password was sent in this operation (so it must not be retried).
        var personBindSent = false
        init(_ connection: LDAPConnection) { self.connection = connection }
    }

    public let configuration: Configuration
    private let threads: BlockingPool
    private let idle = Mutex<[Handle]>([])

    public init(_ configuration: Configuration) throws(DirectoryError) {
        do {
            try configuration.connection.validate()
        } catch {
            throw DirectoryError(.configuration, error.message)
        }
        try configuration.mapping.validate(managedDomains: configuration.managedDomains)
        guard !configuration.serviceDN.isEmpty, !configuration.servicePassword.isEmpty else {
            throw DirectoryError(.configuration, "the directory service account needs a DN and a password")
        }
        guard (1...64).contains(configuration.poolSize) else {
            throw DirectoryError(.configuration, "the LDAP pool size must be 1 to 64")
        }
        self.configuration = configuration
        self.threads = BlockingPool(name: "ldap", threads: configuration.poolSize)
    }

    /// Signs a person in with their directory password: the name is looked up as the service account
    /// (escaped per RFC 4515, exactly one entry), then the entry's DN is bound with the password.
    ///
    /// Unknown names, wrong or empty passwords, names matching several entries and disabled entries all
    /// throw `.rejected`; an unknown name still costs a bind, so timing does not tell it apart.
    public func signIn(username: String, password: String) async throws(DirectoryError) -> DirectoryPerson {
        let rejected = DirectoryError(.rejected, "wrong name or password")
        guard !password.isEmpty, !username.isEmpty else { throw rejected }
        let mapping = configuration.mapping
        return try await withHandle { handle in
            let entry = try self.entry(filter: mapping.signInFilter(username: username), on: handle)
            // From here the handle is bound as someone else until the next service bind.
            handle.boundAsService = false
            guard let entry else {
                // The same round trip a wrong password costs.
                _ = try? handle.connection.bind(dn: "cn=tessera-no-such-entry," + mapping.userBase, password: password)
                throw rejected
            }
            // Once the person's bind is sent it counts against their lockout: never sent twice.
            handle.personBindSent = true
            do {
                try handle.connection.bind(dn: entry.dn, password: password)
            } catch let error as LDAPError where error.kind != .unavailable {
                // Any answer of the server about this bind (wrong password 49, and the lockout or
                // inactivation other servers answer with: 19, 53…) refuses this sign-in.
                throw rejected
            }
            try self.bindAsService(handle)
            let person = try mapping.person(
                from: entry, groupDNs: try self.groups(of: entry.dn, on: handle),
                managedDomains: self.configuration.managedDomains)
            guard !person.isDisabled else { throw rejected }
            return person
        }
    }

    /// The person a sign-in name belongs to; nil when no entry (or more than one) matches.
    public func person(username: String) async throws(DirectoryError) -> DirectoryPerson? {
        guard !username.isEmpty else { return nil }
        return try await person(filter: configuration.mapping.signInFilter(username: username))
    }

    /// The person whose `attribute` equals `value` (e.g. `userPrincipalName` and a Kerberos principal);
    /// nil when no entry (or more than one) matches.
    public func person(attribute: String, equals value: String) async throws(DirectoryError) -> DirectoryPerson? {
        guard LDAPFilter.isAttributeDescription(attribute) else {
            throw DirectoryError(.configuration, "'\(attribute)' is not an LDAP attribute name")
        }
        guard !value.isEmpty else { return nil }
        return try await person(filter: "(&\(configuration.mapping.userFilter)\(LDAPFilter.equals(attribute, value)))")
    }

    private func person(filter: String) async throws(DirectoryError) -> DirectoryPerson? {
        let mapping = configuration.mapping
        return try await withHandle { handle in
            guard let entry = try self.entry(filter: filter, on: handle) else { return nil }
            return try mapping.person(
                from: entry, groupDNs: try self.groups(of: entry.dn, on: handle),
                managedDomains: self.configuration.managedDomains)
        }
    }

    /// The one person entry `filter` matches, searched as the service account; nil when none or
    /// several do (several are never guessed between).
    private func entry(filter: String, on handle: Handle) throws -> LDAPEntry? {
        let mapping = configuration.mapping
        try bindAsService(handle)
        do {
            let entries = try handle.connection.search(
                base: mapping.userBase, scope: mapping.userScope, filter: filter, attributes: mapping.attributes,
                sizeLimit: 2)
            return entries.count == 1 ? entries.first : nil
        } catch  where error.kind == .sizeLimitExceeded {
            return nil
        }
    }

    // MARK: - Groups

    /// The DNs of the groups `dn` belongs to, nested groups included.
    private func groups(of dn: String, on handle: Handle) throws(LDAPError) -> [String] {
        guard let groups = configuration.mapping.groups, !groups.roles.isEmpty else { return [] }
        switch groups.membership {
        case .activeDirectoryInChain:
            let filter = "(&\(groups.filter)(member:1.2.840.113556.1.4.1941:=\(LDAPFilter.escape(dn))))"
            return try handle.connection.search(base: groups.base, filter: filter, attributes: ["1.1"]).map(\.dn)
        case .memberAttribute(let attribute):
            // Breadth first: the groups listing `dn`, then the groups listing those, and so on.
            var found: [String] = []
            var seen: Set<String> = [DirectoryMapping.normalisedDN(dn)]
            var frontier = [dn]
            for _ in 0..<GroupMapping.maximumDepth where !frontier.isEmpty {
                var next: [String] = []
                for chunk in stride(from: 0, to: frontier.count, by: 50).map({
                    frontier[$0..<min($0 + 50, frontier.count)]
                }) {
                    let members = chunk.map { LDAPFilter.equals(attribute, $0) }.joined()
                    let filter = "(&\(groups.filter)(|\(members)))"
                    for entry in try handle.connection.search(base: groups.base, filter: filter, attributes: ["1.1"])
                    where seen.insert(DirectoryMapping.normalisedDN(entry.dn)).inserted {
                        next.append(entry.dn)
                    }
                }
                found += next
                frontier = next
            }
            return found
        }
    }

    // MARK: - Pool

    private func bindAsService(_ handle: Handle) throws(LDAPError) {
        guard !handle.boundAsService else { return }
        try handle.connection.bind(dn: configuration.serviceDN, password: configuration.servicePassword)
        handle.boundAsService = true
    }

    /// Runs `body` on a pool thread with an idle handle (or a new one). A handle that fails as
    /// unavailable is dropped and `body` runs once more on a fresh one; other handles go back idle.
    /// `body` throws `LDAPError` (translated here) or `DirectoryError`.
    private func withHandle<T: Sendable>(_ body: @escaping @Sendable (Handle) throws -> T)
        async throws(DirectoryError) -> T
    {
        let result: Result<T, DirectoryError> = await threads.run { [self] in
            var attempt = 0
            while true {
                attempt += 1
                // The retry always opens a new connection: the other idle ones are as stale as the first.
                let reused = attempt == 1 ? idle.withLock { $0.popLast() } : nil
                let handle: Handle
                do {
                    handle = try reused ?? Handle(LDAPConnection(configuration.connection))
                } catch {
                    return .failure(Self.translate(error))
                }
                handle.personBindSent = false
                do {
                    let value = try body(handle)
                    idle.withLock { $0.append(handle) }
                    return .success(value)
                } catch {
                    let failure = Self.translate(error)
                    if failure.kind == .unavailable {
                        // The server went away (or restarted): every idle connection to it is dead too.
                        idle.withLock { $0.removeAll() }
                        // A stale pooled handle: once more on a new connection, unless a person's
                        // password was already sent (a second bind would count twice against them).
                        if reused != nil, attempt == 1, !handle.personBindSent { continue }
                    } else {
                        idle.withLock { $0.append(handle) }
                    }
                    return .failure(failure)
                }
            }
        }
        return try result.get()
    }

    private static func translate(_ error: any Error) -> DirectoryError {
        if let error = error as? DirectoryError { return error }
        guard let error = error as? LDAPError else { return DirectoryError(.unavailable, "\(error)") }
        switch error.kind {
        case .unavailable, .sizeLimitExceeded, .failed: return DirectoryError(.unavailable, error.message)
        case .invalidCredentials:
            return DirectoryError(.configuration, "the directory refused the service account: \(error.message)")
        case .noSuchObject:
            return DirectoryError(.configuration, "a configured base DN does not exist: \(error.message)")
        case .configuration: return DirectoryError(.configuration, error.message)
        }
    }
}

extension LDAPDirectory: PasswordDirectory {
    public var source: AccountSource { .ldap }

    /// `signIn` in the terms of account services: refusals (including entries the mapping cannot use,
    /// which are also for the administrator to fix) are `unauthenticated`, an unreachable or
    /// misconfigured directory is `unavailable`.
    public func authenticate(_ name: String, password: String) async throws -> DirectoryIdentity {
        let person: DirectoryPerson
        do {
            person = try await signIn(username: name, password: password)
        } catch {
            switch error.kind {
            case .rejected, .invalidEntry:
                throw CoreError(.unauthenticated, "sign_in.failed", "wrong name or password")
            case .unavailable, .configuration:
                throw CoreError(.unavailable, "directory.unavailable", "the directory cannot be used: \(error.message)")
            }
        }
        return DirectoryIdentity(
            source: .ldap, externalID: person.stableID, managedID: person.managedID, givenName: person.givenName,
            familyName: person.familyName, email: person.email, employeeNumber: person.employeeNumber,
            department: person.department, roles: person.roles)
    }
}

/// Everything a sync needs from the directory, read completely before anything is changed.
public struct DirectoryListing: Sendable {
    public var people: [DirectoryPerson]
    /// Entries the mapping cannot use (no stable id, an invalid managed ID…), with the reason.
    public var unusable: [String]
    /// The stable ids of the unusable entries that have one: their accounts are not gone.
    public var unusableIDs: Set<String> = []
    /// The newest change time among the people and groups read (the mapping's `modifiedAttribute`),
    /// for the next incremental read; nil when no entry carried one.
    public var newestChange: String?
    /// Every person was read (a full read, or an incremental one that found a group changed).
    public var isComplete = false
}

extension LDAPDirectory {
    /// Every person under the user base (or only those changed at or after `changedSince`, a
    /// generalized time as the directory writes it), read in pages, with their groups' roles.
    ///
    /// Groups are read once and nested membership resolved in memory, so the cost does not grow with
    /// a search per person. A group changed after `changedSince` may have changed anyone's roles (a
    /// person's entry does not change when a group lists them), so then every person is read. Active
    /// Directory's ranged member lists (groups of more than 1,500) are followed.
    public func listPeople(
        changedSince: String? = nil, pageSize: Int = 500, progress: @escaping @Sendable (Int) -> Void = { _ in }
    )
        async throws(DirectoryError) -> DirectoryListing
    {
        let mapping = configuration.mapping
        let domains = configuration.managedDomains
        return try await withHandle { handle in
            try self.bindAsService(handle)
            let (roles, groupsChanged) = try Self.groupRoles(mapping, on: handle)
            var changedSince = changedSince
            if let since = changedSince, let groupsChanged, groupsChanged > since { changedSince = nil }
            var filter = mapping.userFilter
            if let changedSince {
                filter = "(&\(filter)(\(mapping.modifiedAttribute)>=\(LDAPFilter.escape(changedSince))))"
            }
            var listing = DirectoryListing(
                people: [], unusable: [], newestChange: groupsChanged, isComplete: changedSince == nil)
            try handle.connection.pagedSearch(
                base: mapping.userBase, scope: mapping.userScope, filter: filter,
                attributes: mapping.attributes + [mapping.modifiedAttribute], pageSize: pageSize
            ) { page in
                for entry in page {
                    if let changed = entry.string(mapping.modifiedAttribute), changed > (listing.newestChange ?? "") {
                        listing.newestChange = changed
                    }
                    do {
                        listing.people.append(
                            try mapping.person(from: entry, roles: roles(entry.dn), managedDomains: domains))
                    } catch let error as DirectoryError {
                        listing.unusable.append(error.message)
                        if let id = mapping.stableID(of: entry) { listing.unusableIDs.insert(id) }
                    }
                }
                progress(listing.people.count + listing.unusable.count)
            }
            return listing
        }
    }

    /// Every value of `attribute` in `entry`, following ranges: Active Directory sends at most
    /// MaxValRange (1,500) values of an attribute at once, as `member;range=0-1499`, and the rest to
    /// searches for `member;range=1500-*` on that entry. `fetch` reads the entry with the attribute
    /// description it is given.
    static func allStrings(of attribute: String, in entry: LDAPEntry, fetch: (String) throws -> LDAPEntry?) throws
        -> [String]
    {
        guard var range = entry.rangedStrings(attribute) else { return entry.strings(attribute) }
        var values = range.values
        while let next = range.next {
            guard let more = try fetch("\(attribute);range=\(next)-*")?.rangedStrings(attribute), !more.values.isEmpty,
                more.next.map({ $0 > next }) ?? true
            else {
                throw LDAPError(.failed, "\(entry.dn): the server did not send \(attribute) values from \(next) on")
            }
            values += more.values
            range = more
        }
        return values
    }

    /// The groups that grant roles, read once: a function from a member's DN to the roles of every group
    /// it belongs to, directly or through nested groups, and the newest change time among the groups.
    /// Each group's roles (its own and its ancestors') are worked out once, so a person costs one lookup
    /// of their DN.
    private static func groupRoles(_ mapping: DirectoryMapping, on handle: Handle) throws
        -> (roles: @Sendable (String) -> Set<Role>, newestChange: String?)
    {
        guard let groups = mapping.groups, !groups.roles.isEmpty else { return ({ _ in [] }, nil) }
        let attribute: String
        switch groups.membership {
        case .memberAttribute(let name): attribute = name
        case .activeDirectoryInChain: attribute = "member"
        }
        // member DN → the groups listing it (both normalised).
        var parents: [String: [String]] = [:]
        var newestChange: String?
        try handle.connection.pagedSearch(
            base: groups.base, filter: groups.filter, attributes: [attribute, mapping.modifiedAttribute]
        ) { page in
            for group in page {
                if let changed = group.string(mapping.modifiedAttribute), changed > (newestChange ?? "") {
                    newestChange = changed
                }
                let groupDN = DirectoryMapping.normalisedDN(group.dn)
                let members = try Self.allStrings(of: attribute, in: group) { ranged in
                    try handle.connection.search(
                        base: group.dn, scope: .base, filter: "(objectClass=*)", attributes: [ranged]
                    ).first
                }
                for member in members {
                    parents[DirectoryMapping.normalisedDN(member), default: []].append(groupDN)
                }
            }
        }
        let roleIndex = mapping.roleIndex
        // Every group's roles: its own and those of the groups above it, up to the nesting depth.
        var groupRoles: [String: Set<Role>] = [:]
        for group in Set(parents.values.joined()) {
            var roles = Set<Role>()
            var seen: Set<String> = [group]
            var frontier = [group]
            for _ in 0..<GroupMapping.maximumDepth where !frontier.isEmpty {
                for dn in frontier { if let role = roleIndex[dn] { roles.insert(role) } }
                frontier = frontier.flatMap { parents[$0] ?? [] }.filter { seen.insert($0).inserted }
            }
            if !roles.isEmpty { groupRoles[group] = roles }
        }
        let direct = parents
        let granted = groupRoles
        let roles: @Sendable (String) -> Set<Role> = { dn in
            guard let groups = direct[DirectoryMapping.normalisedDN(dn)] else { return [] }
            var roles = Set<Role>()
            for group in groups { if let more = granted[group] { roles.formUnion(more) } }
            return roles
        }
        return (roles, newestChange)
    }
}
