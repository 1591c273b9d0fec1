internal import COpenSSL

#if canImport(Glibc)
    import Glibc
#endif

/// AES-256-GCM sealing of private key material at rest under a 32-byte key-encryption key (KEK).
///
/// Sealed format (version 1): `0x01 ‖ nonce (12 random bytes) ‖ ciphertext ‖ tag (16 bytes)`. The
/// version byte is authenticated along with the caller's associated data.
///
/// Callers pass the key's `kid` as `associatedData`, so a sealed key cannot be swapped under another
/// kid in the store without `open` failing.
///
/// Random 96-bit nonces keep the collision risk negligible for the few thousand seals a KEK will ever
/// see (signing keys rotate in days, not microseconds); rotate the KEK long before 2^32 seals.
public struct KeyEncryption: Sendable {
    public static let keyLength = 32
    static let version: UInt8 = 1
    static let nonceLength = 12
    static let tagLength = 16
    /// Plaintexts above this are refused (a PKCS#8 RSA 8192 key is about 4.8 KiB).
    public static let maximumPlaintextLength = 64 * 1024

    private let key: [UInt8]

    /// - Throws: `.invalidParameters` unless `key` is exactly 32 bytes.
    public init(key: [UInt8]) throws(CryptoError) {
        guard key.count == Self.keyLength else {
            throw CryptoError(code: .invalidParameters, message: "the key-encryption key must be 32 bytes")
        }
        self.key = key
    }

