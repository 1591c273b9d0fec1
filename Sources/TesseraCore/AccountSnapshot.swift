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
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Encoding plain strings, numbers and bools cannot fail.
        let data = try! encoder.encode(snapshot)
        return String(decoding: data, as: UTF8.self)
    }
}
