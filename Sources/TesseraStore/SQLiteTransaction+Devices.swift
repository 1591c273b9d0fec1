import Foundation
import TesseraCore

/// Devices and their data scopes in SQLite.
extension SQLiteTransaction {
    private static let deviceColumns = """
        id, kind, supervised, serial_number, udid, enrollment_id, account_id, product, os_build, enrolment_token_id,
        state, version, enrolled_at, updated_at, unenrolled_at
        """

    func device(id: String) throws -> Device? {
        try connection.query("SELECT \(Self.deviceColumns) FROM devices WHERE id = ?", [.text(id)], Self.device).first
    }

    func device(enrolmentTokenID: String) throws -> Device? {
        try connection.query(
            "SELECT \(Self.deviceColumns) FROM devices WHERE enrolment_token_id = ?", [.text(enrolmentTokenID)],
            Self.device
        ).first
    }

    func enrolledDevice(udid: String) throws -> Device? {
        try connection.query(
            "SELECT \(Self.deviceColumns) FROM devices WHERE udid = ? AND state = 'enrolled' ORDER BY enrolled_at DESC",
            [.text(udid)], Self.device
        ).first
    }

    func devices(accountID: String?) throws -> [Device] {
        if let accountID {
            return try connection.query(
                "SELECT \(Self.deviceColumns) FROM devices WHERE account_id = ? ORDER BY enrolled_at DESC, id",
                [.text(accountID)], Self.device)
        }
        return try connection.query(
            "SELECT \(Self.deviceColumns) FROM devices ORDER BY enrolled_at DESC, id", [], Self.device)
    }

    func insert(_ device: Device) throws {
        try connection.execute(
            "INSERT INTO devices (\(Self.deviceColumns)) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [.text(device.id)] + Self.deviceValues(device))
    }

    func update(_ device: Device, expectedVersion: Int) throws {
        try connection.execute(
            """
            UPDATE devices SET kind = ?, supervised = ?, serial_number = ?, udid = ?, enrollment_id = ?, account_id = ?,
                product = ?, os_build = ?, enrolment_token_id = ?, state = ?, version = ?, enrolled_at = ?,
                updated_at = ?, unenrolled_at = ?
            WHERE id = ? AND version = ?
            """,
            Self.deviceValues(device) + [.text(device.id), .integer(Int64(expectedVersion))])
        if connection.changes == 0 {
            throw try self.device(id: device.id) == nil
                ? StoreError(.notFound, "device \(device.id) no longer exists")
                : StoreError(.staleVersion, "device \(device.id) was changed by someone else")
        }
    }

    func deviceItems(deviceID: String, scope: DataScope) throws -> [DeviceItem] {
        try connection.query(
            """
            SELECT device_id, scope, kind, name, value, updated_at FROM device_items
            WHERE device_id = ? AND scope = ? ORDER BY kind, name
            """,
            [.text(deviceID), .text(scope.rawValue)]
        ) { row in
            guard let scope = DataScope(rawValue: try row.requiredText(1)), let updatedAt = row.date(5) else {
                throw StoreError(.corrupt, "device item with an unknown scope or no time")
            }
            return DeviceItem(
                deviceID: try row.requiredText(0), scope: scope, kind: try row.requiredText(2),
                name: try row.requiredText(3), value: try row.requiredText(4), updatedAt: updatedAt)
        }
    }

    func save(_ item: DeviceItem) throws {
        try connection.execute(
            """
            INSERT INTO device_items (device_id, scope, kind, name, value, updated_at) VALUES (?, ?, ?, ?, ?, ?)
            ON CONFLICT (device_id, scope, kind, name) DO UPDATE SET value = excluded.value,
                updated_at = excluded.updated_at
            """,
            [
                .text(item.deviceID), .text(item.scope.rawValue), .text(item.kind), .text(item.name), .text(item.value),
                .date(item.updatedAt),
            ])
    }

    func deleteDeviceItem(deviceID: String, scope: DataScope, kind: String, name: String) throws -> Bool {
        try connection.execute(
            "DELETE FROM device_items WHERE device_id = ? AND scope = ? AND kind = ? AND name = ?",
            [.text(deviceID), .text(scope.rawValue), .text(kind), .text(name)])
        return connection.changes > 0
    }

    func deleteDeviceItems(deviceID: String, scope: DataScope) throws -> Int {
        try connection.execute(
            "DELETE FROM device_items WHERE device_id = ? AND scope = ?", [.text(deviceID), .text(scope.rawValue)])
        return connection.changes
    }

    func insert(_ pending: PendingDeviceEnrolment) throws {
        try connection.execute(
            """
            INSERT INTO pending_device_enrolments (state_hash, udid, serial_number, product, os_build, expires_at)
            VALUES (?, ?, ?, ?, ?, ?)
            """,
            [
                .text(pending.stateHash), .optional(pending.udid), .optional(pending.serialNumber),
                .optional(pending.product), .optional(pending.osBuild), .date(pending.expiresAt),
            ])
    }

    func takePendingDeviceEnrolment(stateHash: String, at now: Date) throws -> PendingDeviceEnrolment? {
        let found = try connection.query(
            """
            SELECT state_hash, udid, serial_number, product, os_build, expires_at FROM pending_device_enrolments
            WHERE state_hash = ? AND expires_at > ?
            """,
            [.text(stateHash), .date(now)]
        ) { row in
            PendingDeviceEnrolment(
                stateHash: try row.requiredText(0), udid: row.text(1), serialNumber: row.text(2), product: row.text(3),
                osBuild: row.text(4), expiresAt: row.date(5) ?? now)
        }.first
        try connection.execute(
            "DELETE FROM pending_device_enrolments WHERE state_hash = ? OR expires_at <= ?",
            [.text(stateHash), .date(now)])
        return found
    }

    /// Columns kind … unenrolled_at, in table order.
    private static func deviceValues(_ device: Device) -> [SQLiteValue] {
        [
            .text(device.kind.rawValue), .integer(device.supervised ? 1 : 0), .optional(device.serialNumber),
            .optional(device.udid), .optional(device.enrollmentID), .optional(device.accountID),
            .optional(device.product),
            .optional(device.osBuild), .optional(device.enrolmentTokenID), .text(device.state.rawValue),
            .integer(Int64(device.version)), .date(device.enrolledAt), .date(device.updatedAt),
            .optionalDate(device.unenrolledAt),
        ]
    }

    private static func device(_ row: SQLiteRow) throws -> Device {
        guard let kind = EnrolmentKind(rawValue: try row.requiredText(1)),
            let state = Device.State(rawValue: try row.requiredText(10)),
            let enrolledAt = row.date(12), let updatedAt = row.date(13)
        else {
            throw StoreError(.corrupt, "device row with an unknown kind, state or missing dates")
        }
        return Device(
            id: try row.requiredText(0), kind: kind, supervised: row.int(2) != 0, serialNumber: row.text(3),
            udid: row.text(4), enrollmentID: row.text(5), accountID: row.text(6), product: row.text(7),
            osBuild: row.text(8), enrolmentTokenID: row.text(9), state: state, version: Int(row.int(11)),
            enrolledAt: enrolledAt, updatedAt: updatedAt, unenrolledAt: row.date(14))
    }
}
