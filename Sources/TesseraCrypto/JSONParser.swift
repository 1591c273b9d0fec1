/// A strict RFC 8259 parser for the JSON of JOSE headers, JWT claims and JWK sets: untrusted input
/// that every token check reads, so it is parsed in one pass over the bytes, without Foundation.
///
/// Beyond the grammar it refuses what would let two readers see different values: invalid UTF-8,
/// unpaired UTF-16 surrogates in `\u` escapes, a member name repeated in an object (RFC 7515 §5.2,
/// RFC 7519 §4; names Swift holds equal, i.e. canonically equivalent ones such as `"\u00e9"` and
/// `"e\u0301"`, count as repeated, since one `[String: JSONValue]` cannot keep both), numbers too large
/// for a `Double`; and nesting deeper than `maximumDepth`. Strings must be in the Stream-Safe Text
/// Format (UAX #15: at most 30 combining marks in a row), so comparing or hashing one, which normalises
/// it, costs linear time even for text crafted against the normaliser.
/// Numbers without a fraction or exponent that fit in `Int` are `.int` (`-0` is `0`), every other number
/// `.double`.
struct JSONParser {
    struct Failure: Error, Equatable {
        var offset: Int
        var reason: String
    }

    static let maximumDepth = 64
    /// UAX #15's Stream-Safe Text Format.
    static let maximumCombiningRun = 30

    private let bytes: [UInt8]
    private var index = 0
    private var depth = 0

    private init(_ bytes: [UInt8]) { self.bytes = bytes }

    /// The object `bytes` hold, alone but for whitespace.
    static func object(_ bytes: [UInt8]) throws(Failure) -> [String: JSONValue] {
        var parser = JSONParser(bytes)
        parser.skipWhitespace()
        guard parser.peek == UInt8(ascii: "{") else { throw parser.failure("expected an object") }
        let object = try parser.parseObject()
        parser.skipWhitespace()
        guard parser.index == bytes.count else { throw parser.failure("unexpected data after the object") }
        return object
    }

    private var peek: UInt8? { index < bytes.count ? bytes[index] : nil }

    private func failure(_ reason: String) -> Failure { Failure(offset: index, reason: reason) }

    private mutating func skipWhitespace() {
        while let byte = peek, byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D { index += 1 }
    }

    private mutating func expect(_ byte: UInt8) throws(Failure) {
        guard peek == byte else { throw failure("expected '\(Character(Unicode.Scalar(byte)))'") }
        index += 1
    }

    private mutating func parseValue() throws(Failure) -> JSONValue {
        skipWhitespace()
        guard let next = peek else { throw failure("unexpected end of input") }
        switch next {
        case UInt8(ascii: "{"): return .object(try parseObject())
        case UInt8(ascii: "["): return .array(try parseArray())
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try parseNumber()
        default: throw failure("unexpected character")
        }
    }

    private mutating func enter() throws(Failure) {
        depth += 1
        guard depth <= Self.maximumDepth else { throw failure("nested deeper than \(Self.maximumDepth) levels") }
    }

    private mutating func parseObject() throws(Failure) -> [String: JSONValue] {
        var members: [String: JSONValue] = [:]
        try elements(UInt8(ascii: "{"), UInt8(ascii: "}")) { parser throws(Failure) in
            let nameOffset = parser.index
            guard parser.peek == UInt8(ascii: "\"") else { throw parser.failure("expected a member name") }
            let name = try parser.parseString()
            parser.skipWhitespace()
            try parser.expect(UInt8(ascii: ":"))
            let value = try parser.parseValue()
            guard members.updateValue(value, forKey: name) == nil else {
                throw Failure(offset: nameOffset, reason: "member \"\(name)\" appears twice")
            }
        }
        return members
    }

    private mutating func parseArray() throws(Failure) -> [JSONValue] {
        var values: [JSONValue] = []
        try elements(UInt8(ascii: "["), UInt8(ascii: "]")) { parser throws(Failure) in
            values.append(try parser.parseValue())
        }
        return values
    }

    /// `open`, then `element` for each comma-separated element (none or more), then `close`; one level
    /// of nesting.
    private mutating func elements(
        _ open: UInt8, _ close: UInt8, _ element: (inout JSONParser) throws(Failure) -> Void
    ) throws(Failure) {
        try enter()
        defer { depth -= 1 }
        try expect(open)
        skipWhitespace()
        if peek == close {
            index += 1
            return
        }
        while true {
            skipWhitespace()
            try element(&self)
            skipWhitespace()
            if peek == UInt8(ascii: ",") {
                index += 1
                continue
            }
            try expect(close)
            return
        }
    }

    private mutating func literal(_ word: StaticString) throws(Failure) {
        let count = word.utf8CodeUnitCount
        guard index + count <= bytes.count else { throw failure("unexpected end of input") }
        for offset in 0..<count where bytes[index + offset] != word.utf8Start[offset] {
            throw failure("unexpected character")
        }
        index += count
    }

