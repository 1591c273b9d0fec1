/// The roles of the Apple Business Manager model (PROTOCOLS.md §3).
public enum Role: String, Sendable, CaseIterable, Comparable, Codable {
    case administrator
    case peopleManager = "people-manager"
    case deviceEnrolmentManager = "device-enrolment-manager"
    case contentManager = "content-manager"
    case staff

    public static func < (lhs: Role, rhs: Role) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }

    /// Parses a role name; accepts the canonical kebab-case names only.
    public init(parsing text: String) throws {
        guard let role = Role(rawValue: text.lowercased()) else {
            throw CoreError(
                .invalidInput, "role.unknown",
                "unknown role '\(ManagedAccountID.printable(text))' (roles: \(Role.allCases.map(\.rawValue).joined(separator: ", ")))"
            )
        }
        self = role
    }

    /// Administrators and People Managers keep a local credential and never sign in through federation,
    /// and a directory sync never overwrites them.
    public var isPrivileged: Bool { self == .administrator || self == .peopleManager }

    /// The roles that manage devices (Apple Business Manager's): list, un-enrol, act for the organisation.
    public static let deviceManagers: Set<Role> = [.administrator, .deviceEnrolmentManager]
}

/// Who may act on whom: the one table the CLI, SCIM and the admin API all consult.
///
/// Administrators act on everyone; People Managers act on People Managers, Device Enrolment Managers,
/// Content Managers and Staff; the other roles act on no one.
public enum RoleAuthority {
    /// The roles each role may act on.
    public static let table: [Role: Set<Role>] = [
        .administrator: Set(Role.allCases),
        .peopleManager: [.peopleManager, .deviceEnrolmentManager, .contentManager, .staff],
        .deviceEnrolmentManager: [],
        .contentManager: [],
        .staff: [],
    ]

    /// The roles an actor holding `roles` may act on.
    public static func governed(by roles: Set<Role>) -> Set<Role> {
        roles.reduce(into: Set<Role>()) { $0.formUnion(table[$1] ?? []) }
    }

    /// Whether an actor holding `actorRoles` may act on an account holding `targetRoles`.
    /// An account without roles counts as Staff.
    public static func may(_ actorRoles: Set<Role>, actOn targetRoles: Set<Role>) -> Bool {
        let governed = governed(by: actorRoles)
        let target = targetRoles.isEmpty ? [.staff] : targetRoles
        return target.isSubset(of: governed)
    }
}
