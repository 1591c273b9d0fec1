import Foundation  // Decodable, for JSON5 templates; JOSE input goes through JSONParser, output through JSONWriter
import TesseraPlatform

/// A JSON value as JOSE headers and JWT claims carry them.
public enum JSONValue: Sendable, Hashable {
    case null
    case bool(Bool)
    /// Numbers without a fraction or exponent that fit in `Int`; other numbers are `.double`.
    case int(Int)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public var stringValue: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    /// The value as a NumericDate (seconds since the epoch), truncating a fractional part. Values beyond
    /// ±10^15 s are refused, so date arithmetic with them cannot overflow.
    var numericDate: Int? {
        switch self {
        // `magnitude`, not `abs`: abs(Int.min) traps, and this runs on unverified input.
        case .int(let value) where value.magnitude < 1_000_000_000_000_000: return value
        case .double(let value) where value.isFinite && abs(value) < 1e15: return Int(value.rounded(.down))
        default: return nil
        }
    }

    /// Writes the value; object members in sorted order so equal values serialise to equal bytes.
    func write(to writer: inout JSONWriter) {
        switch self {
        case .null: writer.null()
        case .bool(let value): writer.bool(value)
        case .int(let value): writer.int(value)
        case .double(let value): writer.double(value)
        case .string(let value): writer.string(value)
        case .array(let values):
            writer.beginArray()
            for value in values { value.write(to: &writer) }
            writer.endArray()
        case .object(let members):
            writer.beginObject()
            for name in members.keys.sorted() {
                writer.key(name)
                members[name]!.write(to: &writer)
            }
            writer.endObject()
        }
    }

    /// Parses `bytes` as one JSON object (top-level arrays, scalars, invalid UTF-8 and repeated member
    /// names are errors): see `JSONParser`.
    static func parseObject(_ bytes: [UInt8]) throws -> [String: JSONValue] {
        try JSONParser.object(bytes)
    }
}

/// JSON5 templates (the enrolment profile) are read with Foundation's `JSONDecoder`; JOSE input never is.
extension JSONValue: Decodable {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Int.self) {
            self = .int(value)
        } else if let value = try? container.decode(Double.self) {
            self = .double(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }
}

extension JSONValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral {
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int) { self = .int(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
}
