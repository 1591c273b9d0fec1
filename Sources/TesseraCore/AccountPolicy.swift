#if canImport(FoundationEssentials)
    public import FoundationEssentials
#else
    public import Foundation
#endif

/// The organisation's account rules, from configuration.
public struct AccountPolicy: Sendable, Equatable {
    public var managedDomains: ManagedDomains
    /// How long a temporary password works (90 days in the Apple model).
    public var temporaryPasswordLifetime: Duration
    /// An account locks when its failed sign-ins exceed this number (10 in the Apple model).
    public var lockoutThreshold: Int
    /// Deactivated local accounts are deleted after this long (30 days in the Apple model).
    public var deactivatedRetention: Duration

    public init(
        managedDomains: ManagedDomains, temporaryPasswordLifetime: Duration = .seconds(90 * 86_400),
        lockoutThreshold: Int = 10, deactivatedRetention: Duration = .seconds(30 * 86_400)
    ) {
        self.managedDomains = managedDomains
        self.temporaryPasswordLifetime = temporaryPasswordLifetime
        self.lockoutThreshold = lockoutThreshold
        self.deactivatedRetention = deactivatedRetention
    }
}

extension Date {
    /// `self` moved forward by a `Duration`.
    public func adding(_ duration: Duration) -> Date {
        let (seconds, attoseconds) = duration.components
        return addingTimeInterval(Double(seconds) + Double(attoseconds) / 1e18)
    }
}

/// Field limits for names and free-text attributes: printable, bounded, trimmed.
public enum AccountFieldRules {
    public static let maximumNameLength = 256

    /// Validates a required person name or optional attribute; returns the trimmed value.
    public static func text(_ value: String, field: String, required: Bool) throws -> String? {
        // The usual case, checked on bytes (a directory sync checks hundreds of thousands of values):
        // printable ASCII without surrounding spaces, short enough.
        var copy = value
        let plain = copy.withUTF8 { bytes in
            !bytes.isEmpty && bytes.count <= maximumNameLength && bytes.first != 0x20 && bytes.last != 0x20
                && bytes.allSatisfy { $0 >= 0x20 && $0 < 0x7F }
        }
        if plain { return value }
        let label = String(field.map { $0 == "_" ? " " : $0 })
        let trimmed = String(value.drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())
        if trimmed.isEmpty {
            if required {
                throw CoreError(.invalidInput, "account.\(field)_required", "\(label) must not be empty")
            }
            return nil
        }
        guard trimmed.count <= maximumNameLength else {
            throw CoreError(
                .invalidInput, "account.\(field)_length", "\(label) must be at most \(maximumNameLength) characters")
        }
        guard !trimmed.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw CoreError(.invalidInput, "account.\(field)_control", "\(label) must not contain control characters")
        }
        return trimmed
    }

    /// A syntactic check of an email address: one `@`, a non-empty local part and a dotted domain.
    public static func email(_ value: String) throws -> String? {
        guard let trimmed = try text(value, field: "email", required: false) else { return nil }
        // Printable ASCII (the usual case) is checked on bytes.
        var copy = trimmed
        let verdict = copy.withUTF8 { bytes -> Bool? in
            guard bytes.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else { return nil }  // not plain: the path below
            guard let at = bytes.firstIndex(of: UInt8(ascii: "@")), at > 0,
                !bytes[(at + 1)...].contains(UInt8(ascii: "@"))
            else { return false }
            let domain = bytes[(at + 1)...]
            return domain.contains(UInt8(ascii: ".")) && domain.first != UInt8(ascii: ".")
                && domain.last != UInt8(ascii: ".")
        }
        if verdict == true { return trimmed }
        let parts = trimmed.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, parts[1].contains("."), !parts[1].hasPrefix("."),
            !parts[1].hasSuffix("."),
            !trimmed.contains(where: \.isWhitespace)
        else {
            throw CoreError(
                .invalidInput, "account.email_invalid",
                "email '\(ManagedAccountID.printable(value))' is not a valid address")
        }
        return trimmed
    }
}
