import Foundation  // JSONDecoder (JSON5), UUID
public import TesseraCore
public import TesseraCrypto

/// What is wrong with a profile template, or why a profile cannot be built from it.
public struct ProfileError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// The administrator's part of the enrolment profile (PROTOCOLS.md §1.5), read from a JSON5 file
/// (`Config/enrolment-profile.json5`): the profile's names, the MDM payload's settings (`ServerURL`,
/// `CheckInURL`, `Topic`, `AccessRights`, …) and the identity payload that gives the device its MDM
/// identity (ACME or SCEP, with its settings). Values are property-list values written as JSON:
/// `{"$data": "<base64>"}` is data and `{"$date": "<ISO 8601>"}` a date.
///
/// Tessera adds what belongs to each enrolment: fresh payload UUIDs, the payload types, versions and
/// identifiers, the link from the MDM payload to the identity payload, `EnrollmentMode` and
/// `AssignedManagedAppleID`; `AccessRights` stays out of a User Enrolment (BYOD) profile.
public struct ProfileTemplate: Sendable, Equatable {
    public var displayName: String
    /// Reverse-DNS prefix of the payload identifiers (`<prefix>.mdm`, `<prefix>.identity`).
    public var identifier: String
    public var organization: String?
    public var description: String?
    public var mdm: [String: PropertyList]
    public var identity: [String: PropertyList]

    static let profileKeys: Set = [
        "PayloadDisplayName", "PayloadIdentifier", "PayloadOrganization", "PayloadDescription",
    ]
    /// Keys Tessera writes itself, refused in the template so nobody expects theirs to count.
    static let reservedKeys: Set = [
        "PayloadType", "PayloadUUID", "PayloadIdentifier", "PayloadVersion", "PayloadContent", "EnrollmentMode",
        "AssignedManagedAppleID", "IdentityCertificateUUID",
    ]

    /// Parses and checks a template.
    /// - Throws: `ProfileError` naming the key that is wrong.
    public init(json5 bytes: [UInt8]) throws(ProfileError) {
        let decoder = JSONDecoder()
        decoder.allowsJSON5 = true
        let root: JSONValue
        do {
            root = try decoder.decode(JSONValue.self, from: Data(bytes))
        } catch {
            throw ProfileError("the profile template is not JSON5: \(error)")
        }
        guard case .object(let members) = root else { throw ProfileError("the profile template must be an object") }
        for key in members.keys.sorted() where !Self.profileKeys.contains(key) && key != "mdm" && key != "identity" {
            throw ProfileError(
                "unknown key '\(key)' (expected PayloadDisplayName, PayloadIdentifier, PayloadOrganization, PayloadDescription, mdm, identity)"
            )
        }
        func text(_ key: String, required: Bool) throws(ProfileError) -> String? {
            guard let value = members[key] else {
                if required { throw ProfileError("\(key) is missing") }
                return nil
            }
            guard case .string(let text) = value, !text.isEmpty else {
                throw ProfileError("\(key) must be a non-empty string")
            }
            return text
        }
        displayName = try text("PayloadDisplayName", required: true)!
        identifier = try text("PayloadIdentifier", required: true)!
        organization = try text("PayloadOrganization", required: false)
        description = try text("PayloadDescription", required: false)
        guard identifier.split(separator: ".", omittingEmptySubsequences: false).allSatisfy({ !$0.isEmpty }) else {
            throw ProfileError("PayloadIdentifier '\(identifier)' must be reverse-DNS, e.g. com.example.mdm")
        }
        mdm = try Self.payload(members["mdm"], "mdm")
        identity = try Self.payload(members["identity"], "identity")
        for key in ["ServerURL", "Topic"] where mdm[key] == nil { throw ProfileError("mdm.\(key) is missing") }
        for key in ["ServerURL", "CheckInURL"] {
            guard let value = mdm[key] else { continue }
            guard case .string(let url) = value, url.hasPrefix("https://"), URL(string: url)?.host != nil else {
                throw ProfileError("mdm.\(key) must be an https URL")
            }
        }
        guard case .string(let topic) = mdm["Topic"]!, topic.hasPrefix("com.apple.mgmt.") else {
            throw ProfileError("mdm.Topic must be the push certificate's topic (com.apple.mgmt.…)")
        }
        if let rights = mdm["AccessRights"] {
            guard case .integer(let value) = rights, (1...8191).contains(value) else {
                throw ProfileError("mdm.AccessRights must be an integer from 1 to 8191")
            }
        }
        guard case .string(let type)? = identity["PayloadType"], !type.isEmpty else {
            throw ProfileError(
                "identity.PayloadType is missing (e.g. com.apple.security.acme or com.apple.security.scep)")
        }
    }

    private static func payload(_ value: JSONValue?, _ name: String) throws(ProfileError) -> [String: PropertyList] {
        guard case .object(let members)? = value else { throw ProfileError("\(name) must be an object") }
        var payload: [String: PropertyList] = [:]
        for (key, value) in members {
            guard !reservedKeys.contains(key) || (name == "identity" && key == "PayloadType") else {
                throw ProfileError("\(name).\(key) is set by Tessera for each enrolment; leave it out")
            }
            payload[key] = try propertyList(value, at: "\(name).\(key)")
        }
        return payload
    }

