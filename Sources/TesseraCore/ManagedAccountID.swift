/// A managed account's identifier: `local@domain`, where `domain` is one of the organisation's managed
/// domains. Stored and compared lower-cased, so uniqueness is case-insensitive.
public struct ManagedAccountID: Hashable, Sendable, Comparable, CustomStringConvertible {
    public let localPart: String
    public let domain: String

    public var description: String { "\(localPart)@\(domain)" }
    public var rawValue: String { description }

    public static func < (lhs: ManagedAccountID, rhs: ManagedAccountID) -> Bool { lhs.rawValue < rhs.rawValue }

    /// The longest local part accepted (RFC 5321's limit).
    public static let maximumLocalPartLength = 64

    /// Parses and validates `text` against the managed domains.
    ///
    /// The identifier is split at the **last** `@`, as devices do (PROTOCOLS.md §1.1).
    /// - Throws: `CoreError.invalidInput` naming the rule broken.
    public init(_ text: String, managedDomains: ManagedDomains) throws {
        let trimmed = text
        guard let at = trimmed.lastIndex(of: "@") else {
            throw CoreError(
                .invalidInput, "managed_id.missing_at",
                "managed ID '\(Self.printable(text))' must have the form local@domain")
        }
        let local = String(trimmed[..<at]).lowercased()
        let domain = String(trimmed[trimmed.index(after: at)...]).lowercased()
        guard !local.isEmpty else {
            throw CoreError(
                .invalidInput, "managed_id.local_part_empty",
                "managed ID '\(Self.printable(text))' has an empty local part")
        }
        guard local.utf8.count <= Self.maximumLocalPartLength else {
            throw CoreError(
                .invalidInput, "managed_id.local_part_length",
                "managed ID local part must be 1 to \(Self.maximumLocalPartLength) characters, got \(local.count)")
        }
        guard local.utf8.allSatisfy(Self.isLocalPartByte) else {
            throw CoreError(
                .invalidInput, "managed_id.local_part_charset",
                "managed ID '\(Self.printable(text))' may use only letters, digits, '.', '_', '-' and '+' before the '@'"
            )
        }
        guard local.first != ".", local.last != ".", !local.contains("..") else {
            throw CoreError(
                .invalidInput, "managed_id.local_part_dots",
                "managed ID '\(Self.printable(text))' may not start or end with '.' or contain '..'")
        }
        guard managedDomains.contains(domain) else {
            throw CoreError(
                .invalidInput, "managed_id.domain_not_managed",
                "'\(Self.printable(domain))' is not a managed domain (managed: \(managedDomains.names.joined(separator: ", ")))"
            )
        }
        self.localPart = local
        self.domain = domain
    }

    /// Rebuilds an identifier that was validated before it was stored.
    public init(trusted text: String) {
        let at = text.lastIndex(of: "@") ?? text.endIndex
        localPart = String(text[..<at])
        domain = at == text.endIndex ? "" : String(text[text.index(after: at)...])
    }

    private static func isLocalPartByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"): true
        case UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "-"), UInt8(ascii: "+"): true
        default: false
        }
    }

    /// Input echoed in an error is cut short and stripped of control characters.
    public static func printable(_ text: String) -> String {
        let cleaned = String(
            text.unicodeScalars.filter { $0.value >= 0x20 && $0.value != 0x7F }.prefix(100).map(Character.init))
        return text.unicodeScalars.count > 100 ? cleaned + "…" : cleaned
    }
}

/// The organisation's managed domains, e.g. `appleid.example.com`.
public struct ManagedDomains: Sendable, Equatable {
    public let names: [String]

    /// - Throws: `CoreError.invalidInput` when a name is not a valid DNS name.
    public init(_ names: [String]) throws {
        var seen: [String] = []
        for name in names {
            let lower = name.lowercased()
            guard Self.isDNSName(lower) else {
                throw CoreError(
                    .invalidInput, "managed_domain.invalid",
                    "'\(ManagedAccountID.printable(name))' is not a valid domain name")
            }
            if !seen.contains(lower) { seen.append(lower) }
        }
        self.names = seen
    }

    public func contains(_ domain: String) -> Bool { names.contains(domain.lowercased()) }

    static func isDNSName(_ name: String) -> Bool {
        guard !name.isEmpty, name.utf8.count <= 253 else { return false }
        let labels = name.split(separator: ".", omittingEmptySubsequences: false)
        guard labels.count >= 2 else { return false }
        return labels.allSatisfy { label in
            guard (1...63).contains(label.utf8.count), label.first != "-", label.last != "-" else { return false }
            return label.utf8.allSatisfy { byte in
                (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
                    || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
                    || byte == UInt8(ascii: "-")
            }
        }
    }
}
