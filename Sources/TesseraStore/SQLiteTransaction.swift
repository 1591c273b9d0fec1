import TesseraCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Queries and changes inside one SQLite transaction. Parameterised SQL only.
struct SQLiteTransaction: StoreTransaction {
    let connection: SQLiteConnection

    private static let accountColumns = """
        id, managed_id, given_name, family_name, email, employee_number, department, source, external_id, state,
        password_hash, password_temporary, password_expires_at, failed_login_count, locked_at, version, created_at,
        updated_at, deactivated_at,
        (SELECT group_concat(role) FROM account_roles WHERE account_id = accounts.id)
        """

    func account(id: String) throws -> Account? {
        try connection.query("SELECT \(Self.accountColumns) FROM accounts WHERE id = ?", [.text(id)], Self.account)
            .first
    }

    func account(managedID: ManagedAccountID) throws -> Account? {
        try connection.query(
            "SELECT \(Self.accountColumns) FROM accounts WHERE managed_id = ?", [.text(managedID.rawValue)],
            Self.account
        )
        .first
    }

    func account(source: AccountSource, externalID: String) throws -> Account? {
        try connection.query(
            "SELECT \(Self.accountColumns) FROM accounts WHERE source = ? AND external_id = ?",
            [.text(source.rawValue), .text(externalID)], Self.account
        )
        .first
    }

    func directorySyncState(source: AccountSource) throws -> DirectorySyncState? {
        try connection.query(
            """
            SELECT newest_change, last_run_at, last_full_at, last_stopped, last_full, last_created, last_updated,
                last_deactivated, last_conflicts, last_unchanged
            FROM directory_sync_state WHERE source = ?
            """,
            [.text(source.rawValue)]
        ) { row in
            var lastRun: DirectorySyncRun?
            if !row.isNull(3) {
                lastRun = DirectorySyncRun(
                    stopped: row.int(3) != 0, full: row.int(4) != 0, created: Int(row.int(5)),
                    updated: Int(row.int(6)), deactivated: Int(row.int(7)), conflicts: Int(row.int(8)),
                    unchanged: Int(row.int(9)))
            }
            return DirectorySyncState(
                source: source, newestChange: row.text(0), lastRunAt: row.date(1), lastFullAt: row.date(2),
                lastRun: lastRun)
        }
        .first
    }

    func syncDeactivatedAccountIDs(source: AccountSource) throws -> Set<String> {
        Set(
            try connection.query(
                "SELECT account_id FROM directory_sync_deactivations WHERE source = ?", [.text(source.rawValue)]
            ) { try $0.requiredText(0) })
    }

    func setSyncDeactivated(accountID: String, source: AccountSource, _ deactivated: Bool) throws {
        if deactivated {
            try connection.execute(
                "INSERT OR REPLACE INTO directory_sync_deactivations (account_id, source) VALUES (?, ?)",
                [.text(accountID), .text(source.rawValue)])
        } else {
            try connection.execute("DELETE FROM directory_sync_deactivations WHERE account_id = ?", [.text(accountID)])
        }
    }

    func save(_ state: DirectorySyncState) throws {
        try connection.execute(
            """
            INSERT INTO directory_sync_state (source, newest_change, last_run_at, last_full_at, last_stopped, last_full,
                last_created, last_updated, last_deactivated, last_conflicts, last_unchanged)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (source) DO UPDATE SET newest_change = excluded.newest_change,
                last_run_at = excluded.last_run_at, last_full_at = excluded.last_full_at,
                last_stopped = excluded.last_stopped, last_full = excluded.last_full,
                last_created = excluded.last_created, last_updated = excluded.last_updated,
                last_deactivated = excluded.last_deactivated, last_conflicts = excluded.last_conflicts,
                last_unchanged = excluded.last_unchanged
            """,
            [
                .text(state.source.rawValue), .optional(state.newestChange), .optionalDate(state.lastRunAt),
                .optionalDate(state.lastFullAt),
            ]
                + [
                    state.lastRun.map { $0.stopped ? 1 : 0 }, state.lastRun.map { $0.full ? 1 : 0 },
                    state.lastRun?.created, state.lastRun?.updated, state.lastRun?.deactivated,
                    state.lastRun?.conflicts, state.lastRun?.unchanged,
                ].map { $0.map { .integer(Int64($0)) } ?? .null })
    }

