public import TesseraCore
public import TesseraPlatform

/// The JSON of devices, the same from `tessera devices … --json` and from the device admin API.
public enum DeviceRepresentation {
    public static func write(_ device: Device, to json: inout JSONWriter) {
        json.beginObject()
        json.key("id"); json.string(device.id)
        json.key("kind"); json.string(device.kind.rawValue)
        json.key("ownership"); json.string(device.ownership.rawValue)
        json.key("supervised"); json.bool(device.supervised)
        json.key("state"); json.string(device.state.rawValue)
        json.key("account_id")
        if let accountID = device.accountID { json.string(accountID) } else { json.null() }
        for (key, value) in [
            ("product", device.product), ("os_build", device.osBuild), ("serial_number", device.serialNumber),
            ("udid", device.udid), ("enrollment_id", device.enrollmentID),
        ] {
            json.key(key)
            if let value { json.string(value) } else { json.null() }
        }
        json.key("enrolled_at"); json.string(Timestamp.text(device.enrolledAt))
        json.key("unenrolled_at")
        if let at = device.unenrolledAt { json.string(Timestamp.text(at)) } else { json.null() }
        json.endObject()
    }

    /// `{"device", "ownership", "supervised", "actions": {"<action>": true|false, …}}`: the capability
    /// matrix for this device.
    public static func writeCapabilities(of device: Device, to json: inout JSONWriter) {
        json.beginObject()
        json.key("device"); json.string(device.id)
        json.key("ownership"); json.string(device.ownership.rawValue)
        json.key("supervised"); json.bool(device.supervised)
        json.key("actions")
        json.beginObject()
        for (action, allowed) in CapabilityMatrix.capabilities(of: device) { json.key(action.rawValue); json.bool(allowed) }
        json.endObject()
        json.endObject()
    }
}
