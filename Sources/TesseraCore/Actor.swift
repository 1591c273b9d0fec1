/// Who performs an action: recorded in the audit log and checked against `RoleAuthority`.
public enum Actor: Sendable, Equatable, CustomStringConvertible {
    /// The machine's operator at the command line: administrator rights, audited by Unix user name.
    case localOperator(unixUser: String)
    /// A managed account, limited by its roles.
    case account(id: String, managedID: ManagedAccountID, roles: Set<Role>)
    /// The server itself (scheduled jobs such as the retention purge).
    case system(job: String)

    public var roles: Set<Role> {
        switch self {
        case .localOperator, .system: [.administrator]
        case .account(_, _, let roles): roles
        }
    }

    /// The stable form written to the audit log.
    public var description: String {
        switch self {
        case .localOperator(let user): "operator:\(user)"
        case .account(_, let managedID, _): "account:\(managedID)"
        case .system(let job): "system:\(job)"
        }
    }
}
