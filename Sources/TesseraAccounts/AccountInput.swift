public import TesseraCore

/// A new account as an administrator (CLI flag, CSV row, admin API) describes it: raw text, checked by
/// `AccountService`.
public struct NewAccount: Sendable, Equatable {
    public var managedID: String
    public var givenName: String
    public var familyName: String
    public var email: String?
    public var employeeNumber: String?
    public var department: String?
    public var roles: [String]
    public var source: String

    public init(
        managedID: String, givenName: String, familyName: String, email: String? = nil, employeeNumber: String? = nil,
        department: String? = nil, roles: [String] = [], source: String = AccountSource.local.rawValue
    ) {
        self.managedID = managedID
        self.givenName = givenName
        self.familyName = familyName
        self.email = email
        self.employeeNumber = employeeNumber
        self.department = department
        self.roles = roles
        self.source = source
    }
}

/// Changes to an account; nil leaves a field as it is, an empty string clears an optional field.
public struct AccountChanges: Sendable, Equatable {
    public var givenName: String?
    public var familyName: String?
    public var email: String?
    public var employeeNumber: String?
    public var department: String?
    /// Replaces the roles when set.
    public var roles: [String]?

    public init(
        givenName: String? = nil, familyName: String? = nil, email: String? = nil, employeeNumber: String? = nil,
        department: String? = nil, roles: [String]? = nil
    ) {
        self.givenName = givenName
        self.familyName = familyName
        self.email = email
        self.employeeNumber = employeeNumber
        self.department = department
        self.roles = roles
    }

    public var isEmpty: Bool { self == AccountChanges() }
    var changesProfile: Bool {
        givenName != nil || familyName != nil || email != nil || employeeNumber != nil || department != nil
    }
}

/// An account with the temporary password it was given, shown once.
public struct IssuedAccount: Sendable {
    public var account: Account
    public var temporaryPassword: String?

    public init(account: Account, temporaryPassword: String?) {
        self.account = account
        self.temporaryPassword = temporaryPassword
    }
}

/// A bad row of an import, by its line number in the file.
public struct ImportRowError: Sendable, Equatable, CustomStringConvertible {
    public var line: Int
    public var message: String
    public init(line: Int, message: String) {
        self.line = line
        self.message = message
    }
    public var description: String { "line \(line): \(message)" }
}

/// An import refused as a whole; nothing was written.
public struct ImportError: Error, Sendable, CustomStringConvertible {
    public var rows: [ImportRowError]
    public init(rows: [ImportRowError]) { self.rows = rows }
    public var description: String {
        "import refused, nothing written: \(rows.count) bad row\(rows.count == 1 ? "" : "s")"
    }
}
