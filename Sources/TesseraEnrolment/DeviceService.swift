public import Foundation
import TesseraAccounts
public import TesseraCore
import TesseraPlatform
public import TesseraStore

/// The device registry: every completed enrolment records its device, bound to the account that signed
/// in; administrators and device enrolment managers list and un-enrol devices; the data scopes are read
/// and written under `DeviceAccess`. Every change is audited.
public struct DeviceService: Sendable {
    let store: any Store
    let audit: AuditLog
    let now: @Sendable () -> Date
    let newID: @Sendable () -> String
    /// The client devices sign in with (`enrolment.oauth_client_id`): its tokens reach no device data.
    let enrolmentClientID: String?
    /// The managed domains, to read the managed IDs callers name.
    public let managedDomains: ManagedDomains

    public init(
        store: any Store, sha256Hex: @escaping @Sendable ([UInt8]) -> String, managedDomains: ManagedDomains,
        enrolmentClientID: String? = nil,
        now: @escaping @Sendable () -> Date = { Date() },
        newID: @escaping @Sendable () -> String = { UUID().uuidString.lowercased() }
    ) {
        self.store = store
        self.enrolmentClientID = enrolmentClientID
        self.managedDomains = managedDomains
        self.audit = AuditLog(sha256Hex: sha256Hex)
        self.now = now
        self.newID = newID
    }

    /// Records the device an enrolment profile went to. The same sign-in (a device repeating its POST)
    /// is the same device; an organisation device enrolling again under its UDID replaces its earlier
    /// enrolment (which is un-enrolled, its managed scope deleted).
    public func recordEnrolment(
        _ kind: EnrolmentKind, accountID: String?, enrolmentTokenID: String?, information: DeviceInformation
    ) async throws -> Device {
        let at = now()
        let id = newID()
        let actor = Actor.system(job: "enrolment")
        return try await store.change { [audit] transaction in
            if let enrolmentTokenID, let known = try transaction.device(enrolmentTokenID: enrolmentTokenID) {
                return known
            }
            let device = try Device.enrolled(
                id: id, kind: kind, accountID: accountID,
                serialNumber: kind.ownership == .organisation ? information.serial : nil,
                udid: kind.ownership == .organisation ? information.udid : nil, product: information.product,
                osBuild: information.version, enrolmentTokenID: enrolmentTokenID, at: at)
            if let udid = device.udid, let earlier = try transaction.enrolledDevice(udid: udid) {
                _ = try Self.unenrol(earlier, in: transaction, audit: audit, actor: actor, at: at)
            }
            try transaction.insert(device)
            try audit.record(
                Self.record(device, action: "device.enrol", actor: actor, before: nil), in: transaction, at: at)
            return device
        }
    }

    /// The device a sign-in (token family or `jti`, see `EnrolmentService.SignedIn`) enrolled, if any:
    /// for the enrolment's own requests, so no actor is checked.
    public func device(ofSignIn tokenID: String) async throws -> Device? {
        try await store.read { try $0.device(enrolmentTokenID: tokenID) }
    }

    /// Devices, newest first; bound to `managedID`'s account when given.
    public func devices(of managedID: ManagedAccountID? = nil, by actor: Actor) async throws -> [Device] {
        try Self.requireDeviceAuthority(actor)
        return try await store.read { reader in
            guard let managedID else { return try reader.devices(accountID: nil) }
            guard let account = try reader.account(managedID: managedID) else { return [] }
            return try reader.devices(accountID: account.id)
        }
    }

    public func device(_ id: String, by actor: Actor) async throws -> Device {
        try Self.requireDeviceAuthority(actor)
        guard let device = try await store.read({ try $0.device(id: id) }) else {
            throw CoreError(.notFound, "device.not_found", "no device \(ManagedAccountID.printable(id))")
        }
        return device
    }

    /// Un-enrols a device in one transaction: its managed scope is deleted, its personal scope left as it
    /// is, and its state recorded.
    public func unenrol(_ id: String, by actor: Actor) async throws -> Device {
        try Self.requireDeviceAuthority(actor)
        let at = now()
        return try await store.change { [audit] transaction in
            guard let device = try transaction.device(id: id) else {
                throw CoreError(.notFound, "device.not_found", "no device \(ManagedAccountID.printable(id))")
            }
            return try Self.unenrol(device, in: transaction, audit: audit, actor: actor, at: at)
        }
    }

    private static func unenrol(
        _ device: Device, in transaction: any StoreTransaction, audit: AuditLog, actor: Actor, at: Date
    ) throws -> Device {
        let gone = try device.unenrolled(at: at)
        try transaction.update(gone, expectedVersion: device.version)
        _ = try transaction.deleteDeviceItems(deviceID: device.id, scope: .managed)
        try audit.record(record(gone, action: "device.unenrol", actor: actor, before: device), in: transaction, at: at)
        return gone
    }

    /// Records Apple's `EnrollmentID` of a user-enrolled device, as its MDM (or an administrator) reports it.
    public func setEnrollmentID(_ value: String, of deviceID: String, by actor: Actor) async throws -> Device {
        try Self.requireDeviceAuthority(actor)
        let at = now()
        return try await store.change { [audit] transaction in
            let device = try Self.reachable(deviceID, transaction)
            let next = try device.withEnrollmentID(value, at: at)
            try transaction.update(next, expectedVersion: device.version)
            try audit.record(
                Self.record(next, action: "device.enrolment_id", actor: actor, before: device),
                in: transaction, at: at)
            return next
        }
    }

