public import Foundation
public import TesseraCore
public import TesseraPlatform

/// The JSON shapes of the domain, shared by the CLI's `--json` and the HTTP API: snake_case names,
/// RFC 3339 UTC times, absent values as `null`, never a secret (except a temporary password, once,
/// when it is issued).
public enum Representation {
    public static func write(_ account: Account, temporaryPassword: String? = nil, to json: inout JSONWriter) {
        json.beginObject()
        json.key("id"); json.string(account.id)
        json.key("managed_id"); json.string(account.managedID.rawValue)
        json.key("given_name"); json.string(account.givenName)
        json.key("family_name"); json.string(account.familyName)
        json.key("email"); optional(account.email, &json)
        json.key("employee_number"); optional(account.employeeNumber, &json)
        json.key("department"); optional(account.department, &json)
        json.key("roles")
        json.beginArray()
        for role in account.roles.sorted() { json.string(role.rawValue) }
        json.endArray()
        json.key("source"); json.string(account.source.rawValue)
        json.key("external_id"); optional(account.externalID, &json)
        json.key("state"); json.string(account.state.rawValue)
        json.key("locked"); json.bool(account.isLocked)
        json.key("has_password"); json.bool(account.credential != nil)
        json.key("password_temporary"); json.bool(account.credential?.isTemporary ?? false)
        json.key("password_expires_at"); optional(account.credential?.expiresAt.map(Timestamp.text), &json)
        json.key("failed_login_count"); json.int(account.failedLoginCount)
        json.key("version"); json.int(account.version)
        json.key("created_at"); json.string(Timestamp.text(account.createdAt))
        json.key("updated_at"); json.string(Timestamp.text(account.updatedAt))
        json.key("deactivated_at"); optional(account.deactivatedAt.map(Timestamp.text), &json)
        if let temporaryPassword {
            json.key("temporary_password"); json.string(temporaryPassword)
        }
        json.endObject()
    }

    public static func write(_ entry: AuditEntry, to json: inout JSONWriter) {
        json.beginObject()
        json.key("sequence"); json.int(Int(entry.sequence))
        json.key("at"); json.string(Timestamp.text(entry.at))
        json.key("actor"); json.string(entry.actor)
        json.key("action"); json.string(entry.action)
        json.key("target_type"); json.string(entry.targetType)
        json.key("target_id"); json.string(entry.targetID)
        json.key("target_name"); json.string(entry.targetName)
        json.key("before"); entry.before.map { json.raw(Array($0.utf8)) } ?? json.null()
        json.key("after"); entry.after.map { json.raw(Array($0.utf8)) } ?? json.null()
        json.key("previous_hash"); json.string(entry.previousHash)
        json.key("hash"); json.string(entry.hash)
        json.endObject()
    }

    public static func write(_ client: OAuthClient, secret: String? = nil, to json: inout JSONWriter) {
        json.beginObject()
        json.key("client_id"); json.string(client.id)
        json.key("name"); json.string(client.name)
        json.key("type"); json.string(client.type.rawValue)
        json.key("token_endpoint_auth_methods")
        json.beginArray()
        for method in client.authenticationMethods.map(\.rawValue).sorted() { json.string(method) }
        json.endArray()
        json.key("grant_types")
        json.beginArray()
        for grant in client.grants.sorted() { json.string(grant.rawValue) }
        json.endArray()
        json.key("redirect_uris")
        json.beginArray()
        for uri in client.redirectURIs { json.string(uri) }
        json.endArray()
        json.key("scope"); json.string(client.scopes.sorted().joined(separator: " "))
        json.key("public_keys"); json.int(client.publicKeys.count)
        json.key("pkce"); json.string(client.pkce.rawValue)
        json.key("role"); optional(client.role?.rawValue, &json)
        json.key("access_token_lifetime"); json.int(Int(client.accessTokenLifetime.components.seconds))
        json.key("refresh_token_lifetime"); json.int(Int(client.refreshTokenLifetime.components.seconds))
        json.key("version"); json.int(client.version)
        json.key("created_at"); json.string(Timestamp.text(client.createdAt))
        json.key("updated_at"); json.string(Timestamp.text(client.updatedAt))
        if let secret {
            json.key("client_secret"); json.string(secret)
        }
        json.endObject()
    }

    /// A signing key without its private half.
    public static func write(_ key: SigningKeyRecord, to json: inout JSONWriter) {
        json.beginObject()
        json.key("kid"); json.string(key.id)
        json.key("alg"); json.string(key.algorithm)
        json.key("state"); json.string(key.state.rawValue)
        json.key("created_at"); json.string(Timestamp.text(key.createdAt))
        json.key("activates_at"); json.string(Timestamp.text(key.activatesAt))
        json.key("retired_at"); optional(key.retiredAt.map(Timestamp.text), &json)
        json.key("remove_after"); optional(key.removeAfter.map(Timestamp.text), &json)
        json.key("jwk"); json.raw(Array(key.publicJWK.utf8))
        json.endObject()
    }

    private static func optional(_ value: String?, _ json: inout JSONWriter) {
        if let value { json.string(value) } else { json.null() }
    }
}
