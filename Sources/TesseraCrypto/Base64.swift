/// Base64url (RFC 4648 §5) without padding, as JOSE and OAuth use it.
public enum Base64URL {
    public static func encode(_ bytes: some Collection<UInt8>) -> String {
        Base64Alphabet.url.encode(bytes)
    }

    /// Appends the encoding of `bytes` to `out` (for building a JWS without intermediate strings).
    public static func append(_ bytes: UnsafeBufferPointer<UInt8>, to out: inout [UInt8]) {
        Base64Alphabet.url.append(bytes, to: &out)
    }

    /// Strict decode: only `A–Z a–z 0–9 - _`, no padding, no whitespace, a length that is not 1 mod 4,
    /// and zero unused trailing bits (so every byte string has exactly one accepted encoding).
    public static func decode(_ string: String) throws(CryptoError) -> [UInt8] {
        try Base64Alphabet.url.decode(string)
    }
}

/// A 64-character alphabet, encoded and decoded without padding.
/// Standard base64 (RFC 4648 §4) with `=` padding, as HTTP Basic credentials use.
public enum Base64 {
    /// Padded standard base64 (as `WWW-Authenticate: Negotiate` carries tokens).
    public static func encode(_ bytes: some Collection<UInt8>) -> String {
        let text = Base64Alphabet.standard.encode(bytes)
        return text + String(repeating: "=", count: (4 - text.utf8.count % 4) % 4)
    }

    /// Decodes padded standard base64; the padding must be exactly what the length calls for.
    public static func decode(_ string: String) throws(CryptoError) -> [UInt8] {
        var string = string
        return try string.withUTF8 { chars in Result { () throws(CryptoError) in try decode(chars) } }.get()
    }

    /// `decode` on UTF-8 bytes.
    public static func decode(_ chars: UnsafeBufferPointer<UInt8>) throws(CryptoError) -> [UInt8] {
        var padding = 0
        while padding < 2, chars.count > padding, chars[chars.count - 1 - padding] == UInt8(ascii: "=") {
            padding += 1
        }
        let body = chars.count - padding
        guard chars.count % 4 == 0, padding == (4 - body % 4) % 4 else {
            throw CryptoError(code: .invalidEncoding, message: "base64 input is not padded to a multiple of 4")
        }
        return try Base64Alphabet.standard.decode(UnsafeBufferPointer(rebasing: chars[..<body]))
    }
}

struct Base64Alphabet: Sendable {
    /// RFC 4648 §5 (`-`, `_`).
    static let url = Base64Alphabet("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    /// RFC 4648 §4 (`+`, `/`), used unpadded by the PHC string format.
    static let standard = Base64Alphabet("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")

    private let symbols: [UInt8]
    private let values: [UInt8]  // 0xFF marks a byte outside the alphabet

    private init(_ alphabet: StaticString) {
        symbols = alphabet.withUTF8Buffer { Array($0) }
        precondition(symbols.count == 64)
        var values = [UInt8](repeating: 0xFF, count: 256)
        for (index, symbol) in symbols.enumerated() { values[Int(symbol)] = UInt8(index) }
        self.values = values
    }

    /// Characters needed for `count` bytes, unpadded.
    static func encodedLength(_ count: Int) -> Int { (count * 4 + 2) / 3 }

    func encode(_ input: some Collection<UInt8>) -> String {
        let encode = { (bytes: UnsafeBufferPointer<UInt8>) -> String in
            String(unsafeUninitializedCapacity: Self.encodedLength(bytes.count)) { self.encode(bytes, into: $0) }
        }
        return input.withContiguousStorageIfAvailable(encode) ?? Array(input).withUnsafeBufferPointer(encode)
    }

    /// Appends the encoding of `input` to `out`.
    func append(_ input: UnsafeBufferPointer<UInt8>, to out: inout [UInt8]) {
        let length = Self.encodedLength(input.count)
        let start = out.count
        out.append(contentsOf: repeatElement(0, count: length))
        out.withUnsafeMutableBufferPointer { buffer in
            _ = encode(input, into: UnsafeMutableBufferPointer(rebasing: buffer[start...]))
        }
    }

    /// Writes the encoding of `bytes` to the start of `out` (at least `encodedLength` long); returns
    /// the number of characters written.
    private func encode(_ bytes: UnsafeBufferPointer<UInt8>, into out: UnsafeMutableBufferPointer<UInt8>) -> Int {
        symbols.withUnsafeBufferPointer { symbols in
            var index = 0
            var written = 0
            while index + 3 <= bytes.count {
                let n = UInt32(bytes[index]) << 16 | UInt32(bytes[index + 1]) << 8 | UInt32(bytes[index + 2])
                out[written] = symbols[Int(n >> 18 & 63)]
                out[written + 1] = symbols[Int(n >> 12 & 63)]
                out[written + 2] = symbols[Int(n >> 6 & 63)]
                out[written + 3] = symbols[Int(n & 63)]
                index += 3
                written += 4
            }
            switch bytes.count - index {
            case 1:
                let n = UInt32(bytes[index]) << 16
                out[written] = symbols[Int(n >> 18 & 63)]
                out[written + 1] = symbols[Int(n >> 12 & 63)]
                written += 2
            case 2:
                let n = UInt32(bytes[index]) << 16 | UInt32(bytes[index + 1]) << 8
                out[written] = symbols[Int(n >> 18 & 63)]
                out[written + 1] = symbols[Int(n >> 12 & 63)]
                out[written + 2] = symbols[Int(n >> 6 & 63)]
                written += 3
            default:
                break
            }
            return written
        }
    }

    func decode(_ string: String) throws(CryptoError) -> [UInt8] {
        var string = string
        return try string.withUTF8 { chars in Result { () throws(CryptoError) in try decode(chars) } }.get()
    }

    func decode(_ chars: UnsafeBufferPointer<UInt8>) throws(CryptoError) -> [UInt8] {
        guard chars.count % 4 != 1 else {
            throw CryptoError(code: .invalidEncoding, message: "base64 input has an impossible length")
        }
        var out: [UInt8] = []
        out.reserveCapacity(chars.count * 3 / 4)
        var accumulator: UInt32 = 0
        var bits = 0
        for char in chars {
            let value = values[Int(char)]
            guard value != 0xFF else {
                throw CryptoError(code: .invalidEncoding, message: "base64 input has a character outside the alphabet")
            }
            accumulator = accumulator << 6 | UInt32(value)
            bits += 6
            if bits >= 8 {
                bits -= 8
                out.append(UInt8(truncatingIfNeeded: accumulator >> UInt32(bits)))
                accumulator &= (1 << UInt32(bits)) - 1
            }
        }
        guard accumulator == 0 else {
            throw CryptoError(code: .invalidEncoding, message: "base64 input has non-zero trailing bits")
        }
        return out
    }
}