    /// The actor a bearer token makes its holder on the registry: an administrator's or device enrolment
    /// manager's token with the scope `devices` is that person (whose roles the operations check); an
    /// MDM client's (no person, scope `devices`) acts for the organisation, audited as
    /// `system:client:<client_id>`. Enrolment tokens are never an actor.
    /// - Throws: `CoreError.notPermitted` (code `insufficient_scope`) for any other token.
    public func actor(accountID: String?, clientID: String, scopes: Set<String>) async throws -> Actor {
        guard clientID != enrolmentClientID, scopes.contains(DeviceScope.clientScope) else {
            throw CoreError(.notPermitted, "insufficient_scope", "the device registry needs a token with the scope devices")
        }
        guard let accountID else { return .system(job: "client:\(clientID)") }
        guard let account = try await store.read({ try $0.account(id: accountID) }), account.state == .active else {
            throw CoreError(.notPermitted, "insufficient_scope", "the token's account cannot act now")
        }
        return .account(id: account.id, managedID: account.managedID, roles: account.effectiveRoles)
    }

    // MARK: - Data scopes

    /// Whom a bearer access token makes its holder for device data (`DeviceCaller.holder`), with the
    /// person's roles read now rather than taken from the token.
    /// - Throws: `CoreError.notPermitted` for a token that reaches no device data.
    public func caller(accountID: String?, clientID: String, scopes: Set<String>) async throws -> DeviceCaller {
        var roles: Set<Role> = []
        if let accountID, scopes.contains(DeviceScope.clientScope) {
            roles = try await store.read { try $0.account(id: accountID) }.map(\.effectiveRoles) ?? []
        }
        return try DeviceCaller.holder(
            accountID: accountID, roles: roles, clientID: clientID, scopes: scopes,
            enrolmentClientID: enrolmentClientID)
    }

    /// A scope's items, if `caller` may read it.
    public func items(of deviceID: String, scope: DataScope, caller: DeviceCaller) async throws -> [DeviceItem] {
        try await store.read { reader in
            let device = try Self.reachable(deviceID, reader)
            try Self.require(caller, .read, scope, of: device)
            return try reader.deviceItems(deviceID: deviceID, scope: scope)
        }
    }

    /// Writes one item of an enrolled device's scope, if `caller` may write it.
    public func save(
        _ value: String, kind: String, name: String, scope: DataScope, of deviceID: String, caller: DeviceCaller
    ) async throws -> DeviceItem {
        try Self.checkItemName(kind, "kind")
        try Self.checkItemName(name, "name")
        guard value.utf8.count <= 65_536 else {
            throw CoreError(.invalidInput, "device.item_value", "an item's value is at most 64 KiB")
        }
        let item = DeviceItem(deviceID: deviceID, scope: scope, kind: kind, name: name, value: value, updatedAt: now())
        return try await store.change { transaction in
            let device = try Self.reachable(deviceID, transaction)
            try Self.require(caller, .write, scope, of: device)
            guard device.state == .enrolled else {
                throw CoreError(.conflict, "device.not_enrolled", "device \(deviceID) is not enrolled")
            }
            try transaction.save(item)
            return item
        }
    }

    /// Removes one item, if `caller` may write the scope (also after un-enrolment: a person may clear
    /// what stayed in their personal scope). False when there was no such item.
    public func delete(kind: String, name: String, scope: DataScope, of deviceID: String, caller: DeviceCaller)
        async throws -> Bool
    {
        try await store.change { transaction in
            let device = try Self.reachable(deviceID, transaction)
            try Self.require(caller, .write, scope, of: device)
            return try transaction.deleteDeviceItem(deviceID: deviceID, scope: scope, kind: kind, name: name)
        }
    }

    // MARK: - Rules

    /// Administrators and device enrolment managers manage devices (Apple Business Manager's roles).
    static func requireDeviceAuthority(_ actor: Actor) throws {
        guard !actor.roles.isDisjoint(with: Role.deviceManagers) else {
            throw CoreError(
                .notPermitted, "device.authority", "only administrators and device enrolment managers manage devices")
        }
    }

    private static func reachable(_ id: String, _ reader: any StoreReader) throws -> Device {
        guard let device = try reader.device(id: id) else {
            throw CoreError(.notFound, "device.not_found", "no device \(ManagedAccountID.printable(id))")
        }
        return device
    }

    private static func require(
        _ caller: DeviceCaller, _ operation: DeviceAccess.Operation, _ scope: DataScope, of device: Device
    )
        throws
    {
        guard DeviceAccess.may(caller, operation, scope, of: device) else {
            throw CoreError(
                .notPermitted, "device.scope_forbidden",
                "the \(scope.rawValue) scope of this device is not yours to \(operation == .read ? "read" : "change")")
        }
    }

    /// Kinds and names: 1 to 200 printable ASCII characters, no `/` (they are path segments).
    private static func checkItemName(_ text: String, _ what: String) throws {
        guard (1...200).contains(text.utf8.count), text.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != 0x2F })
        else {
            throw CoreError(
                .invalidInput, "device.item_\(what)", "an item's \(what) is 1 to 200 printable characters without '/'")
        }
    }

    static func record(_ device: Device, action: String, actor: Actor, before: Device?) -> AuditRecord {
        .device(device, action: action, actor: actor, before: before, after: device)
    }
}
