#if canImport(FoundationEssentials)
    public import FoundationEssentials
#else
    public import Foundation
#endif

/// One entry as a directory sync reads it.
public struct DirectoryEntry: Sendable, Equatable {
    public var identity: DirectoryIdentity
    /// Disabled in the directory (Active Directory's ACCOUNTDISABLE): its account is deactivated.
    public var isDisabled: Bool

    public init(identity: DirectoryIdentity, isDisabled: Bool = false) {
        self.identity = identity
        self.isDisabled = isDisabled
    }
}

/// Where the last sync of a directory left off.
public struct DirectorySyncState: Sendable, Equatable {
    public var source: AccountSource
    /// The newest change time among the entries read so far: the next incremental read starts there.
    public var newestChange: String?
    public var lastRunAt: Date?
    public var lastFullAt: Date?

    public init(source: AccountSource, newestChange: String? = nil, lastRunAt: Date? = nil, lastFullAt: Date? = nil) {
        self.source = source
        self.newestChange = newestChange
        self.lastRunAt = lastRunAt
        self.lastFullAt = lastFullAt
    }
}

/// What a directory sync changes, worked out before anything is written.
public struct SyncPlan: Sendable, Equatable {
    public struct Change: Sendable, Equatable {
        public var before: Account
        public var after: Account
    }

    public var creates: [Account] = []
    /// Profile, role, rename and reactivation changes.
    public var updates: [Change] = []
    public var deactivations: [Change] = []
    /// Entries nothing was done for, one sentence each (two entries for one managed ID, a managed ID
    /// that belongs to an account of another source).
    public var conflicts: [String] = []
    public var unchanged = 0
    /// Active accounts of the directory's source before the run: the base of the safety limit.
    public var activeBefore = 0

    /// The share of the directory's active accounts this run would deactivate.
    public var deactivationShare: Double {
        activeBefore == 0 ? 0 : Double(deactivations.count) / Double(activeBefore)
    }
}

/// The rules of directory sync (issue 4 §5): accounts are keyed by the directory's stable id, so a
/// rename renames; accounts of other sources are never touched; nothing is deleted; conflicts are
/// reported, never guessed.
public enum DirectorySync {
    /// - Parameters:
    ///   - entries: what the directory holds (all of it, or what changed since the last run).
    ///   - accounts: every account in the store.
    ///   - complete: `entries` is the whole directory, so accounts of its source that are not among them
    ///     are gone from it and are deactivated (an incremental read cannot tell).
    ///   - unusable: stable ids of entries the directory holds but the mapping cannot use: their
    ///     accounts are left alone, not taken for gone.
    ///   - syncDeactivated: accounts an earlier sync deactivated, the only ones a sync reactivates (an
    ///     administrator's deactivation stays).
    public static func plan(
        entries: [DirectoryEntry], accounts: [Account], source: AccountSource, complete: Bool, at now: Date,
        unusable: Set<String> = [], syncDeactivated: Set<String> = [], newID: () -> String
    ) -> SyncPlan {
        var plan = SyncPlan()
        let ours = accounts.filter { $0.source == source }
        plan.activeBefore = ours.filter { $0.state == .active }.count
        var byExternalID: [String: Account] = [:]
        byExternalID.reserveCapacity(ours.count)
        for account in ours { if let id = account.externalID { byExternalID[id] = account } }
        var byManagedID: [ManagedAccountID: Account] = [:]
        byManagedID.reserveCapacity(accounts.count)
        for account in accounts { byManagedID[account.managedID] = account }

        // Two entries that map to one managed ID: neither is applied.
        var entriesByManagedID: [ManagedAccountID: [DirectoryEntry]] = [:]
        entriesByManagedID.reserveCapacity(entries.count)
        for entry in entries { entriesByManagedID[entry.identity.managedID, default: []].append(entry) }
        var seen = Set<String>(minimumCapacity: entries.count)  // accounts an entry accounts for (by id)
        // In managed-ID order, so reports read in order (the text of each ID built once, not per comparison).
        let ordered = entries.map { ($0.identity.managedID.rawValue, $0) }.sorted { $0.0 < $1.0 }.map(\.1)
        for entry in ordered {
            let identity = entry.identity
            let twins = entriesByManagedID[identity.managedID] ?? []
            let existing =
                byExternalID[identity.externalID]
                ?? byManagedID[identity.managedID].flatMap { $0.source == source && $0.externalID == nil ? $0 : nil }
            if let existing { seen.insert(existing.id) }
            guard twins.count == 1 else {
                if twins.first == entry {
                    plan.conflicts.append(
                        "\(twins.count) directory entries map to \(identity.managedID): ids "
                            + twins.map(\.identity.externalID).sorted().joined(separator: ", "))
                }
                continue
            }
            if let holder = byManagedID[identity.managedID], holder.id != existing?.id {
                plan.conflicts.append(
                    "\(identity.managedID) (directory id \(identity.externalID)) belongs to a \(holder.source.rawValue) account"
                )
                continue
            }
            guard let existing else {
                guard !entry.isDisabled else { continue }  // never create an account only to deactivate it
                plan.creates.append(Account.provisioned(from: identity, id: newID(), at: now))
                continue
            }
            var next = existing.refreshed(from: identity, at: now)
            if entry.isDisabled, next.state == .active, let deactivated = try? next.deactivated(at: now) {
                plan.deactivations.append(SyncPlan.Change(before: existing, after: deactivated))
                continue
            }
            if !entry.isDisabled, next.state == .deactivated, syncDeactivated.contains(existing.id),
                let reactivated = try? next.reactivated(at: now)
            {
                next = reactivated
            }
            if next == existing {
                plan.unchanged += 1
            } else {
                plan.updates.append(SyncPlan.Change(before: existing, after: next))
            }
        }
        if complete {
            // Active accounts of this directory that no entry accounts for have left it.
            let present = Set(entries.map(\.identity.externalID)).union(unusable)
            let ordered = ours.map { ($0.managedID.rawValue, $0) }.sorted { $0.0 < $1.0 }.map(\.1)
            for account in ordered
            where account.state == .active && !seen.contains(account.id)
                && !(account.externalID.map(present.contains) ?? false)
            {
                if let deactivated = try? account.deactivated(at: now) {
                    plan.deactivations.append(SyncPlan.Change(before: account, after: deactivated))
                }
            }
        }
        return plan
    }
}