    func accounts(matching query: AccountQuery) throws -> [Account] {
        var conditions: [String] = []
        var bindings: [SQLiteValue] = []
        if let state = query.state {
            conditions.append("state = ?")
            bindings.append(.text(state.rawValue))
        }
        if let source = query.source {
            conditions.append("source = ?")
            bindings.append(.text(source.rawValue))
        }
        if let role = query.role {
            conditions.append("EXISTS (SELECT 1 FROM account_roles r WHERE r.account_id = accounts.id AND r.role = ?)")
            bindings.append(.text(role.rawValue))
        }
        if let prefix = query.managedIDPrefix {
            // LIKE with an escape character, so '_' and '%' in the prefix match literally.
            conditions.append("managed_id LIKE ? ESCAPE '\\'")
            bindings.append(.text(Self.escapeLike(prefix.lowercased()) + "%"))
        }
        if let after = query.after {
            conditions.append("managed_id > ?")
            bindings.append(.text(after.lowercased()))
        }
        var sql = "SELECT \(Self.accountColumns) FROM accounts"
        if !conditions.isEmpty { sql += " WHERE " + conditions.joined(separator: " AND ") }
        sql += " ORDER BY managed_id"
        if let limit = query.limit {
            sql += " LIMIT ?"
            bindings.append(.integer(Int64(limit)))
        }
        return try connection.query(sql, bindings, Self.account)
    }

    func accountsDeactivated(before cutoff: Date, source: AccountSource) throws -> [Account] {
        try connection.query(
            "SELECT \(Self.accountColumns) FROM accounts WHERE state = 'deactivated' AND source = ? AND deactivated_at <= ? ORDER BY managed_id",
            [.text(source.rawValue), .date(cutoff)], Self.account)
    }

    func insert(_ account: Account) throws {
        try connection.execute(
            """
            INSERT INTO accounts (id, managed_id, given_name, family_name, email, employee_number, department, source,
                external_id, state, password_hash, password_temporary, password_expires_at, failed_login_count, locked_at,
                version, created_at, updated_at, deactivated_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
            [.text(account.id), .text(account.managedID.rawValue)] + Self.mutableValues(account)
                + [.date(account.createdAt), .date(account.updatedAt), .optionalDate(account.deactivatedAt)])
        try writeRoles(account)
    }

    func update(_ account: Account, expectedVersion: Int) throws {
        try connection.execute(
            """
            UPDATE accounts SET managed_id = ?, given_name = ?, family_name = ?, email = ?, employee_number = ?,
                department = ?, source = ?, external_id = ?, state = ?, password_hash = ?, password_temporary = ?,
                password_expires_at = ?, failed_login_count = ?, locked_at = ?, version = ?, updated_at = ?,
                deactivated_at = ?
            WHERE id = ? AND version = ?
            """,
            [.text(account.managedID.rawValue)] + Self.mutableValues(account)
                + [
                    .date(account.updatedAt), .optionalDate(account.deactivatedAt), .text(account.id),
                    .integer(Int64(expectedVersion)),
                ])
        if connection.changes == 0 {
            let exists = try connection.query("SELECT 1 FROM accounts WHERE id = ?", [.text(account.id)]) { $0.int(0) }
            throw exists.isEmpty
                ? StoreError(.notFound, "account \(account.managedID) no longer exists")
                : StoreError(.staleVersion, "account \(account.managedID) was changed by someone else")
        }
        try connection.execute("DELETE FROM account_roles WHERE account_id = ?", [.text(account.id)])
        try writeRoles(account)
    }

    func deleteAccount(id: String) throws {
        try connection.execute("DELETE FROM accounts WHERE id = ?", [.text(id)])
        if connection.changes == 0 {
            throw StoreError(.notFound, "account \(id) no longer exists")
        }
    }

    func lastAuditEntry() throws -> AuditEntry? {
        try connection.query(
            "SELECT \(Self.auditColumns) FROM audit_log ORDER BY sequence DESC LIMIT 1", [], Self.auditEntry
        ).first
    }

    func auditEntries(from sequence: Int64, limit: Int) throws -> [AuditEntry] {
        try connection.query(
            "SELECT \(Self.auditColumns) FROM audit_log WHERE sequence >= ? ORDER BY sequence LIMIT ?",
            [.integer(sequence), .integer(Int64(limit))], Self.auditEntry)
    }

    func auditEntry(sequence: Int64) throws -> AuditEntry? {
        try connection.query(
            "SELECT \(Self.auditColumns) FROM audit_log WHERE sequence = ?", [.integer(sequence)], Self.auditEntry
        ).first
    }

    func append(_ entry: AuditEntry) throws {
        try connection.execute(
            """
            INSERT INTO audit_log (sequence, at, actor, action, target_type, target_id, target_name, before_json,
                after_json, previous_hash, hash)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
            [
                .integer(entry.sequence), .date(entry.at), .text(entry.actor), .text(entry.action),
                .text(entry.targetType),
                .text(entry.targetID), .text(entry.targetName), .optional(entry.before), .optional(entry.after),
                .text(entry.previousHash), .text(entry.hash),
            ])
    }

