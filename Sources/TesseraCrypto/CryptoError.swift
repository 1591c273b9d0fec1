internal import COpenSSL

/// The one error type TesseraCrypto throws: a stable `code` to branch on and a human `message`.
public struct CryptoError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Stable identifiers; callers map them to HTTP statuses, OAuth errors or CLI exit codes.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        init(_ rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// An OpenSSL call failed; the message carries OpenSSL's reason string.
        public static let openSSLFailure = Code("openssl_failure")
        /// Input is not valid base64/base64url (bad character, impossible length, non-canonical bits).
        public static let invalidEncoding = Code("invalid_encoding")
        /// A stored or supplied password hash is not a well-formed, in-bounds scrypt PHC string.
        public static let malformedPasswordHash = Code("malformed_password_hash")
        /// scrypt parameters outside the bounds Tessera accepts.
        public static let invalidParameters = Code("invalid_parameters")
        /// The password is empty.
        public static let emptyPassword = Code("empty_password")
        /// The password is longer than `PasswordHasher.maximumPasswordBytes` UTF-8 bytes.
        public static let passwordTooLong = Code("password_too_long")

        // JOSE: keys, JWS and JWT. Token codes are the reasons a presented token is refused.
        /// A key (JWK, PEM, PKCS#8, DER) is malformed, of the wrong type for its algorithm, too weak
        /// (RSA below 2048 bits) or not a valid point on its curve.
        public static let invalidKey = Code("invalid_key")
        /// The token is not a well-formed compact JWS/JWT (segments, base64url, JSON, claim types, size).
        public static let malformedToken = Code("malformed_token")
        /// The header's `alg` is `none`, an HMAC, unknown, not allowed, or not the key's own algorithm.
        public static let algorithmNotAllowed = Code("algorithm_not_allowed")
        /// The header has no `kid`, or no key is known under it.
        public static let unknownKey = Code("unknown_key")
        /// The header carries a parameter Tessera refuses (`crit`, or an embedded/remote key: `jwk`,
        /// `jku`, `x5u`, `x5c`).
        public static let unsupportedHeader = Code("unsupported_header")
        /// The signature does not verify.
        public static let badSignature = Code("bad_signature")
        /// The header's `typ` is not the one the caller expects (e.g. `at+jwt`).
        public static let wrongTokenType = Code("wrong_token_type")
        /// `exp` is in the past (beyond the leeway).
        public static let tokenExpired = Code("token_expired")
        /// `nbf` or `iat` is in the future (beyond the leeway).
        public static let tokenNotYetValid = Code("token_not_yet_valid")
        /// A claim the validator requires (`exp`, and `iat`/`jti` when configured) is absent.
        public static let missingClaim = Code("missing_claim")
        /// `exp − iat` exceeds the validator's maximum lifetime.
        public static let lifetimeTooLong = Code("lifetime_too_long")
        /// `iss` is not the expected issuer.
        public static let wrongIssuer = Code("wrong_issuer")
        /// `aud` names none of the expected audiences.
        public static let wrongAudience = Code("wrong_audience")
        /// A key-encryption-key file is group/world accessible or not a regular file.
        public static let insecureKeyFile = Code("insecure_key_file")
        /// A key-encryption-key file cannot be read or does not hold a 32-byte key in an accepted form.
        public static let invalidKeyFile = Code("invalid_key_file")
        /// Sealed key material failed authentication (tampered, wrong key, wrong associated data) or has
        /// an unknown format version.
        public static let decryptionFailed = Code("decryption_failed")
    }

    public let code: Code
    public let message: String

    public init(code: Code, message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code.rawValue): \(message)" }

    /// Builds an error from the calling thread's OpenSSL error queue, then clears the queue.
    /// Call it immediately after the failing call, on the same thread, never across an `await`.
    static func openSSL(_ operation: String) -> CryptoError {
        let code = ERR_get_error()
        ERR_clear_error()
        var reason = "no OpenSSL error recorded"
        if code != 0 {
            var buffer = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(code, &buffer, buffer.count)
            reason = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
        return CryptoError(code: .openSSLFailure, message: "\(operation) failed: \(reason)")
    }
}
