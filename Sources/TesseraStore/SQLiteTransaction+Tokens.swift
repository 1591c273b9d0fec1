import Foundation
import TesseraCore

/// Token families, authorization codes, refresh tokens and revocations in SQLite.
extension SQLiteTransaction {
    func tokenFamily(id: String) throws -> TokenFamily? {
        try connection.query(
            "SELECT id, client_id, account_id, created_at, expires_at, revoked_at, revoked_reason FROM token_families WHERE id = ?",
            [.text(id)]
        ) { row in
            guard let created = row.date(3), let expires = row.date(4) else {
                throw StoreError(.corrupt, "malformed token_families row")
            }
            return TokenFamily(
                id: try row.requiredText(0), clientID: try row.requiredText(1), accountID: row.text(2),
                createdAt: created,
                expiresAt: expires, revokedAt: row.date(5), revokedReason: row.text(6))
        }.first
    }

    func insert(_ family: TokenFamily) throws {
        try connection.execute(
            "INSERT INTO token_families (id, client_id, account_id, created_at, expires_at, revoked_at, revoked_reason) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                .text(family.id), .text(family.clientID), .optional(family.accountID), .date(family.createdAt),
                .date(family.expiresAt),
                .optionalDate(family.revokedAt), .optional(family.revokedReason),
            ])
    }

    func revokeTokenFamily(id: String, at: Date, reason: String) throws {
        try connection.execute(
            "UPDATE token_families SET revoked_at = ?, revoked_reason = ? WHERE id = ? AND revoked_at IS NULL",
            [.date(at), .text(reason), .text(id)])
    }

    func authorizationCode(hash: String) throws -> AuthorizationCode? {
        try connection.query(
            """
            SELECT code_hash, family_id, client_id, account_id, redirect_uri, scope, code_challenge, created_at, expires_at, used_at
            FROM authorization_codes WHERE code_hash = ?
            """, [.text(hash)]
        ) { row in
            guard let created = row.date(7), let expires = row.date(8) else {
                throw StoreError(.corrupt, "malformed authorization_codes row")
            }
            return AuthorizationCode(
                codeHash: try row.requiredText(0), familyID: try row.requiredText(1), clientID: try row.requiredText(2),
                accountID: try row.requiredText(3), redirectURI: try row.requiredText(4),
                scope: Self.scopeSet(try row.requiredText(5)),
                codeChallenge: row.text(6), createdAt: created, expiresAt: expires, usedAt: row.date(9))
        }.first
    }

    func insert(_ code: AuthorizationCode) throws {
        try connection.execute(
            """
            INSERT INTO authorization_codes (code_hash, family_id, client_id, account_id, redirect_uri, scope, code_challenge,
                created_at, expires_at, used_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
            [
                .text(code.codeHash), .text(code.familyID), .text(code.clientID), .text(code.accountID),
                .text(code.redirectURI),
                .text(Self.scopeText(code.scope)), .optional(code.codeChallenge), .date(code.createdAt),
                .date(code.expiresAt),
                .optionalDate(code.usedAt),
            ])
    }

    func markAuthorizationCodeUsed(hash: String, at: Date) throws -> Bool {
        try connection.execute(
            "UPDATE authorization_codes SET used_at = ? WHERE code_hash = ? AND used_at IS NULL",
            [.date(at), .text(hash)])
        return connection.changes == 1
    }

    func refreshToken(hash: String) throws -> RefreshToken? {
        try connection.query(
            "SELECT token_hash, family_id, scope, created_at, expires_at, used_at FROM refresh_tokens WHERE token_hash = ?",
            [.text(hash)]
        ) { row in
            guard let created = row.date(3), let expires = row.date(4) else {
                throw StoreError(.corrupt, "malformed refresh_tokens row")
            }
            return RefreshToken(
                tokenHash: try row.requiredText(0), familyID: try row.requiredText(1),
                scope: Self.scopeSet(try row.requiredText(2)),
                createdAt: created, expiresAt: expires, usedAt: row.date(5))
        }.first
    }

    func insert(_ token: RefreshToken) throws {
        try connection.execute(
            "INSERT INTO refresh_tokens (token_hash, family_id, scope, created_at, expires_at, used_at) VALUES (?, ?, ?, ?, ?, ?)",
            [
                .text(token.tokenHash), .text(token.familyID), .text(Self.scopeText(token.scope)),
                .date(token.createdAt),
                .date(token.expiresAt), .optionalDate(token.usedAt),
            ])
    }

    func markRefreshTokenUsed(hash: String, at: Date) throws -> Bool {
        try connection.execute(
            "UPDATE refresh_tokens SET used_at = ? WHERE token_hash = ? AND used_at IS NULL", [.date(at), .text(hash)])
        return connection.changes == 1
    }

    func recordFamilyAccessToken(jti: String, familyID: String, expiresAt: Date) throws {
        try connection.execute(
            "INSERT INTO family_access_tokens (jti, family_id, expires_at) VALUES (?, ?, ?)",
            [.text(jti), .text(familyID), .date(expiresAt)])
    }

    func tokenFamilyID(accessTokenJTI jti: String) throws -> String? {
        try connection.query("SELECT family_id FROM family_access_tokens WHERE jti = ?", [.text(jti)]) {
            try $0.requiredText(0)
        }.first
    }

    func revokeAccessToken(jti: String, expiresAt: Date) throws {
        try connection.execute(
            "INSERT INTO revoked_access_tokens (jti, expires_at) VALUES (?, ?) ON CONFLICT (jti) DO NOTHING",
            [.text(jti), .date(expiresAt)])
    }

    func isAccessTokenRevoked(jti: String) throws -> Bool {
        let rows = try connection.query(
            """
            SELECT 1 FROM revoked_access_tokens WHERE jti = ?
            UNION ALL
            SELECT 1 FROM family_access_tokens a JOIN token_families f ON f.id = a.family_id
            WHERE a.jti = ? AND f.revoked_at IS NOT NULL
            LIMIT 1
            """, [.text(jti), .text(jti)]
        ) { $0.int(0) }
        return !rows.isEmpty
    }

    func recordClientAssertion(clientID: String, jti: String, expiresAt: Date) throws -> Bool {
        try connection.execute(
            "INSERT INTO client_assertions (client_id, jti, expires_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
            [.text(clientID), .text(jti), .date(expiresAt)])
        return connection.changes == 1
    }

    func browserSessionAccount(idHash: String, at: Date) throws -> String? {
        try connection.query(
            "SELECT account_id FROM browser_sessions WHERE id_hash = ? AND expires_at > ?", [.text(idHash), .date(at)]
        ) { try $0.requiredText(0) }.first
    }

    func insertBrowserSession(idHash: String, accountID: String, createdAt: Date, expiresAt: Date) throws {
        try connection.execute(
            "INSERT INTO browser_sessions (id_hash, account_id, created_at, expires_at) VALUES (?, ?, ?, ?)",
            [.text(idHash), .text(accountID), .date(createdAt), .date(expiresAt)])
    }

    func revokeTokenFamilies(accountID: String, at: Date, reason: String) throws {
        try connection.execute(
            "UPDATE token_families SET revoked_at = ?, revoked_reason = ? WHERE account_id = ? AND revoked_at IS NULL",
            [.date(at), .text(reason), .text(accountID)])
    }

    func deleteBrowserSessions(accountID: String) throws {
        try connection.execute("DELETE FROM browser_sessions WHERE account_id = ?", [.text(accountID)])
    }

    func deleteBrowserSession(idHash: String) throws {
        try connection.execute("DELETE FROM browser_sessions WHERE id_hash = ?", [.text(idHash)])
    }

    func purgeExpiredTokens(before now: Date) throws -> Int {
        var removed = 0
        for table in [
            "authorization_codes", "refresh_tokens", "family_access_tokens", "revoked_access_tokens",
            "client_assertions", "browser_sessions",
        ] {
            try connection.execute("DELETE FROM \(table) WHERE expires_at < ?", [.date(now)])
            removed += connection.changes
        }
        // A family goes once nothing of it can be used any more.
        try connection.execute("DELETE FROM token_families WHERE expires_at < ?", [.date(now)])
        removed += connection.changes
        return removed
    }

    private static func scopeText(_ scope: Set<String>) -> String { scope.sorted().joined(separator: " ") }
    private static func scopeSet(_ text: String) -> Set<String> { Set(text.split(separator: " ").map(String.init)) }
}
