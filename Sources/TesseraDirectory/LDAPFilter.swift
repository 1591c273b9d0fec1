/// Search filters (RFC 4515) built so that no value can change their structure.
public enum LDAPFilter {
    /// `value` escaped as an RFC 4515 assertion value: `*`, `(`, `)`, `\` and NUL (which the RFC
    /// requires), and every other control character (so the filter is also safe to log), become `\XX`.
    /// Other UTF-8 passes through unchanged.
    public static func escape(_ value: String) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(value.utf8.count)
        let digits: StaticString = "0123456789abcdef"
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "*"), UInt8(ascii: "("), UInt8(ascii: ")"), UInt8(ascii: "\\"), 0x00..<0x20, 0x7F:
                digits.withUTF8Buffer { hex in
                    out.append(UInt8(ascii: "\\"))
                    out.append(hex[Int(byte >> 4)])
                    out.append(hex[Int(byte & 0x0F)])
                }
            default:
                out.append(byte)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// `(attribute=value)` with the value escaped.
    /// - Precondition: `attribute` is an attribute description (letters, digits, `-`, `;`, or an OID):
    ///   it comes from configuration, which checks it, never from a request.
    public static func equals(_ attribute: String, _ value: String) -> String {
        precondition(isAttributeDescription(attribute), "LDAPFilter: invalid attribute \(attribute)")
        return "(\(attribute)=\(escape(value)))"
    }

    /// An RFC 4512 attribute description: a descriptor (`uid`, `userPrincipalName`) or a numeric OID,
    /// optionally with options (`;binary`).
    public static func isAttributeDescription(_ text: String) -> Bool {
        let parts = text.split(separator: ";", omittingEmptySubsequences: false)
        guard let type = parts.first, !type.isEmpty else { return false }
        let isDescriptor =
            type.first!.isASCII && type.first!.isLetter
            && type.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }
        let isOID =
            type.split(separator: ".", omittingEmptySubsequences: false).allSatisfy {
                !$0.isEmpty && $0.allSatisfy { $0.isASCII && $0.isNumber }
            }
        let optionsValid = parts.dropFirst().allSatisfy {
            !$0.isEmpty && $0.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }
        }
        return (isDescriptor || isOID) && optionsValid
    }
}
