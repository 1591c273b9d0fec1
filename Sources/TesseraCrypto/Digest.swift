internal import COpenSSL

/// SHA-256 through OpenSSL's EVP interface.
public enum SHA256 {
    public static let digestLength = 32

    /// Fetched once: `EVP_sha256()` makes OpenSSL 3 look the implementation up again on every call.
    static let implementation = FetchedDigest("SHA256")

    /// The 32-byte SHA-256 digest of `bytes`.
    public static func hash(_ bytes: [UInt8]) -> [UInt8] {
        var digest = [UInt8](repeating: 0, count: digestLength)
        var length: UInt32 = 0
        let status = bytes.withUnsafeBytes { input in
            digest.withUnsafeMutableBufferPointer { output in
                EVP_Digest(
                    input.baseAddress, input.count, output.baseAddress, &length, implementation.pointer ?? EVP_sha256(),
                    nil)
            }
        }
        // Hashing in-memory bytes with a built-in digest fails only if OpenSSL itself is broken.
        precondition(status == 1 && length == 32, "SHA256: \(CryptoError.openSSL("EVP_Digest"))")
        return digest
    }

    /// Hashes `bytes` into `digest` (at least `digestLength` long), without allocating.
    static func hash(_ bytes: UnsafeRawBufferPointer, into digest: UnsafeMutableBufferPointer<UInt8>) {
        precondition(digest.count >= digestLength)
        var length: UInt32 = 0
        let status = EVP_Digest(
            bytes.baseAddress, bytes.count, digest.baseAddress, &length, implementation.pointer ?? EVP_sha256(), nil)
        precondition(status == 1 && length == 32, "SHA256: \(CryptoError.openSSL("EVP_Digest"))")
    }

    /// Whether `hexDigest` is the lower-case hex SHA-256 digest of `bytes`, compared in constant time
    /// (and without allocating: client secrets are checked on every token request).
    public static func matchesHexDigest(_ bytes: UnsafeRawBufferPointer, _ hexDigest: String) -> Bool {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: digestLength * 3) { scratch in
            let digest = UnsafeMutableBufferPointer(rebasing: scratch[..<digestLength])
            let hex = UnsafeMutableBufferPointer(rebasing: scratch[digestLength...])
            hash(bytes, into: digest)
            let digits: StaticString = "0123456789abcdef"
            digits.withUTF8Buffer { digits in
                for (index, byte) in digest.enumerated() {
                    hex[2 * index] = digits[Int(byte >> 4)]
                    hex[2 * index + 1] = digits[Int(byte & 0x0F)]
                }
            }
            var expected = hexDigest
            return expected.withUTF8 { ConstantTime.equals(UnsafeRawBufferPointer($0), UnsafeRawBufferPointer(hex)) }
        }
    }

    /// SHA-256 of the string's UTF-8 bytes.
    public static func hash(_ string: String) -> [UInt8] { hash(Array(string.utf8)) }

    /// The digest as lower-case hex.
    public static func hexDigest(_ bytes: [UInt8]) -> String { Hex.encode(hash(bytes)) }
}

/// Lower-case hexadecimal.
public enum Hex {
    public static func encode(_ bytes: some Collection<UInt8>) -> String {
        String(unsafeUninitializedCapacity: bytes.count * 2) { out in
            let digits: StaticString = "0123456789abcdef"
            return digits.withUTF8Buffer { digits in
                var written = 0
                for byte in bytes {
                    out[written] = digits[Int(byte >> 4)]
                    out[written + 1] = digits[Int(byte & 0x0F)]
                    written += 2
                }
                return written
            }
        }
    }

    /// Decodes hex (either case); throws `invalidEncoding` on odd length or a non-hex character.
    public static func decode(_ string: String) throws(CryptoError) -> [UInt8] {
        let chars = Array(string.utf8)
        guard chars.count % 2 == 0 else {
            throw CryptoError(code: .invalidEncoding, message: "hex input has odd length")
        }
        func value(_ c: UInt8) throws(CryptoError) -> UInt8 {
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
            default: throw CryptoError(code: .invalidEncoding, message: "hex input has a non-hex character")
            }
        }
        var out: [UInt8] = []
        out.reserveCapacity(chars.count / 2)
        var index = 0
        while index < chars.count {
            out.append(try value(chars[index]) << 4 | value(chars[index + 1]))
            index += 2
        }
        return out
    }
}

/// An explicitly fetched `EVP_MD`, kept for the life of the process.
///
/// `@unchecked Sendable`: a fetched `EVP_MD` is immutable and OpenSSL allows using it from any thread.
final class FetchedDigest: @unchecked Sendable {
    let pointer: OpaquePointer?

    init(_ name: String) {
        pointer = EVP_MD_fetch(nil, name, nil)
    }

    deinit {
        EVP_MD_free(pointer)
    }
}
