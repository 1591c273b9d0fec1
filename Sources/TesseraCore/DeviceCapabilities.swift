/// Who owns a device, which decides what the organisation may do to it.
public enum DeviceOwnership: String, Sendable, CaseIterable, Codable {
    /// Automated Device Enrolment (supervised) or account-driven Device Enrolment (not supervised).
    case organisation
    /// User Enrolment: the person's own device; the organisation manages only its managed scope.
    case personal
}

/// The management actions of the capability matrix (DESIGN.md, from Apple's deployment guide). Their
/// raw values are the action names of device-scoped token scopes (`device:<id>:<action>`), the admin
/// API and `tessera devices capabilities`.
public enum ManagementAction: String, Sendable, CaseIterable, Codable {
    case configureAccounts = "configure-accounts"
    case globalProxy = "global-proxy"
    case perAppVPN = "per-app-vpn"
    /// Install, configure and remove the organisation's (managed) apps.
    case manageWorkApps = "manage-work-apps"
    /// Install, configure and remove any app, the person's included.
    case manageAllApps = "manage-all-apps"
    case requirePasscode = "require-passcode"
    case requireComplexPasscode = "require-complex-passcode"
    /// The restrictions allowed on every enrolment.
    case enforceCertainRestrictions = "enforce-certain-restrictions"
    case enforceAllRestrictions = "enforce-all-restrictions"
    case inventoryWorkApps = "inventory-work-apps"
    case inventoryAllApps = "inventory-all-apps"
    /// Erase the managed scope: work apps, accounts and data.
    case eraseWorkData = "erase-work-data"
    case eraseDevice = "erase-device"
    case manageSoftwareUpdates = "manage-software-updates"
    case removeSystemApps = "remove-system-apps"
    case setWallpaper = "set-wallpaper"
    case singleAppMode = "single-app-mode"
    case keepWiFiOn = "keep-wifi-on"
    case bypassActivationLock = "bypass-activation-lock"
    case lostMode = "lost-mode"
    case deviceLocation = "device-location"
    /// Read the personal scope: personal information, the personal app inventory, logs.
    case readPersonalData = "read-personal-data"

    /// Parses an action name.
    /// - Throws: `CoreError.invalidInput` naming the known actions.
    public init(parsing text: String) throws {
        guard let action = ManagementAction(rawValue: text.lowercased()) else {
            throw CoreError(
                .invalidInput, "device.action_unknown",
                "unknown management action '\(ManagedAccountID.printable(text))' (actions: \(Self.allCases.map(\.rawValue).joined(separator: ", ")))"
            )
        }
        self = action
    }
}

/// The capability matrix, enforced in this one place: what the organisation may do to a device, by its
/// ownership and supervision. DESIGN.md's two columns are a supervised organisation device (every
/// action) and a user-enrolled personal device (only what touches its managed scope: never the person's
/// data, apps, location or the device as a whole). An organisation device that is not supervised
/// (account-driven or profile-based Device Enrolment) is the third column: everything but what Apple
/// allows only under supervision.
public enum CapabilityMatrix {
    /// The actions allowed on a personal (user-enrolled) device.
    public static let personal: Set<ManagementAction> = [
        .configureAccounts, .perAppVPN, .manageWorkApps, .requirePasscode, .enforceCertainRestrictions,
        .inventoryWorkApps, .eraseWorkData,
    ]

    /// What Apple's MDM allows only on supervised devices: refused on an unsupervised organisation device.
    /// (Without supervision an MDM manages only the apps it installed or the person let it take over.)
    public static let supervisedOnly: Set<ManagementAction> = [
        .globalProxy, .manageAllApps, .enforceAllRestrictions, .manageSoftwareUpdates, .removeSystemApps, .setWallpaper,
        .singleAppMode, .keepWiFiOn, .bypassActivationLock, .lostMode, .deviceLocation,
    ]

    public static func allows(_ action: ManagementAction, on ownership: DeviceOwnership, supervised: Bool) -> Bool {
        switch ownership {
        // The organisation owns the device and every scope on it; supervision unlocks the rest.
        case .organisation: supervised || !supervisedOnly.contains(action)
        case .personal: personal.contains(action)
        }
    }

    public static func allows(_ action: ManagementAction, on device: Device) -> Bool {
        allows(action, on: device.ownership, supervised: device.supervised)
    }

    /// Why the organisation may not take `action` on `device` now (it is not enrolled, or the matrix
    /// forbids it), or nil when it may.
    public static func refusal(_ action: ManagementAction, on device: Device) -> String? {
        guard device.state == .enrolled else { return "device \(device.id) is not enrolled" }
        guard allows(action, on: device) else {
            let kind =
                switch (device.ownership, device.supervised) {
                case (.personal, _): "a personal"
                case (.organisation, false): "an unsupervised organisation"
                case (.organisation, true): "a supervised organisation"
                }
            return "the capability matrix does not allow \(action.rawValue) on \(kind) device"
        }
        return nil
    }

    /// Every action with whether it is allowed, in matrix order.
    public static func capabilities(of device: Device) -> [(action: ManagementAction, allowed: Bool)] {
        ManagementAction.allCases.map { ($0, allows($0, on: device)) }
    }
}

/// Device-scoped OAuth scopes, `device:<device id>:<action>`: a token for one management action on one
/// device, granted only when the capability matrix allows that action on the device's ownership.
public enum DeviceScope {
    public static let prefix = "device:"
    /// The registered client scope that lets a client ask for device scopes at all.
    public static let clientScope = "devices"

    /// The device and action a scope token names; nil when it is not a device scope.
    /// - Throws: `CoreError.invalidInput` for a device scope without a device id or with an unknown action.
    public static func parse(_ token: String) throws -> (deviceID: String, action: ManagementAction)? {
        guard token.hasPrefix(prefix) else { return nil }
        let rest = token.dropFirst(prefix.count)
        guard let colon = rest.lastIndex(of: ":"), colon != rest.startIndex else {
            throw CoreError(
                .invalidInput, "device_scope.malformed",
                "device scope '\(ManagedAccountID.printable(token))' is not device:<device id>:<action>")
        }
        return (String(rest[..<colon]), try ManagementAction(parsing: String(rest[rest.index(after: colon)...])))
    }
}
