public import Foundation
public import TesseraCore
public import TesseraStore

/// Runs directory syncs (`tessera sync ldap`, and the server's schedule): reads the directory
/// completely, plans with `DirectorySync`, checks the safety limit, then applies in batches.
///
/// A read that fails (directory gone, timeout) changes nothing. Creations and updates are written
/// first, deactivations last, so a run that fails while writing has deactivated nobody; each batch is
/// one transaction, and every change and the run's summary are audited.
public struct DirectorySyncService: Sendable {
    public struct Options: Sendable {
        /// Read every entry (and deactivate accounts gone from the directory), not only changed ones.
        public var full: Bool
        /// Plan and report, write nothing.
        public var dryRun: Bool
        /// Apply even beyond the safety limit.
        public var force: Bool
        /// The largest share of the directory's active accounts one run may deactivate without `force`.
        public var maximumDeactivationShare: Double

        public init(
            full: Bool = false, dryRun: Bool = false, force: Bool = false, maximumDeactivationShare: Double = 0.1
        ) {
            self.full = full
            self.dryRun = dryRun
            self.force = force
            self.maximumDeactivationShare = maximumDeactivationShare
        }
    }

    /// What the directory gave: its entries, the ones the mapping could not use, and the newest change time.
    public struct Reading: Sendable {
        public var entries: [DirectoryEntry]
        public var unusable: [String]
        /// Stable ids of the unusable entries that have one: their accounts are left alone.
        public var unusableIDs: Set<String>
        public var newestChange: String?
        /// Every entry of the directory was read, though only changes were asked for (the directory
        /// found a reason to read everyone): the run is a full one.
        public var isComplete: Bool

        public init(
            entries: [DirectoryEntry], unusable: [String], unusableIDs: Set<String> = [], newestChange: String?,
            isComplete: Bool = false
        ) {
            self.entries = entries
            self.unusable = unusable
            self.unusableIDs = unusableIDs
            self.newestChange = newestChange
            self.isComplete = isComplete
        }
    }

    public enum Outcome: String, Sendable {
        case applied
        case planned  // a dry run
        case stoppedBySafetyLimit = "stopped"
    }

    public struct Report: Sendable {
        public var outcome: Outcome
        public var full: Bool
        public var plan: SyncPlan
        public var unusable: [String]
        /// Accounts changed (or created) by someone else between the read and the write (a sign-in, an
        /// administrator): left for the next run.
        public var skipped: [String] = []
    }

    static let batchSize = 500

    let store: any Store
    let audit: AuditLog
    let now: @Sendable () -> Date
    let newID: @Sendable () -> String

    public init(
        store: any Store, sha256Hex: @escaping @Sendable ([UInt8]) -> String,
        now: @escaping @Sendable () -> Date = { Date() },
        newID: @escaping @Sendable () -> String = { UUID().uuidString.lowercased() }
    ) {
        self.store = store
        self.audit = AuditLog(sha256Hex: sha256Hex)
        self.now = now
        self.newID = newID
    }

    /// One sync of the directory of `source`. `read` is given nil for a full read, or the newest change
    /// time of the last run for an incremental one. The first run of a directory is always full.
    public func run(
        source: AccountSource, options: Options, by actor: Actor,
        read: @Sendable (_ changedSince: String?) async throws -> Reading,
        progress: @Sendable (_ applied: Int, _ total: Int) -> Void = { _, _ in }
    ) async throws -> Report {
        let state = try await store.read { try $0.directorySyncState(source: source) }
        let askedFull = options.full || state?.newestChange == nil
        // The store is read while the directory is: a change made in between (a sign-in, an
        // administrator) is caught when the plan is written (versions, unique managed IDs).
        async let stored = store.read {
            (try $0.accounts(matching: AccountQuery()), try $0.syncDeactivatedAccountIDs(source: source))
        }
        let reading = try await read(askedFull ? nil : state?.newestChange)
        let (accounts, syncDeactivated) = try await stored
        let full = askedFull || reading.isComplete
        let startedAt = now()
        let plan = DirectorySync.plan(
            entries: reading.entries, accounts: accounts, source: source, complete: full, at: startedAt,
            unusable: reading.unusableIDs, syncDeactivated: syncDeactivated, newID: newID)
        let stopped = plan.deactivationShare > options.maximumDeactivationShare && !options.force
        if options.dryRun {
            return Report(outcome: .planned, full: full, plan: plan, unusable: reading.unusable)
        }
        if stopped {
            try await store.change { [audit] transaction in
                var next = state ?? DirectorySyncState(source: source)
                next.lastRunAt = startedAt
                next.lastRun = DirectorySyncRun(stopped: true, full: full, plan: plan)
                try transaction.save(next)
                try audit.record(
                    Self.summary(plan, source: source, full: full, outcome: .stoppedBySafetyLimit, actor: actor),
                    in: transaction, at: startedAt)
            }
            return Report(outcome: .stoppedBySafetyLimit, full: full, plan: plan, unusable: reading.unusable)
        }
        let skipped = try await apply(plan, source: source, actor: actor, progress: progress)
        let newest = [state?.newestChange, reading.newestChange].compactMap { $0 }.max()
        try await store.change { [audit] transaction in
            try transaction.save(
                DirectorySyncState(
                    source: source, newestChange: newest, lastRunAt: startedAt,
                    lastFullAt: full ? startedAt : state?.lastFullAt,
                    lastRun: DirectorySyncRun(stopped: false, full: full, plan: plan)))
            try audit.record(
                Self.summary(plan, source: source, full: full, outcome: .applied, actor: actor, skipped: skipped.count),
                in: transaction, at: startedAt)
        }
        return Report(outcome: .applied, full: full, plan: plan, unusable: reading.unusable, skipped: skipped)
    }

