import Foundation
import TesseraCore

/// OAuth clients and signing keys in SQLite.
extension SQLiteTransaction {
    private static let clientColumns = """
        id, name, type, secret_hash, public_keys, grants, redirect_uris, scopes, access_token_lifetime,
        refresh_token_lifetime, pkce, role, version, created_at, updated_at
        """

    func client(id: String) throws -> OAuthClient? {
        try connection.query("SELECT \(Self.clientColumns) FROM oauth_clients WHERE id = ?", [.text(id)], Self.client)
            .first
    }

    func client(name: String) throws -> OAuthClient? {
        try connection.query(
            "SELECT \(Self.clientColumns) FROM oauth_clients WHERE name = ?", [.text(name)], Self.client
        ).first
    }

    func clients() throws -> [OAuthClient] {
        try connection.query("SELECT \(Self.clientColumns) FROM oauth_clients ORDER BY name", [], Self.client)
    }

    func insert(_ client: OAuthClient) throws {
        try connection.execute(
            "INSERT INTO oauth_clients (\(Self.clientColumns)) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [.text(client.id)] + Self.clientValues(client) + [.date(client.createdAt), .date(client.updatedAt)])
    }

    func update(_ client: OAuthClient, expectedVersion: Int) throws {
        try connection.execute(
            """
            UPDATE oauth_clients SET name = ?, type = ?, secret_hash = ?, public_keys = ?, grants = ?, redirect_uris = ?,
                scopes = ?, access_token_lifetime = ?, refresh_token_lifetime = ?, pkce = ?, role = ?, version = ?,
                updated_at = ?
            WHERE id = ? AND version = ?
            """,
            Self.clientValues(client) + [.date(client.updatedAt), .text(client.id), .integer(Int64(expectedVersion))])
        if connection.changes == 0 {
            throw try self.client(id: client.id) == nil
                ? StoreError(.notFound, "client \(client.name) no longer exists")
                : StoreError(.staleVersion, "client \(client.name) was changed by someone else")
        }
    }

    func deleteClient(id: String) throws {
        try connection.execute("DELETE FROM oauth_clients WHERE id = ?", [.text(id)])
        if connection.changes == 0 { throw StoreError(.notFound, "client \(id) no longer exists") }
    }

    /// Columns name … version, in table order.
    private static func clientValues(_ client: OAuthClient) -> [SQLiteValue] {
        [
            .text(client.name), .text(client.type.rawValue), .optional(client.secretHash),
            .text(json(client.publicKeys)),
            .text(client.grants.sorted().map(\.rawValue).joined(separator: " ")), .text(json(client.redirectURIs)),
            .text(client.scopes.sorted().joined(separator: " ")),
            .integer(client.accessTokenLifetime.components.seconds),
            .integer(client.refreshTokenLifetime.components.seconds), .text(client.pkce.rawValue),
            .optional(client.role?.rawValue),
            .integer(Int64(client.version)),
        ]
    }

    private static func client(_ row: SQLiteRow) throws -> OAuthClient {
        guard let type = ClientType(rawValue: try row.requiredText(2)),
            let pkce = PKCEPolicy(rawValue: try row.requiredText(10)),
            let created = row.date(13), let updated = row.date(14)
        else {
            throw StoreError(.corrupt, "malformed oauth_clients row")
        }
        return OAuthClient(
            id: try row.requiredText(0), name: try row.requiredText(1), type: type, secretHash: row.text(3),
            publicKeys: try strings(try row.requiredText(4)),
            grants: Set(try row.requiredText(5).split(separator: " ").map { try GrantType(parsing: String($0)) }),
            redirectURIs: try strings(try row.requiredText(6)),
            scopes: Set(try row.requiredText(7).split(separator: " ").map(String.init)),
            accessTokenLifetime: .seconds(row.int(8)), refreshTokenLifetime: .seconds(row.int(9)), pkce: pkce,
            role: try row.text(11).map(Role.init(parsing:)), version: Int(row.int(12)), createdAt: created,
            updatedAt: updated)
    }

    // MARK: - Signing keys

    private static let keyColumns =
        "kid, algorithm, state, sealed_private_key, public_jwk, created_at, activates_at, retired_at, remove_after"

    func signingKeys() throws -> [SigningKeyRecord] {
        try connection.query("SELECT \(Self.keyColumns) FROM signing_keys ORDER BY created_at", []) { row in
            guard let state = SigningKeyState(rawValue: try row.requiredText(2)), let created = row.date(5),
                let activates = row.date(6)
            else {
                throw StoreError(.corrupt, "malformed signing_keys row")
            }
            return SigningKeyRecord(
                id: try row.requiredText(0), algorithm: try row.requiredText(1), state: state,
                sealedPrivateKey: row.blob(3),
                publicJWK: try row.requiredText(4), createdAt: created, activatesAt: activates, retiredAt: row.date(7),
                removeAfter: row.date(8))
        }
    }

    func insert(_ key: SigningKeyRecord) throws {
        try connection.execute(
            "INSERT INTO signing_keys (\(Self.keyColumns)) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                .text(key.id), .text(key.algorithm), .text(key.state.rawValue), .blob(key.sealedPrivateKey),
                .text(key.publicJWK),
                .date(key.createdAt), .date(key.activatesAt), .optionalDate(key.retiredAt),
                .optionalDate(key.removeAfter),
            ])
    }

    func update(_ key: SigningKeyRecord) throws {
        try connection.execute(
            "UPDATE signing_keys SET state = ?, activates_at = ?, retired_at = ?, remove_after = ? WHERE kid = ?",
            [
                .text(key.state.rawValue), .date(key.activatesAt), .optionalDate(key.retiredAt),
                .optionalDate(key.removeAfter), .text(key.id),
            ])
        if connection.changes == 0 { throw StoreError(.notFound, "signing key \(key.id) no longer exists") }
    }

    func deleteSigningKey(id: String) throws {
        try connection.execute("DELETE FROM signing_keys WHERE kid = ?", [.text(id)])
    }

    // MARK: - JSON text columns

    private static func json(_ strings: [String]) -> String {
        // Arrays of strings only; JSONSerialization escapes them.
        String(
            decoding: try! JSONSerialization.data(withJSONObject: strings, options: [.withoutEscapingSlashes]),
            as: UTF8.self)
    }

    private static func strings(_ text: String) throws -> [String] {
        guard let value = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String] else {
            throw StoreError(.corrupt, "malformed JSON list in the database")
        }
        return value
    }
}
