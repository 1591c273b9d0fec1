/// Builds compact JSON text directly into `[UInt8]`.
///
/// The writer tracks commas itself; callers only say what comes next:
/// ```
/// var json = JSONWriter()
/// json.beginObject()
/// json.key("name"); json.string("Ada")
/// json.key("roles"); json.beginArray(); json.string("staff"); json.endArray()
/// json.endObject()
/// ```
/// Output is always valid UTF-8 (Swift strings are valid Unicode). Non-finite doubles, which JSON cannot
/// represent, are written as `null`. Nesting mistakes (a key outside an object, unbalanced `end…`) are
/// programmer errors and trap.
public struct JSONWriter: Sendable {
    public private(set) var bytes: [UInt8]
    // The open containers as a stack of bits, innermost in bit 0, so writing allocates nothing but
    // `bytes`: whether each is an object, and whether it already holds a member (so the next needs a
    // comma). Containers nested deeper than 64 spill their bits into `deeper`.
    private var depth = 0
    private var objectBits: UInt64 = 0
    private var memberBits: UInt64 = 0
    private var deeper: [(isObject: Bool, hasMembers: Bool)] = []
    private var awaitingValueAfterKey = false

    public init(reservingCapacity capacity: Int = 256) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    /// True when every container opened has been closed.
    public var isComplete: Bool { depth == 0 && !awaitingValueAfterKey }

    public mutating func beginObject() {
        prepareForValue()
        bytes.append(UInt8(ascii: "{"))
        push(isObject: true)
    }

    public mutating func endObject() {
        precondition(innermostIsObject == true && !awaitingValueAfterKey, "JSONWriter: unbalanced endObject")
        pop()
        bytes.append(UInt8(ascii: "}"))
    }

    public mutating func beginArray() {
        prepareForValue()
        bytes.append(UInt8(ascii: "["))
        push(isObject: false)
    }

    public mutating func endArray() {
        precondition(innermostIsObject == false, "JSONWriter: unbalanced endArray")
        pop()
        bytes.append(UInt8(ascii: "]"))
    }

    /// Whether the innermost open container is an object; nil at the top level.
    private var innermostIsObject: Bool? { depth == 0 ? nil : objectBits & 1 == 1 }

    private mutating func push(isObject: Bool) {
        if depth >= 64 { deeper.append((objectBits >> 63 == 1, memberBits >> 63 == 1)) }
        objectBits = objectBits << 1 | (isObject ? 1 : 0)
        memberBits <<= 1
        depth += 1
    }

    private mutating func pop() {
        objectBits >>= 1
        memberBits >>= 1
        depth -= 1
        if depth >= 64, let spilled = deeper.popLast() {
            objectBits |= (spilled.isObject ? 1 : 0) << 63
            memberBits |= (spilled.hasMembers ? 1 : 0) << 63
        }
    }

    /// Writes an object member's name; the next call must write its value.
    public mutating func key(_ name: String) {
        precondition(innermostIsObject == true && !awaitingValueAfterKey, "JSONWriter: key outside an object")
        appendSeparatorIfNeeded()
        Self.appendQuoted(name, to: &bytes)
        bytes.append(UInt8(ascii: ":"))
        awaitingValueAfterKey = true
    }

    public mutating func string(_ value: String) {
        prepareForValue()
        Self.appendQuoted(value, to: &bytes)
    }

    public mutating func int(_ value: Int) {
        prepareForValue()
        bytes.append(contentsOf: String(value).utf8)
    }

    public mutating func double(_ value: Double) {
        prepareForValue()
        if value.isFinite {
            // Swift's shortest round-trip description ("1.5", "1e-05", "1e+20") is valid JSON.
            bytes.append(contentsOf: value.description.utf8)
        } else {
            bytes.append(contentsOf: "null".utf8)
        }
    }

    public mutating func bool(_ value: Bool) {
        prepareForValue()
        bytes.append(contentsOf: (value ? "true" : "false").utf8)
    }

    public mutating func null() {
        prepareForValue()
        bytes.append(contentsOf: "null".utf8)
    }

    /// Appends already-serialised JSON as one value. The caller vouches that `json` is valid JSON.
    public mutating func raw(_ json: some Sequence<UInt8>) {
        prepareForValue()
        bytes.append(contentsOf: json)
    }