    /// Reads the KEK from a file, which must be a regular file with no group or other permission bits
    /// (mode 0600 or 0400) and hold the 32-byte key in one of three forms, told apart by length:
    /// - exactly 32 raw bytes;
    /// - 64 hexadecimal characters (either case);
    /// - 44 characters of standard padded base64 (`openssl rand -base64 32`).
    /// The text forms may end with one `\n`.
    /// - Throws: `.insecureKeyFile` for permissions or file type; `.invalidKeyFile` otherwise.
    public init(kekFile path: String) throws(CryptoError) {
        func unreadable(_ reason: String) -> CryptoError {
            CryptoError(code: .invalidKeyFile, message: "key-encryption key file \(path): \(reason)")
        }
        let descriptor = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw unreadable(String(cString: strerror(errno))) }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else { throw unreadable(String(cString: strerror(errno))) }
        guard status.st_mode & S_IFMT == S_IFREG else {
            throw CryptoError(code: .insecureKeyFile, message: "key-encryption key file \(path) is not a regular file")
        }
        guard status.st_mode & 0o077 == 0 else {
            throw CryptoError(
                code: .insecureKeyFile,
                message: "key-encryption key file \(path) is accessible to group or others "
                    + "(mode \(String(status.st_mode & 0o777, radix: 8))); chmod 600 it")
        }
        // Read at most one byte past the longest accepted form, so an oversized file is spotted.
        var contents = [UInt8](repeating: 0, count: 66)
        var total = 0
        while total < contents.count {
            let count = contents.withUnsafeMutableBytes { read(descriptor, $0.baseAddress! + total, $0.count - total) }
            if count < 0, errno == EINTR { continue }
            guard count >= 0 else { throw unreadable(String(cString: strerror(errno))) }
            if count == 0 { break }
            total += count
        }
        var bytes = Array(contents.prefix(total))
        defer {
            contents.withUnsafeMutableBytes { Scrypt.zeroize($0) }
            bytes.withUnsafeMutableBytes { Scrypt.zeroize($0) }
        }
        if bytes.count != Self.keyLength, bytes.last == UInt8(ascii: "\n") { bytes.removeLast() }
        let key: [UInt8]
        switch bytes.count {
        case Self.keyLength:
            key = bytes
        case 64:
            guard let decoded = try? Hex.decode(String(decoding: bytes, as: UTF8.self)) else {
                throw unreadable("64 characters but not hexadecimal")
            }
            key = decoded
        case 44:
            guard bytes[43] == UInt8(ascii: "="), bytes[42] != UInt8(ascii: "="),
                let decoded = try? Base64Alphabet.standard.decode(String(decoding: bytes.prefix(43), as: UTF8.self))
            else { throw unreadable("44 characters but not padded base64 of 32 bytes") }
            key = decoded
        default:
            throw unreadable("expected 32 raw bytes, 64 hex characters or 44 base64 characters")
        }
        try self.init(key: key)
    }

    /// Seals `plaintext`, authenticating `associatedData` (use the key's `kid`).
    public func seal(_ plaintext: [UInt8], associatedData: [UInt8]) throws(CryptoError) -> [UInt8] {
        guard plaintext.count <= Self.maximumPlaintextLength else {
            throw CryptoError(code: .invalidParameters, message: "plaintext longer than 64 KiB")
        }
        let nonce = SecureRandom.bytes(Self.nonceLength)
        let (ciphertext, tag) = try crypt(
            encrypt: true, input: plaintext, nonce: nonce, associatedData: associatedData, tag: nil)
        return [Self.version] + nonce + ciphertext + tag
    }

    /// Opens what `seal` produced with the same key and associated data.
    /// - Throws: `.decryptionFailed` when the version is unknown, the input is truncated, or
    ///   authentication fails (tampering, wrong key, wrong associated data).
    public func open(_ sealed: [UInt8], associatedData: [UInt8]) throws(CryptoError) -> [UInt8] {
        guard sealed.count >= 1 + Self.nonceLength + Self.tagLength,
            sealed.count <= 1 + Self.nonceLength + Self.maximumPlaintextLength + Self.tagLength
        else {
            throw CryptoError(code: .decryptionFailed, message: "sealed key material has an impossible length")
        }
        guard sealed[0] == Self.version else {
            throw CryptoError(code: .decryptionFailed, message: "unknown sealed key format version \(sealed[0])")
        }
        let nonce = Array(sealed[1...Self.nonceLength])
        let ciphertext = Array(sealed[(1 + Self.nonceLength)..<(sealed.count - Self.tagLength)])
        let tag = Array(sealed.suffix(Self.tagLength))
        return try crypt(encrypt: false, input: ciphertext, nonce: nonce, associatedData: associatedData, tag: tag).0
    }

    private func crypt(
        encrypt: Bool, input: [UInt8], nonce: [UInt8], associatedData: [UInt8], tag expectedTag: [UInt8]?
    ) throws(CryptoError) -> ([UInt8], [UInt8]) {
        ERR_clear_error()
        guard let context = EVP_CIPHER_CTX_new() else { throw CryptoError.openSSL("EVP_CIPHER_CTX_new") }
        defer { EVP_CIPHER_CTX_free(context) }
        let aad = [Self.version] + associatedData
        var output = [UInt8](repeating: 0, count: input.count + 16)
        var tag = expectedTag ?? [UInt8](repeating: 0, count: Self.tagLength)
        let ok: Bool = key.withUnsafeBufferPointer { keyBuffer in
            nonce.withUnsafeBufferPointer { nonceBuffer in
                let initialised =
                    encrypt
                    ? EVP_EncryptInit_ex(
                        context, EVP_aes_256_gcm(), nil, keyBuffer.baseAddress, nonceBuffer.baseAddress)
                    : EVP_DecryptInit_ex(
                        context, EVP_aes_256_gcm(), nil, keyBuffer.baseAddress, nonceBuffer.baseAddress)
                guard initialised == 1 else { return false }
                var length: Int32 = 0
                let update = encrypt ? EVP_EncryptUpdate : EVP_DecryptUpdate
                guard
                    aad.withUnsafeBufferPointer({ update(context, nil, &length, $0.baseAddress, Int32($0.count)) }) == 1
                else { return false }
                var written = 0
                if !input.isEmpty {
                    let status = input.withUnsafeBufferPointer { inputBuffer in
                        output.withUnsafeMutableBufferPointer {
                            update(context, $0.baseAddress, &length, inputBuffer.baseAddress, Int32(inputBuffer.count))
                        }
                    }
                    guard status == 1 else { return false }
                    written = Int(length)
                }
                if !encrypt {
                    let set = tag.withUnsafeMutableBytes {
                        EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_GCM_SET_TAG, Int32(Self.tagLength), $0.baseAddress)
                    }
                    guard set == 1 else { return false }
                }
                let final = output.withUnsafeMutableBufferPointer {
                    encrypt
                        ? EVP_EncryptFinal_ex(context, $0.baseAddress! + written, &length)
                        : EVP_DecryptFinal_ex(context, $0.baseAddress! + written, &length)
                }
                guard final == 1 else { return false }
                written += Int(length)
                output.removeSubrange(written...)
                if encrypt {
                    let got = tag.withUnsafeMutableBytes {
                        EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_GCM_GET_TAG, Int32(Self.tagLength), $0.baseAddress)
                    }
                    guard got == 1 else { return false }
                }
                return true
            }
        }
        guard ok else {
            if encrypt { throw CryptoError.openSSL("AES-256-GCM seal") }
            ERR_clear_error()
            output.withUnsafeMutableBytes { Scrypt.zeroize($0) }
            throw CryptoError(code: .decryptionFailed, message: "sealed key material failed authentication")
        }
        return (output, tag)
    }
}
