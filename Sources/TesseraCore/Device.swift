#if canImport(FoundationEssentials)
    public import FoundationEssentials
#else
    public import Foundation
#endif

/// How a device was enrolled (DESIGN.md "Domain in one page").
public enum EnrolmentKind: String, Sendable, CaseIterable, Codable {
    /// Automated Device Enrolment: supervised, the organisation's.
    case ade
    /// Profile-based Device Enrolment: the organisation's.
    case device
    /// User Enrolment: the person's own device.
    case user
    /// Account-driven Device Enrolment: the organisation's.
    case adde

    public var ownership: DeviceOwnership { self == .user ? .personal : .organisation }

    /// The account-driven enrolment this kind records; nil for the others.
    public var accountDriven: AccountDrivenEnrolment? {
        switch self {
        case .user: .user
        case .adde: .device
        case .ade, .device: nil
        }
    }

    /// The `EnrollmentMode` of an account-driven enrolment (see `AccountDrivenEnrolment.enrollmentMode`).
    public var enrollmentMode: String? { accountDriven?.enrollmentMode }
}

extension AccountDrivenEnrolment {
    /// The `EnrollmentMode` of its profile (PROTOCOLS.md §1.5), as enrolment tokens, introspection and
    /// forward authentication also name it.
    public var enrollmentMode: String {
        switch self {
        case .user: "BYOD"
        case .device: "ADDE"
        }
    }

    /// The kind of device record it makes.
    public var recordedKind: EnrolmentKind {
        switch self {
        case .user: .user
        case .device: .adde
        }
    }
}

/// A device Tessera enrolled, bound to the account that signed in.
///
/// Identifiers follow ownership: an organisation device may carry its serial number and UDID; a
/// personal device never does (User Enrolment hides them), and only it carries an enrolment id.
public struct Device: Sendable, Equatable, Identifiable {
    public enum State: String, Sendable, Codable {
        case enrolled
        case unenrolled
    }

    public var id: String
    public var kind: EnrolmentKind
    public var supervised: Bool
    public var serialNumber: String?
    public var udid: String?
    /// Apple's `EnrollmentID` of a User Enrolment (the device's only identifier there), once the MDM
    /// reports it from the device's check-in.
    public var enrollmentID: String?
    /// The account that signed in; nil for an Automated Device Enrolment without sign-in.
    public var accountID: String?
    /// The hardware model, e.g. `iPhone15,2`, and the OS build the device reported.
    public var product: String?
    public var osBuild: String?
    /// The sign-in the device enrolled with (its access token's family, or the token's `jti`): a device
    /// that repeats its POST within that sign-in, refreshed tokens included, is the same device.
    public var enrolmentTokenID: String?
    public var state: State
    public var version: Int
    public var enrolledAt: Date
    public var updatedAt: Date
    public var unenrolledAt: Date?

    public var ownership: DeviceOwnership { kind.ownership }

    public init(
        id: String, kind: EnrolmentKind, supervised: Bool, serialNumber: String? = nil, udid: String? = nil,
        enrollmentID: String? = nil, accountID: String?, product: String? = nil, osBuild: String? = nil,
        enrolmentTokenID: String? = nil, state: State = .enrolled, version: Int = 1, enrolledAt: Date,
        updatedAt: Date, unenrolledAt: Date? = nil
    ) {
        self.id = id
        self.kind = kind
        self.supervised = supervised
        self.serialNumber = serialNumber
        self.udid = udid
        self.enrollmentID = enrollmentID
        self.accountID = accountID
        self.product = product
        self.osBuild = osBuild
        self.enrolmentTokenID = enrolmentTokenID
        self.state = state
        self.version = version
        self.enrolledAt = enrolledAt
        self.updatedAt = updatedAt
        self.unenrolledAt = unenrolledAt
    }

    /// A newly enrolled device; the identifiers are checked against its ownership.
    /// - Throws: `CoreError.invalidInput` when a personal device is given a serial number or UDID, or an
    ///   organisation device an enrolment id.
    public static func enrolled(
        id: String, kind: EnrolmentKind, accountID: String?, serialNumber: String?, udid: String?,
        enrollmentID: String? = nil, product: String?, osBuild: String?, enrolmentTokenID: String?, at now: Date
    ) throws -> Device {
        switch kind.ownership {
        case .personal:
            guard serialNumber == nil, udid == nil else {
                throw CoreError(
                    .invalidInput, "device.personal_identifiers",
                    "a personal (user-enrolled) device never carries its serial number or UDID")
            }
        case .organisation:
            guard enrollmentID == nil else {
                throw CoreError(
                    .invalidInput, "device.enrolment_id", "only user-enrolled devices carry an enrolment id")
            }
        }
        return Device(
            id: id, kind: kind, supervised: kind == .ade, serialNumber: serialNumber, udid: udid,
            enrollmentID: enrollmentID, accountID: accountID, product: product, osBuild: osBuild,
            enrolmentTokenID: enrolmentTokenID, enrolledAt: now, updatedAt: now)
    }