    /// A JSON value as a property-list value.
    static func propertyList(_ value: JSONValue, at path: String) throws(ProfileError) -> PropertyList {
        switch value {
        case .null: throw ProfileError("\(path): property lists have no null")
        case .bool(let flag): return .bool(flag)
        case .int(let number): return .integer(number)
        case .double(let number): return .real(number)
        case .string(let text): return .string(text)
        case .array(let items):
            var list: [PropertyList] = []
            for (index, item) in items.enumerated() { list.append(try propertyList(item, at: "\(path)[\(index)]")) }
            return .array(list)
        case .object(let members):
            if members.count == 1, case .string(let text)? = members["$data"] {
                guard let data = Data(base64Encoded: text) else { throw ProfileError("\(path): $data is not base64") }
                return .data(Array(data))
            }
            if members.count == 1, case .string(let text)? = members["$date"] {
                guard let date = try? Date(text, strategy: .iso8601) else {
                    throw ProfileError("\(path): $date is not an ISO 8601 date-time")
                }
                return .date(date)
            }
            var dictionary: [String: PropertyList] = [:]
            for (key, member) in members { dictionary[key] = try propertyList(member, at: "\(path).\(key)") }
            return .dictionary(dictionary)
        }
    }

    /// The enrolment profile for `managedID`: a `Configuration` profile holding the identity payload
    /// and the `com.apple.mdm` payload.
    /// - Throws: `ProfileError` when a device enrolment is asked of a template without `AccessRights`.
    public func profile(
        for managedID: ManagedAccountID, enrolment: AccountDrivenEnrolment, newUUID: (() -> String)? = nil
    ) throws(ProfileError) -> PropertyList {
        try profile(.accountDriven(managedID, enrolment), newUUID: newUUID)
    }

    /// Which enrolment a profile is for.
    public enum Kind: Sendable, Equatable {
        /// Account-driven: `EnrollmentMode` and `AssignedManagedAppleID` set, `AccessRights` only for ADDE.
        case accountDriven(ManagedAccountID, AccountDrivenEnrolment)
        /// Automated Device Enrolment: neither key; `AccessRights` required (a supervised device).
        case automated
    }

    /// The enrolment profile of `kind`.
    /// - Throws: `ProfileError` when a device enrolment is asked of a template without `AccessRights`.
    public func profile(_ kind: Kind, newUUID: (() -> String)? = nil) throws(ProfileError) -> PropertyList {
        let newUUID = newUUID ?? { UUID().uuidString }
        let identityUUID = newUUID()
        var identity = self.identity
        identity["PayloadUUID"] = .string(identityUUID)
        identity["PayloadIdentifier"] = .string(identifier + ".identity")
        identity["PayloadVersion"] = .integer(1)
        if identity["PayloadDisplayName"] == nil {
            identity["PayloadDisplayName"] = .string("Device management identity")
        }

        var mdm = self.mdm
        mdm["PayloadType"] = .string("com.apple.mdm")
        mdm["PayloadUUID"] = .string(newUUID())
        mdm["PayloadIdentifier"] = .string(identifier + ".mdm")
        mdm["PayloadVersion"] = .integer(1)
        if mdm["PayloadDisplayName"] == nil { mdm["PayloadDisplayName"] = .string("Device management") }
        mdm["IdentityCertificateUUID"] = .string(identityUUID)
        switch kind {
        case .accountDriven(let managedID, let enrolment):
            mdm["AssignedManagedAppleID"] = .string(managedID.rawValue)
            mdm["EnrollmentMode"] = .string(enrolment.enrollmentMode)
            switch enrolment {
            case .user:
                mdm["AccessRights"] = nil  // a User Enrolment profile must not carry it
            case .device:
                guard mdm["AccessRights"] != nil else {
                    throw ProfileError(
                        "an account-driven device enrolment needs mdm.AccessRights in the profile template")
                }
            }
        case .automated:
            guard mdm["AccessRights"] != nil else {
                throw ProfileError("Automated Device Enrolment needs mdm.AccessRights in the profile template")
            }
        }

        var profile: [String: PropertyList] = [
            "PayloadType": .string("Configuration"),
            "PayloadUUID": .string(newUUID()),
            "PayloadIdentifier": .string(identifier),
            "PayloadVersion": .integer(1),
            "PayloadDisplayName": .string(displayName),
            "PayloadContent": .array([.dictionary(identity), .dictionary(mdm)]),
        ]
        if let organization { profile["PayloadOrganization"] = .string(organization) }
        if let description { profile["PayloadDescription"] = .string(description) }
        return .dictionary(profile)
    }

    /// The profile as devices receive it: the XML property list, CMS-signed.
    public func signedProfile(_ kind: Kind, signer: CMSSigner) throws -> [UInt8] {
        try signer.sign(try profile(kind).xml)
    }
}
