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
    /// When the last run (applied or stopped) started.
    public var lastRunAt: Date?
    /// When the last applied full run started.
    public var lastFullAt: Date?
    /// What the last run did (for metrics, whichever process ran it).
    public var lastRun: DirectorySyncRun?

    public init(
        source: AccountSource, newestChange: String? = nil, lastRunAt: Date? = nil, lastFullAt: Date? = nil,
        lastRun: DirectorySyncRun? = nil
    ) {
        self.source = source
        self.newestChange = newestChange
        self.lastRunAt = lastRunAt
        self.lastFullAt = lastFullAt
        self.lastRun = lastRun
    }
}

/// The counts of one sync run: what it changed, or, stopped by the safety limit, would have.
public struct DirectorySyncRun: Sendable, Equatable {
    public var stopped: Bool
    public var full: Bool
    public var created: Int
    public var updated: Int
    public var deactivated: Int
    public var conflicts: Int
    public var unchanged: Int

    public init(stopped: Bool, full: Bool, plan: SyncPlan) {
        self.init(
            stopped: stopped, full: full, created: plan.creates.count, updated: plan.updates.count,
            deactivated: plan.deactivations.count, conflicts: plan.conflicts.count, unchanged: plan.unchanged)
    }

    public init(
        stopped: Bool, full: Bool, created: Int, updated: Int, deactivated: Int, conflicts: Int, unchanged: Int
    ) {
        self.stopped = stopped
        self.full = full
        self.created = created
        self.updated = updated
        self.deactivated = deactivated
        self.conflicts = conflicts
        self.unchanged = unchanged
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
        // Indices into `accounts`, not copies of them: a sync holds a whole directory's worth.
        var byExternalID: [String: Int] = [:]
        byExternalID.reserveCapacity(accounts.count)
        var byManagedID: [ManagedAccountID: Int] = [:]
        byManagedID.reserveCapacity(accounts.count)
        var plan = SyncPlan()
        for (index, account) in accounts.enumerated() {
            byManagedID[account.managedID] = index
            guard account.source == source else { continue }
            if account.state == .active { plan.activeBefore += 1 }
            if let id = account.externalID { byExternalID[id] = index }
        }
        // Two entries that map to one managed ID: neither is applied.
        var entriesPerManagedID: [ManagedAccountID: Int] = [:]
        entriesPerManagedID.reserveCapacity(entries.count)
        for entry in entries { entriesPerManagedID[entry.identity.managedID, default: 0] += 1 }
        var twins: [ManagedAccountID: [String]] = [:]  // managed ID → the stable ids of its entries
        var conflicts: [(ManagedAccountID, String)] = []
        var seen = [Bool](repeating: false, count: accounts.count)  // accounts an entry accounts for
        var disabledDeactivations: [SyncPlan.Change] = []
        for entry in entries {
            let identity = entry.identity
            let existingIndex =
                byExternalID[identity.externalID]
                ?? byManagedID[identity.managedID].flatMap {
                    accounts[$0].source == source && accounts[$0].externalID == nil ? $0 : nil
                }
            if let existingIndex { seen[existingIndex] = true }
            guard entriesPerManagedID[identity.managedID] == 1 else {
                twins[identity.managedID, default: []].append(identity.externalID)
                continue
            }
            if let holder = byManagedID[identity.managedID], holder != existingIndex {
                conflicts.append(
                    (
                        identity.managedID,
                        "\(identity.managedID) (directory id \(identity.externalID)) belongs to a "
                            + "\(accounts[holder].source.rawValue) account"
                    ))
                continue
            }
            guard let existingIndex else {
                guard !entry.isDisabled else { continue }  // never create an account only to deactivate it
                plan.creates.append(Account.provisioned(from: identity, id: newID(), at: now))
                continue
            }
            let existing = accounts[existingIndex]
            var next = existing.refreshed(from: identity, at: now)
            if entry.isDisabled, next.state == .active, let deactivated = try? next.deactivated(at: now) {
                disabledDeactivations.append(SyncPlan.Change(before: existing, after: deactivated))
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
        for (managedID, ids) in twins {
            conflicts.append(
                (
                    managedID,
                    "\(ids.count) directory entries map to \(managedID): ids " + ids.sorted().joined(separator: ", ")
                ))
        }
        // Reports read in managed-ID order, whatever order the directory returned.
        plan.creates = Self.sorted(plan.creates, by: \.managedID)
        plan.updates = Self.sorted(plan.updates, by: \.after.managedID)
        plan.deactivations = Self.sorted(disabledDeactivations, by: \.after.managedID)
        plan.conflicts = Self.sorted(conflicts, by: \.0).map(\.1)
        if complete {
            // Active accounts of this directory that no entry accounts for have left it.
            var present = unusable
            present.reserveCapacity(entries.count + unusable.count)
            for entry in entries { present.insert(entry.identity.externalID) }
            var gone: [SyncPlan.Change] = []
            for (index, account) in accounts.enumerated()
            where account.source == source && account.state == .active && !seen[index]
                && !(account.externalID.map(present.contains) ?? false)
            {
                if let deactivated = try? account.deactivated(at: now) {
                    gone.append(SyncPlan.Change(before: account, after: deactivated))
                }
            }
            plan.deactivations += Self.sorted(gone, by: \.before.managedID)
        }
        return plan
    }

    /// `items` in the order of their managed IDs' text (each key's text built once, not per comparison).
    private static func sorted<T>(_ items: [T], by key: (T) -> ManagedAccountID) -> [T] {
        guard items.count > 1 else { return items }
        return items.map { (key($0).rawValue, $0) }.sorted { $0.0 < $1.0 }.map(\.1)
    }
}