    // MARK: - Mapping

    /// Columns from given_name to locked_at, then version, in table order.
    private static func mutableValues(_ account: Account) -> [SQLiteValue] {
        [
            .text(account.givenName), .text(account.familyName), .optional(account.email),
            .optional(account.employeeNumber),
            .optional(account.department), .text(account.source.rawValue), .optional(account.externalID),
            .text(account.state.rawValue), .optional(account.credential?.hash),
            .integer(account.credential?.isTemporary == true ? 1 : 0), .optionalDate(account.credential?.expiresAt),
            .integer(Int64(account.failedLoginCount)), .optionalDate(account.lockedAt),
            .integer(Int64(account.version)),
        ]
    }

    private func writeRoles(_ account: Account) throws {
        for role in account.roles.sorted() {
            try connection.execute(
                "INSERT INTO account_roles (account_id, role) VALUES (?, ?)", [.text(account.id), .text(role.rawValue)])
        }
    }

    private static func account(_ row: SQLiteRow) throws -> Account {
        let source = try AccountSource(parsing: row.requiredText(7))
        let state = try AccountState(parsing: row.requiredText(9))
        let credential = row.text(10).map { hash in
            PasswordCredential(hash: hash, isTemporary: row.int(11) == 1, expiresAt: row.date(12))
        }
        let roles = try (row.text(19) ?? "").split(separator: ",").map { try Role(parsing: String($0)) }
        guard let created = row.date(16), let updated = row.date(17) else {
            throw StoreError(.corrupt, "account row without timestamps")
        }
        return Account(
            id: try row.requiredText(0), managedID: ManagedAccountID(trusted: try row.requiredText(1)),
            givenName: try row.requiredText(2), familyName: try row.requiredText(3), email: row.text(4),
            employeeNumber: row.text(5), department: row.text(6), roles: Set(roles), source: source,
            externalID: row.text(8), state: state, credential: credential, failedLoginCount: Int(row.int(13)),
            lockedAt: row.date(14), version: Int(row.int(15)), createdAt: created, updatedAt: updated,
            deactivatedAt: row.date(18))
    }

    private static let auditColumns =
        "sequence, at, actor, action, target_type, target_id, target_name, before_json, after_json, previous_hash, hash"

    private static func auditEntry(_ row: SQLiteRow) throws -> AuditEntry {
        guard let at = row.date(1) else { throw StoreError(.corrupt, "audit entry without time") }
        return AuditEntry(
            sequence: row.int(0), at: at, actor: try row.requiredText(2), action: try row.requiredText(3),
            targetType: try row.requiredText(4), targetID: try row.requiredText(5), targetName: try row.requiredText(6),
            before: row.text(7), after: row.text(8), previousHash: try row.requiredText(9),
            hash: try row.requiredText(10))
    }

    private static func escapeLike(_ text: String) -> String {
        var escaped = ""
        for character in text {
            if character == "\\" || character == "%" || character == "_" { escaped.append("\\") }
            escaped.append(character)
        }
        return escaped
    }
}
