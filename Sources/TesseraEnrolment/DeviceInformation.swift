import Foundation  // PropertyListSerialization: reading devices' XML and binary property lists
public import TesseraCrypto

/// What a device says about itself: ADE's MachineInfo (PROTOCOLS.md §2.1) or the first POST of an
/// account-driven enrolment (§1.2).
public struct DeviceInformation: Sendable, Equatable {
    public var udid: String?
    public var serial: String?
    /// The hardware model, e.g. `iPhone15,2`.
    public var product: String?
    /// The OS build, e.g. `21E236`.
    public var version: String?
    /// The OS version, e.g. `17.4.1` (iOS 17 and later send it).
    public var osVersion: String?
    public var language: String?
    public var imei: String?
    public var meid: String?
    /// The device can be asked to update its OS before it enrols (`MDM_CAN_REQUEST_SOFTWARE_UPDATE`).
    public var canRequestSoftwareUpdate = false
    public var softwareUpdateDeviceID: String?
}

/// Why device information was not accepted.
public struct DeviceInformationError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        /// Not base64, not CMS, not a property list, a value of the wrong type, a required key missing.
        case malformed
        /// The signature does not verify, or the signer does not chain to a trust anchor.
        case untrusted
        /// Keys the enrolment kind forbids (UDID or SERIAL in a User Enrolment).
        case forbidden
    }

    public var kind: Kind
    public var message: String
    init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }
    public var description: String { message }
}

/// Reads device information from the CMS messages devices send, checking what each flow requires.
public struct DeviceInformationReader: Sendable {
    let verifier: CMSVerifier

    /// - Parameter verifier: holds the trust anchors device identities must chain to (the Apple Root CA
    ///   in production).
    public init(verifier: CMSVerifier) {
        self.verifier = verifier
    }

    /// ADE through `configuration_web_url`: the `x-apple-aspen-deviceinfo` header, standard base64 of
    /// the CMS-signed MachineInfo.
    public func machineInfo(header: String) throws(DeviceInformationError) -> DeviceInformation {
        guard header.utf8.count <= CMSVerifier.maximumLength * 4 / 3 + 4,
            let message = Data(base64Encoded: header)
        else {
            throw DeviceInformationError(.malformed, "x-apple-aspen-deviceinfo is not base64")
        }
        return try machineInfo(body: Array(message))
    }

    /// ADE's token-less `url`: the CMS-signed MachineInfo as the request body. The signer must chain to
    /// a trust anchor, and the device must name its UDID and serial number.
    public func machineInfo(body: [UInt8]) throws(DeviceInformationError) -> DeviceInformation {
        let information = try read(body, check: .signatureAndChain)
        guard information.udid != nil, information.serial != nil else {
            throw DeviceInformationError(.malformed, "the MachineInfo has no UDID or no SERIAL")
        }
        return information
    }

    /// The first POST of a User Enrolment: signed by the device's identity (the signature is checked,
    /// not the signer's chain), and never carrying `UDID` or `SERIAL` (PROTOCOLS.md §1.2).
    public func userEnrolmentRequest(body: [UInt8]) throws(DeviceInformationError) -> DeviceInformation {
        let information = try read(body, check: .signatureOnly)
        let forbidden = [("UDID", information.udid), ("SERIAL", information.serial)].filter { $0.1 != nil }.map(\.0)
        guard forbidden.isEmpty else {
            throw DeviceInformationError(
                .forbidden, "a User Enrolment request must not carry \(forbidden.joined(separator: " or "))")
        }
        return information
    }

    /// The first POST of an account-driven Device Enrolment: signed by the device's identity (the
    /// signature is checked, not the signer's chain); it may name the device.
    public func enrolmentRequest(body: [UInt8]) throws(DeviceInformationError) -> DeviceInformation {
        try read(body, check: .signatureOnly)
    }

    private func read(_ message: [UInt8], check: CMSVerifier.Check) throws(DeviceInformationError)
        -> DeviceInformation
    {
        let content: [UInt8]
        do {
            content = try verifier.content(of: message, check: check)
        } catch {
            throw DeviceInformationError(error.code == .badSignature ? .untrusted : .malformed, error.message)
        }
        guard
            let parsed = try? PropertyListSerialization.propertyList(from: Data(content), options: [], format: nil),
            let dictionary = parsed as? [String: Any]
        else {
            throw DeviceInformationError(.malformed, "the signed content is not a property-list dictionary")
        }
        func text(_ key: String) throws(DeviceInformationError) -> String? {
            guard let value = dictionary[key] else { return nil }
            guard let text = value as? String, !text.isEmpty, text.utf8.count <= 256 else {
                throw DeviceInformationError(.malformed, "\(key) must be a string of 1 to 256 bytes")
            }
            return text
        }
        var information = DeviceInformation()
        information.udid = try text("UDID")
        information.serial = try text("SERIAL")
        information.product = try text("PRODUCT")
        information.version = try text("VERSION")
        information.osVersion = try text("OS_VERSION")
        information.language = try text("LANGUAGE")
        information.imei = try text("IMEI")
        information.meid = try text("MEID")
        information.softwareUpdateDeviceID = try text("SOFTWARE_UPDATE_DEVICE_ID")
        if let flag = dictionary["MDM_CAN_REQUEST_SOFTWARE_UPDATE"] {
            guard let flag = flag as? Bool else {
                throw DeviceInformationError(.malformed, "MDM_CAN_REQUEST_SOFTWARE_UPDATE must be a boolean")
            }
            information.canRequestSoftwareUpdate = flag
        }
        return information
    }
}