    /// The device with the `EnrollmentID` its MDM reported.
    /// - Throws: `CoreError.invalidInput` for an organisation device (it is identified by serial number
    ///   and UDID) or an id that is not 1 to 128 printable characters; `.conflict` when not enrolled.
    public func withEnrollmentID(_ value: String, at now: Date) throws -> Device {
        guard ownership == .personal else {
            throw CoreError(.invalidInput, "device.enrolment_id", "only user-enrolled devices carry an enrolment id")
        }
        guard (1...128).contains(value.utf8.count), value.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            throw CoreError(.invalidInput, "device.enrolment_id", "an enrolment id is 1 to 128 printable characters")
        }
        guard state == .enrolled else {
            throw CoreError(.conflict, "device.not_enrolled", "device \(id) is not enrolled")
        }
        var next = self
        next.enrollmentID = value
        next.updatedAt = now
        next.version += 1
        return next
    }

    /// The device bound to no account: an organisation device whose person's account is deleted stays
    /// the organisation's.
    public func unbound(at now: Date) -> Device {
        var next = self
        next.accountID = nil
        next.updatedAt = now
        next.version += 1
        return next
    }

    /// The device after un-enrolment (its managed scope is deleted with it; the personal one stays).
    /// - Throws: `CoreError.conflict` when it is not enrolled.
    public func unenrolled(at now: Date) throws -> Device {
        guard state == .enrolled else {
            throw CoreError(.conflict, "device.not_enrolled", "device \(id) is not enrolled")
        }
        var next = self
        next.state = .unenrolled
        next.unenrolledAt = now
        next.updatedAt = now
        next.version += 1
        return next
    }
}

/// A device that showed its verified device information and was sent to sign in (Automated Device
/// Enrolment through `configuration_web_url`): kept, by the hash of the sign-in's state, until the sign-in
/// comes back.
public struct PendingDeviceEnrolment: Sendable, Equatable {
    public var stateHash: String
    public var udid: String?
    public var serialNumber: String?
    public var product: String?
    public var osBuild: String?
    public var expiresAt: Date

    public init(
        stateHash: String, udid: String?, serialNumber: String?, product: String?, osBuild: String?, expiresAt: Date
    ) {
        self.stateHash = stateHash
        self.udid = udid
        self.serialNumber = serialNumber
        self.product = product
        self.osBuild = osBuild
        self.expiresAt = expiresAt
    }
}

/// The two data scopes of a device (PROTOCOLS.md §4): what the organisation manages and what is the
/// person's.
public enum DataScope: String, Sendable, CaseIterable, Codable {
    case managed
    case personal
}

/// One item of a device's data scope: an app, an account, a certificate, a document, a location, a
/// log… (`kind`), named within its kind, with its value as the writer gave it.
public struct DeviceItem: Sendable, Equatable {
    public var deviceID: String
    public var scope: DataScope
    public var kind: String
    public var name: String
    public var value: String
    public var updatedAt: Date

    public init(deviceID: String, scope: DataScope, kind: String, name: String, value: String, updatedAt: Date) {
        self.deviceID = deviceID
        self.scope = scope
        self.kind = kind
        self.name = name
        self.value = value
        self.updatedAt = updatedAt
    }
}

/// Who asks for a device's data.
public enum DeviceCaller: Sendable, Equatable {
    /// The organisation: an MDM server's client or an administrator.
    case organisation
    /// A person, by their account id (from their access token).
    case account(String)
    /// An administrator or device enrolment manager whose token has both scopes: the organisation, and
    /// the user of their own devices.
    case organisationAndAccount(String)
}

extension DeviceCaller {
    /// The scope a person's access token needs to reach the data scopes of their own devices.
    public static let ownDevicesScope = "own-devices"

    /// Whom a bearer access token makes its holder for device data, or why it reaches none.
    ///
    /// Enrolment tokens (of `enrolmentClientID`) reach nothing: the device sends them to the MDM server
    /// with every request (PROTOCOLS.md §1.5), so the organisation holds them too. A client acting for
    /// itself with the scope `devices` is the organisation, and so is an administrator or device
    /// enrolment manager whose token has that scope; a person whose token has the scope `own-devices`
    /// is themselves (their devices' personal scope, and reading the managed one).
    /// - Parameters:
    ///   - accountID: the person the token speaks for; nil for a client acting for itself.
    ///   - roles: that person's roles as stored now.
    /// - Throws: `CoreError.notPermitted` (code `insufficient_scope`) for a token that reaches no device data.
    public static func holder(
        accountID: String?, roles: Set<Role>, clientID: String, scopes: Set<String>, enrolmentClientID: String?
    ) throws -> DeviceCaller {
        guard clientID != enrolmentClientID else {
            throw CoreError(
                .notPermitted, "insufficient_scope",
                "enrolment tokens reach no device data: the device hands them to the MDM server")
        }
        guard let accountID else {
            guard scopes.contains(DeviceScope.clientScope) else {
                throw CoreError(.notPermitted, "insufficient_scope", "the token's client needs the scope devices")
            }
            return .organisation
        }
        if scopes.contains(DeviceScope.clientScope), !roles.isDisjoint(with: Role.deviceManagers) {
            return scopes.contains(ownDevicesScope) ? .organisationAndAccount(accountID) : .organisation
        }
        guard scopes.contains(ownDevicesScope) else {
            throw CoreError(
                .notPermitted, "insufficient_scope",
                "a person's token needs the scope own-devices, or devices for administrators and device enrolment managers"
            )
        }
        return .account(accountID)
    }
}

/// Who may read and write which scope of which device: enforced here for every caller.
public enum DeviceAccess {
    /// The organisation reads and writes the managed scope of every device, and the personal scope only
    /// of its own (organisation) devices: never of a person's own device. The device's user reads and
    /// writes its personal scope and reads its managed scope. Nobody else reaches either.
    public static func may(_ caller: DeviceCaller, _ operation: Operation, _ scope: DataScope, of device: Device)
        -> Bool
    {
        switch caller {
        case .organisation:
            return scope == .managed
                || CapabilityMatrix.allows(.readPersonalData, on: device)
        case .account(let accountID):
            guard let owner = device.accountID, owner == accountID else { return false }
            return scope == .personal || operation == .read
        case .organisationAndAccount(let accountID):
            return may(.organisation, operation, scope, of: device)
                || may(.account(accountID), operation, scope, of: device)
        }
    }

    public enum Operation: Sendable {
        case read
        case write
    }
}
