import Foundation  // JSONDecoder: parsing only; writing goes through TesseraPlatform's JSONWriter
import TesseraPlatform

/// A JSON value as JOSE headers and JWT claims carry them.
public enum JSONValue: Sendable, Hashable {
    case null
    case bool(Bool)
    /// Integers that fit in `Int`; other numbers are `.double`.
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

    struct DuplicateMember: Error {}

    /// Parses `bytes` as one JSON object (top-level arrays, scalars and invalid UTF-8 are errors).
    ///
    /// Objects with a repeated member name, at any depth, are refused: JSONDecoder keeps the first
    /// occurrence and other parsers keep the last, and a JOSE header or claim set must not mean different
    /// things to different readers (RFC 7515 §5.2, RFC 7519 §4).
    static func parseObject(_ bytes: [UInt8]) throws -> [String: JSONValue] {
        let object = try JSONDecoder().decode([String: JSONValue].self, from: Data(bytes))
        if try hasDuplicateMember(bytes) { throw DuplicateMember() }
        return object
    }

    /// Scans JSON text that already parsed for an object naming one member twice.
    private static func hasDuplicateMember(_ bytes: [UInt8]) throws -> Bool {
        struct Container {
            var names: Set<String>?  // nil for arrays
            var expectingName: Bool
        }
        var stack: [Container] = []
        var index = 0
        while index < bytes.count {
            switch bytes[index] {
            case UInt8(ascii: "{"):
                stack.append(Container(names: [], expectingName: true))
            case UInt8(ascii: "["):
                stack.append(Container(names: nil, expectingName: false))
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                _ = stack.popLast()
            case UInt8(ascii: ","):
                if stack.last?.names != nil { stack[stack.count - 1].expectingName = true }
            case UInt8(ascii: "\""):
                var end = index + 1
                var escaped = false
                while end < bytes.count && bytes[end] != UInt8(ascii: "\"") {
                    if bytes[end] == UInt8(ascii: "\\") {
                        escaped = true
                        end += 1
                    }
                    end += 1
                }
                if let top = stack.last, top.names != nil, top.expectingName {
                    let token = bytes[index...min(end, bytes.count - 1)]
                    // Escapes ("\u0061lg" is "alg") are rare in names; let the real parser resolve them.
                    let name =
                        escaped
                        ? try JSONDecoder().decode(String.self, from: Data(token))
                        : String(decoding: token.dropFirst().dropLast(), as: UTF8.self)
                    if stack[stack.count - 1].names!.insert(name).inserted == false { return true }
                    stack[stack.count - 1].expectingName = false
                }
                index = end
            default:
                break
            }
            index += 1
        }
        return false
    }
}

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
