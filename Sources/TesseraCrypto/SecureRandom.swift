internal import COpenSSL

/// Cryptographically secure random bytes from OpenSSL's DRBG (`RAND_bytes`).
public enum SecureRandom {
    /// Returns `count` random bytes.
    ///
    /// A failing `RAND_bytes` means the process has no trustworthy entropy; carrying on would mint
    /// guessable tokens, salts and keys. Like the standard library's `SystemRandomNumberGenerator`, this
    /// traps with OpenSSL's reason rather than throwing, so no caller can ignore it.
    public static func bytes(_ count: Int) -> [UInt8] {
        precondition(count >= 0, "SecureRandom.bytes: negative count")
        var output = [UInt8](repeating: 0, count: count)
        do {
            try fill(&output)
        } catch {
            fatalError("SecureRandom: \(error)")
        }
        return output
    }

    /// `bytes` random bytes encoded as base64url without padding (`bytes` = 32 gives a 256-bit token).
    public static func token(bytes: Int = 32) -> String {
        Base64URL.encode(Self.bytes(bytes))
    }

    /// A uniformly distributed integer in `0..<upperBound`, by rejection sampling (no modulo bias).
    static func uniform(below upperBound: Int) -> Int {
        precondition(upperBound > 0 && upperBound <= 1 << 32)
        let bound = UInt64(upperBound)
        // Largest multiple of `bound` that fits in 32 bits; draws at or above it are rejected.
        let limit = (UInt64(1) << 32) / bound * bound
        while true {
            let draw = bytes(4).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            if draw < limit { return Int(draw % bound) }
        }
    }

    static func fill(_ buffer: inout [UInt8]) throws(CryptoError) {
        var offset = 0
        while offset < buffer.count {
            let chunk = min(buffer.count - offset, Int(Int32.max))
            ERR_clear_error()
            let status = buffer.withUnsafeMutableBufferPointer { RAND_bytes($0.baseAddress! + offset, Int32(chunk)) }
            guard status == 1 else { throw CryptoError.openSSL("RAND_bytes") }
            offset += chunk
        }
    }
}

/// Comparisons whose running time does not depend on where the inputs differ.
public enum ConstantTime {
    /// True when `a` and `b` hold the same bytes. Equal-length inputs are compared with `CRYPTO_memcmp`
    /// (no early exit); for different lengths the longer input is still scanned in full before returning
    /// false, so only the lengths (never the content) can influence timing.
    public static func equals(_ a: some Collection<UInt8>, _ b: some Collection<UInt8>) -> Bool {
        let left = Array(a)
        let right = Array(b)
        if left.count == right.count {
            return memcmp(left, right) == 0
        }
        let longer = left.count > right.count ? left : right
        _ = memcmp(longer, longer)
        return false
    }

    /// `equals` on bytes in place.
    public static func equals(_ left: UnsafeRawBufferPointer, _ right: UnsafeRawBufferPointer) -> Bool {
        let longer = left.count >= right.count ? left : right
        guard let base = longer.baseAddress, !longer.isEmpty else { return left.count == right.count }
        if left.count == right.count {
            return CRYPTO_memcmp(left.baseAddress!, right.baseAddress!, left.count) == 0
        }
        _ = CRYPTO_memcmp(base, base, longer.count)
        return false
    }

    private static func memcmp(_ left: [UInt8], _ right: [UInt8]) -> Int32 {
        guard !left.isEmpty else { return 0 }
        return left.withUnsafeBytes { l in
            right.withUnsafeBytes { r in CRYPTO_memcmp(l.baseAddress!, r.baseAddress!, l.count) }
        }
    }
}