    private mutating func prepareForValue() {
        if awaitingValueAfterKey {
            awaitingValueAfterKey = false
            return
        }
        precondition(innermostIsObject != true, "JSONWriter: object member needs a key first")
        appendSeparatorIfNeeded()
    }

    private mutating func appendSeparatorIfNeeded() {
        guard depth > 0 else { return }
        if memberBits & 1 == 1 {
            bytes.append(UInt8(ascii: ","))
        } else {
            memberBits |= 1
        }
    }

    /// Whether every byte is printable ASCII other than the quote and the backslash: eight bytes at a time, since
    /// tokens of several hundred bytes pass through here on every token response.
    static func isPlain(_ buffer: UnsafeBufferPointer<UInt8>) -> Bool {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        // A high bit in the result for each byte of `word` below `n` (n ≤ 128; exact when no byte ≥ 0x80).
        func below(_ word: UInt64, _ n: UInt64) -> UInt64 { (word &- ones &* n) & ~word & highs }
        func zeroByte(_ word: UInt64) -> UInt64 { below(word, 1) }
        var index = 0
        while index + 8 <= buffer.count {
            let word = UnsafeRawPointer(buffer.baseAddress! + index).loadUnaligned(as: UInt64.self)
            if word & highs != 0 || below(word, 0x20) != 0 || zeroByte(word ^ (ones &* 0x7F)) != 0
                || zeroByte(word ^ (ones &* 0x22)) != 0 || zeroByte(word ^ (ones &* 0x5C)) != 0
            {
                return false
            }
            index += 8
        }
        while index < buffer.count {
            let byte = buffer[index]
            if byte < 0x20 || byte >= 0x7F || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") { return false }
            index += 1
        }
        return true
    }

    /// Appends `value` as a quoted JSON string.
    ///
    /// Escapes `"` and `\`, every C0 control character and DEL as `\u00XX`, and U+2028/U+2029 (legal JSON
    /// but line terminators for JavaScript), so the text is safe to embed in a log line or a script.
    public static func appendQuoted(_ value: String, to bytes: inout [UInt8]) {
        // Fast path: printable ASCII without quotes or backslashes (tokens, identifiers) is copied as is.
        let plain = value.utf8.withContiguousStorageIfAvailable { buffer -> Bool in
            guard isPlain(buffer) else { return false }
            bytes.append(UInt8(ascii: "\""))
            bytes.append(contentsOf: buffer)
            bytes.append(UInt8(ascii: "\""))
            return true
        }
        if plain == true { return }
        bytes.append(UInt8(ascii: "\""))
        var utf8 = value.utf8.makeIterator()
        // U+2028 / U+2029 are E2 80 A8 / E2 80 A9 in UTF-8; remember pending lead bytes to spot them.
        var pending: [UInt8] = []
        while let byte = utf8.next() {
            if !pending.isEmpty {
                pending.append(byte)
                if pending.count == 2 {
                    if pending[1] != 0x80 {
                        bytes.append(contentsOf: pending)
                        pending.removeAll(keepingCapacity: true)
                    }
                    continue
                }
                // pending.count == 3
                if pending[2] == 0xA8 || pending[2] == 0xA9 {
                    bytes.append(contentsOf: pending[2] == 0xA8 ? Array("\\u2028".utf8) : Array("\\u2029".utf8))
                } else {
                    bytes.append(contentsOf: pending)
                }
                pending.removeAll(keepingCapacity: true)
                continue
            }
            switch byte {
            case UInt8(ascii: "\""):
                bytes.append(UInt8(ascii: "\\"))
                bytes.append(UInt8(ascii: "\""))
            case UInt8(ascii: "\\"):
                bytes.append(UInt8(ascii: "\\"))
                bytes.append(UInt8(ascii: "\\"))
            case 0x00..<0x20, 0x7F:
                bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0")])
                bytes.append(hexDigit(byte >> 4))
                bytes.append(hexDigit(byte & 0x0F))
            case 0xE2:
                pending.append(byte)
            default:
                bytes.append(byte)
            }
        }
        bytes.append(contentsOf: pending)
        bytes.append(UInt8(ascii: "\""))
    }

    private static func hexDigit(_ nibble: UInt8) -> UInt8 {
        nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "a") + nibble - 10
    }
}
