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
    }

    public let code: Code
    public let message: String

    init(code: Code, message: String) {
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
