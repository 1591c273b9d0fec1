#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The audit view of an account: every field but secrets (the password hash appears only as
/// whether a password is set, and whether it is temporary).
struct AccountSnapshot: Encodable {
    var id: String
    var managed_id: String
    var given_name: String
    var family_name: String
    var email: String?
    var employee_number: String?
    var department: String?
    var roles: [String]
    var source: String
    var external_id: String?
    var state: String
    var has_password: Bool
    var password_temporary: Bool
    var locked: Bool
    var failed_login_count: Int
    var version: Int
}

extension Account {
    /// Deterministic JSON (sorted keys) of the account without secrets, for the audit log.
    public var auditSnapshot: String {
        let snapshot = AccountSnapshot(
            id: id, managed_id: managedID.rawValue, given_name: givenName, family_name: familyName, email: email,
            employee_number: employeeNumber, department: department, roles: roles.sorted().map(\.rawValue),
            source: source.rawValue, external_id: externalID, state: state.rawValue, has_password: credential != nil,
            password_temporary: credential?.isTemporary ?? false, locked: isLocked,
            failed_login_count: failedLoginCount,
            version: version)
        return canonicalJSON(snapshot)
    }
}

/// The audit view of a client: everything but the secret hash (only whether there is one).
struct ClientSnapshot: Encodable {
    var id: String
    var name: String
    var type: String
    var has_secret: Bool
    var public_keys: Int
    var grants: [String]
    var redirect_uris: [String]
    var scopes: [String]
    var access_token_lifetime: Int64
    var refresh_token_lifetime: Int64
    var pkce: String
    var role: String?
    var version: Int
}

extension OAuthClient {
    /// Deterministic JSON of the client without its secret hash, for the audit log.
    public var auditSnapshot: String {
        let snapshot = ClientSnapshot(
            id: id, name: name, type: type.rawValue, has_secret: secretHash != nil, public_keys: publicKeys.count,
            grants: grants.sorted().map(\.rawValue), redirect_uris: redirectURIs, scopes: scopes.sorted(),
            access_token_lifetime: accessTokenLifetime.components.seconds,
            refresh_token_lifetime: refreshTokenLifetime.components.seconds,
            pkce: pkce.rawValue, role: role?.rawValue, version: version)
        return canonicalJSON(snapshot)
    }
}

/// The audit view of a device.
struct DeviceSnapshot: Encodable {
    var kind: String
    var ownership: String
    var supervised: Bool
    var state: String
    var account_id: String?
    var serial_number: String?
    var udid: String?
    var product: String?
    var enrollment_id: String?
    var version: Int
}

extension Device {
    /// Deterministic JSON (sorted keys) of the device, for the audit log.
    public var auditSnapshot: String {
        canonicalJSON(
            DeviceSnapshot(
                kind: kind.rawValue, ownership: ownership.rawValue, supervised: supervised, state: state.rawValue,
                account_id: accountID, serial_number: serialNumber, udid: udid, product: product,
                enrollment_id: enrollmentID, version: version))
    }
}

extension AuditRecord {
    /// A change to a device: before and after as `Device.auditSnapshot`; `after` nil for a deletion.
    public static func device(_ device: Device, action: String, actor: Actor, before: Device?, after: Device?)
        -> AuditRecord
    {
        AuditRecord(
            actor: actor, action: action, targetType: "device", targetID: device.id,
            targetName: [device.kind.rawValue, device.product ?? "device"].joined(separator: " "),
            before: before?.auditSnapshot, after: after?.auditSnapshot)
    }
}

/// Sorted keys, no escaped slashes: the same bytes for the same value, every time.
func canonicalJSON(_ value: some Encodable) -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    // Encoding plain strings, numbers and bools cannot fail.
    return String(decoding: try! encoder.encode(value), as: UTF8.self)
}