    private mutating func parseString() throws(Failure) -> String {
        try expect(UInt8(ascii: "\""))
        let start = index
        // The usual string has no escapes: validate and copy it in one go.
        while let byte = peek, byte != UInt8(ascii: "\""), byte != UInt8(ascii: "\\") {
            guard byte >= 0x20 else { throw failure("control character in a string") }
            index += 1
        }
        guard let stop = peek else { throw failure("unterminated string") }
        var utf8 = Array(bytes[start..<index])
        if stop == UInt8(ascii: "\\") {
            while true {
                guard let byte = peek else { throw failure("unterminated string") }
                index += 1
                switch byte {
                case UInt8(ascii: "\""):
                    return try Self.text(utf8, at: start)
                case UInt8(ascii: "\\"):
                    try appendEscape(to: &utf8)
                case 0..<0x20:
                    index -= 1
                    throw failure("control character in a string")
                default:
                    utf8.append(byte)
                }
            }
        }
        index += 1
        return try Self.text(utf8, at: start)
    }

    private static func text(_ utf8: [UInt8], at start: Int) throws(Failure) -> String {
        guard let text = String(validating: utf8, as: UTF8.self) else {
            throw Failure(offset: start, reason: "a string is not valid UTF-8")
        }
        if utf8.contains(where: { $0 >= 0x80 }) {
            var combiningRun = 0
            for scalar in text.unicodeScalars {
                combiningRun = scalar.properties.canonicalCombiningClass == .notReordered ? 0 : combiningRun + 1
                guard combiningRun <= maximumCombiningRun else {
                    throw Failure(offset: start, reason: "more than \(maximumCombiningRun) combining marks in a row")
                }
            }
        }
        return text
    }

    private mutating func appendEscape(to utf8: inout [UInt8]) throws(Failure) {
        guard let escape = peek else { throw failure("unterminated string") }
        index += 1
        switch escape {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): utf8.append(escape)
        case UInt8(ascii: "b"): utf8.append(0x08)
        case UInt8(ascii: "f"): utf8.append(0x0C)
        case UInt8(ascii: "n"): utf8.append(0x0A)
        case UInt8(ascii: "r"): utf8.append(0x0D)
        case UInt8(ascii: "t"): utf8.append(0x09)
        case UInt8(ascii: "u"):
            var scalar = UInt32(try hexQuad())
            if (0xD800...0xDBFF).contains(scalar) {
                guard peek == UInt8(ascii: "\\"), index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: "u")
                else { throw failure("unpaired surrogate in a \\u escape") }
                index += 2
                let low = UInt32(try hexQuad())
                guard (0xDC00...0xDFFF).contains(low) else { throw failure("unpaired surrogate in a \\u escape") }
                scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
            } else if (0xDC00...0xDFFF).contains(scalar) {
                throw failure("unpaired surrogate in a \\u escape")
            }
            // Not a surrogate, so always a scalar value.
            utf8.append(contentsOf: String(Character(Unicode.Scalar(scalar)!)).utf8)
        default:
            index -= 1
            throw failure("unknown escape in a string")
        }
    }

    private mutating func hexQuad() throws(Failure) -> UInt16 {
        guard index + 4 <= bytes.count else { throw failure("unterminated \\u escape") }
        var value: UInt16 = 0
        for _ in 0..<4 {
            let byte = bytes[index]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw failure("invalid \\u escape")
            }
            value = value << 4 | UInt16(digit)
            index += 1
        }
        return value
    }

    /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`
    private mutating func parseNumber() throws(Failure) -> JSONValue {
        let start = index
        func digits(_ parser: inout JSONParser) -> Int {
            let first = parser.index
            while let byte = parser.peek, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) { parser.index += 1 }
            return parser.index - first
        }
        if peek == UInt8(ascii: "-") { index += 1 }
        if peek == UInt8(ascii: "0") {
            index += 1
        } else {
            guard digits(&self) > 0 else { throw failure("invalid number") }
        }
        var integral = true
        if peek == UInt8(ascii: ".") {
            index += 1
            integral = false
            guard digits(&self) > 0 else { throw failure("invalid number") }
        }
        if peek == UInt8(ascii: "e") || peek == UInt8(ascii: "E") {
            index += 1
            integral = false
            if peek == UInt8(ascii: "+") || peek == UInt8(ascii: "-") { index += 1 }
            guard digits(&self) > 0 else { throw failure("invalid number") }
        }
        let text = String(decoding: bytes[start..<index], as: UTF8.self)
        if integral, let value = Int(text) { return .int(value) }
        guard let value = Double(text), value.isFinite else {
            throw Failure(offset: start, reason: "number out of range")
        }
        return .double(value)
    }
}