    /// Applies the plan; returns the managed IDs of accounts skipped because they changed meanwhile.
    private func apply(_ plan: SyncPlan, source: AccountSource, actor: Actor, progress: @Sendable (Int, Int) -> Void)
        async throws -> [String]
    {
        enum Step: Sendable {
            case create(Account)
            case update(SyncPlan.Change)
            case deactivate(SyncPlan.Change)
        }
        // Deactivations last: if writing fails midway, nobody has been shut out yet.
        let steps =
            plan.creates.map(Step.create) + plan.updates.map(Step.update) + plan.deactivations.map(Step.deactivate)
        var done = 0
        var skipped: [String] = []
        for start in stride(from: 0, to: steps.count, by: Self.batchSize) {
            let batch = Array(steps[start..<min(start + Self.batchSize, steps.count)])
            let at = now()
            skipped += try await store.change { [audit] transaction -> [String] in
                var stale: [String] = []
                /// Writes `change` unless the account changed since the read (then it waits for the next run).
                func update(_ change: SyncPlan.Change) throws -> Bool {
                    do {
                        try transaction.update(change.after, expectedVersion: change.before.version)
                        return true
                    } catch let error as StoreError where error.kind == .staleVersion || error.kind == .notFound {
                        stale.append(change.before.managedID.rawValue)
                        return false
                    }
                }
                for step in batch {
                    switch step {
                    case .create(let account):
                        do {
                            try transaction.insert(account)
                        } catch let error as StoreError where error.kind == .duplicate {
                            // Created meanwhile (a first sign-in): the next run refreshes it.
                            stale.append(account.managedID.rawValue)
                            continue
                        }
                        try audit.record(
                            AuditRecord.account(account, action: "account.create", actor: actor, before: nil),
                            in: transaction, at: at)
                    case .update(let change):
                        guard try update(change) else { continue }
                        let reactivated = change.before.state == .deactivated && change.after.state == .active
                        if reactivated {
                            try transaction.setSyncDeactivated(accountID: change.after.id, source: source, false)
                        }
                        try audit.record(
                            AuditRecord.account(
                                change.after, action: reactivated ? "account.reactivate" : "account.directory_refresh",
                                actor: actor, before: change.before),
                            in: transaction, at: at)
                    case .deactivate(let change):
                        guard try update(change) else { continue }
                        try transaction.setSyncDeactivated(accountID: change.after.id, source: source, true)
                        try AccountService.endSignIns(transaction, change.after, at)
                        try audit.record(
                            AuditRecord.account(
                                change.after, action: "account.deactivate", actor: actor, before: change.before),
                            in: transaction, at: at)
                    }
                }
                return stale
            }
            done += batch.count
            progress(done, steps.count)
        }
        return skipped
    }

    static func summary(
        _ plan: SyncPlan, source: AccountSource, full: Bool, outcome: Outcome, actor: Actor, skipped: Int = 0
    ) -> AuditRecord {
        let counts =
            "{\"outcome\":\"\(outcome.rawValue)\",\"full\":\(full),\"created\":\(plan.creates.count),"
            + "\"updated\":\(plan.updates.count),\"deactivated\":\(plan.deactivations.count),"
            + "\"conflicts\":\(plan.conflicts.count),\"unchanged\":\(plan.unchanged),\"skipped\":\(skipped)}"
        return AuditRecord(
            actor: actor, action: "directory.sync", targetType: "directory", targetID: source.rawValue,
            targetName: source.rawValue, before: nil, after: counts)
    }
}
