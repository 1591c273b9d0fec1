import TesseraPlatform

#if canImport(FoundationEssentials)
    public import FoundationEssentials
#else
    public import Foundation
#endif

/// A property-list value (Apple's plist types), written as an XML property list.
public indirect enum PropertyList: Sendable, Equatable {
    case string(String)
    case integer(Int)
    case real(Double)
    case bool(Bool)
    case data([UInt8])
    case date(Date)
    case array([PropertyList])
    case dictionary([String: PropertyList])

    /// The XML property list (version 1.0, UTF-8), dictionary keys in sorted order as Apple's
    /// writer does, so equal values give equal bytes.
    public var xml: [UInt8] {
        var out = Array(
            """
            <?xml version="1.0" encoding="UTF-8"?>
            <!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
            <plist version="1.0">

            """.utf8)
        write(to: &out, depth: 0)
        out.append(contentsOf: "</plist>\n".utf8)
        return out
    }

    private func write(to out: inout [UInt8], depth: Int) {
        let indent = [UInt8](repeating: UInt8(ascii: "\t"), count: depth)
        out.append(contentsOf: indent)
        switch self {
        case .string(let text): Self.element("string", Self.escaped(text), into: &out)
        case .integer(let number): Self.element("integer", String(number), into: &out)
        case .real(let number): Self.element("real", number.isFinite ? "\(number)" : "0", into: &out)
        case .bool(let flag): out.append(contentsOf: (flag ? "<true/>" : "<false/>").utf8)
        case .data(let bytes): Self.element("data", Self.base64(bytes), into: &out)
        case .date(let date):
            Self.element("date", date.ISO8601Format(), into: &out)
        case .array(let items):
            out.append(contentsOf: "<array>\n".utf8)
            for item in items { item.write(to: &out, depth: depth + 1) }
            out.append(contentsOf: indent)
            out.append(contentsOf: "</array>".utf8)
        case .dictionary(let members):
            out.append(contentsOf: "<dict>\n".utf8)
            for key in members.keys.sorted() {
                out.append(contentsOf: indent)
                out.append(UInt8(ascii: "\t"))
                Self.element("key", Self.escaped(key), into: &out)
                out.append(UInt8(ascii: "\n"))
                members[key]!.write(to: &out, depth: depth + 1)
            }
            out.append(contentsOf: indent)
            out.append(contentsOf: "</dict>".utf8)
        }
        out.append(UInt8(ascii: "\n"))
    }

    private static func element(_ name: String, _ text: String, into out: inout [UInt8]) {
        out.append(contentsOf: "<\(name)>".utf8)
        out.append(contentsOf: text.utf8)
        out.append(contentsOf: "</\(name)>".utf8)
    }

    /// Text as XML character data (see `MarkupText.escaped`).
    static func escaped(_ text: String) -> String { MarkupText.escaped(text) }

    private static func base64(_ bytes: [UInt8]) -> String { Data(bytes).base64EncodedString() }
}
