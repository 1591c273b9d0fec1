/// The error every domain rule and service reports. `kind` is stable and maps once to an HTTP status,
/// SCIM/OAuth error or CLI exit status; `message` is one human sentence that names the rule broken.
public struct CoreError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        /// The input breaks a rule (bad managed ID, unknown role, wrong state for the action).
        case invalidInput = "invalid_input"
        /// The named thing does not exist.
        case notFound = "not_found"
        /// The change conflicts with what is stored (duplicate ID, stale version, wrong state).
        case conflict
        /// The actor may not do this.
        case notPermitted = "not_permitted"
        /// The credential is wrong, expired or locked.
        case unauthenticated
        /// A system we depend on (the directory) cannot answer now; trying again later may work.
        case unavailable
        /// A fault of ours or of a system we depend on.
        case `internal`
    }

    public var kind: Kind
    /// A stable, specific code, e.g. `managed_id.local_part_charset`.
    public var code: String
    public var message: String

    public init(_ kind: Kind, _ code: String, _ message: String) {
        self.kind = kind
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
