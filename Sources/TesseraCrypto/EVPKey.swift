internal import COpenSSL
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Owns one `EVP_PKEY` and frees it in `deinit`.
///
/// `@unchecked Sendable`: OpenSSL 3 documents an `EVP_PKEY` as safe to use from several threads at
/// once for operations that do not modify it (signing, verifying, encoding). Nothing in TesseraCrypto
/// mutates a key after construction, and the pointer never leaves this module.
final class EVPKey: @unchecked Sendable {
    let pointer: OpaquePointer

    init(taking pointer: OpaquePointer) {
        self.pointer = pointer
    }

    deinit {
        EVP_PKEY_free(pointer)
    }

    /// An unencrypted PEM private key (PKCS#8 `PRIVATE KEY`, or a traditional `RSA`/`EC PRIVATE KEY`).
    /// - Throws: `.invalidKey`.
    static func fromPrivateKeyPEM(_ text: String) throws(CryptoError) -> EVPKey {
        var text = text
        guard text.utf8.count <= 64 * 1024 else {
            throw CryptoError(code: .invalidKey, message: "PEM private key longer than 64 KiB")
        }
        ERR_clear_error()
        let parsed: OpaquePointer? = text.withUTF8 { bytes in
            guard let bio = BIO_new_mem_buf(bytes.baseAddress, Int32(bytes.count)) else { return nil }
            defer { BIO_free(bio) }
            // No password callback: an encrypted key fails instead of prompting.
            return PEM_read_bio_PrivateKey(bio, nil, { _, _, _, _ in 0 }, nil)
        }
        guard let parsed else {
            ERR_clear_error()
            throw CryptoError(code: .invalidKey, message: "not an unencrypted PEM private key")
        }
        return EVPKey(taking: parsed)
    }

    func isA(_ name: String) -> Bool { EVP_PKEY_is_a(pointer, name) == 1 }

    var bits: Int { Int(EVP_PKEY_get_bits(pointer)) }

    /// The algorithm this key's type implies, or nil for key types and curves Tessera does not use.
    var impliedAlgorithm: SigningAlgorithm? {
        if isA("ED25519") { return .edDSA }
        if isA("RSA") { return .rs256 }
        if isA("EC") {
            var name = [CChar](repeating: 0, count: 64)
            var length = 0
            guard EVP_PKEY_get_group_name(pointer, &name, name.count, &length) == 1 else {
                ERR_clear_error()
                return nil
            }
            let group = String(decoding: name.prefix(length).map { UInt8(bitPattern: $0) }, as: UTF8.self)
            return group == "prime256v1" || group == "P-256" ? .es256 : nil
        }
        return nil
    }

    /// DER SubjectPublicKeyInfo of the public half.
    func subjectPublicKeyInfo() throws(CryptoError) -> [UInt8] {
        ERR_clear_error()
        guard let der = DER.encoded({ i2d_PUBKEY(pointer, $0) }) else { throw CryptoError.openSSL("i2d_PUBKEY") }
        return der
    }

    /// Parses a DER SubjectPublicKeyInfo (exactly: no trailing bytes).
    static func fromSubjectPublicKeyInfo(_ der: [UInt8]) throws(CryptoError) -> EVPKey {
        ERR_clear_error()
        let parsed: (OpaquePointer?, Int) = der.withUnsafeBufferPointer { buffer in
            var cursor = buffer.baseAddress
            let key = d2i_PUBKEY(nil, &cursor, buffer.count)
            return (key, cursor.map { $0 - buffer.baseAddress! } ?? 0)
        }
        guard let key = parsed.0 else {
            ERR_clear_error()
            throw CryptoError(code: .invalidKey, message: "not a DER SubjectPublicKeyInfo")
        }
        let wrapped = EVPKey(taking: key)
        guard parsed.1 == der.count else {
            throw CryptoError(code: .invalidKey, message: "trailing bytes after the SubjectPublicKeyInfo")
        }
        return wrapped
    }

    /// Runs OpenSSL's public-key check (for EC: the point is on the curve and not at infinity).
    func checkPublicKey() throws(CryptoError) {
        ERR_clear_error()
        guard let context = EVP_PKEY_CTX_new_from_pkey(nil, pointer, nil) else {
            throw CryptoError.openSSL("EVP_PKEY_CTX_new_from_pkey")
        }
        defer { EVP_PKEY_CTX_free(context) }
        guard EVP_PKEY_public_check(context) == 1 else {
            ERR_clear_error()
            throw CryptoError(code: .invalidKey, message: "the public key fails OpenSSL's validity check")
        }
    }

    /// One-shot `EVP_DigestSign`: SHA-256 for ES256/RS256, no digest (pure EdDSA) for Ed25519.
    /// ECDSA output is DER here; `SigningKey` converts it to the JOSE form.
    /// - Parameter template: an initialised signing context to copy, which skips OpenSSL 3's per-call
    ///   lookup of the digest and signature implementations (the bulk of a small signature's cost).
    func digestSign(_ message: [UInt8], algorithm: SigningAlgorithm, template: SignTemplate? = nil) throws(CryptoError)
        -> [UInt8]
    {
        ERR_clear_error()
        guard let context = EVP_MD_CTX_new() else { throw CryptoError.openSSL("EVP_MD_CTX_new") }
        defer { EVP_MD_CTX_free(context) }
        if let template {
            guard EVP_MD_CTX_copy_ex(context, template.context) == 1 else {
                throw CryptoError.openSSL("EVP_MD_CTX_copy_ex")
            }
        } else {
            let digest = algorithm == .edDSA ? nil : EVP_sha256()
            guard EVP_DigestSignInit(context, nil, digest, nil, pointer) == 1 else {
                throw CryptoError.openSSL("EVP_DigestSignInit")
            }
        }
        return try message.withUnsafeBufferPointer { input throws(CryptoError) -> [UInt8] in
            var length = 0
            guard EVP_DigestSign(context, nil, &length, input.baseAddress, input.count) == 1 else {
                throw CryptoError.openSSL("EVP_DigestSign")
            }
            var signature = [UInt8](repeating: 0, count: length)
            let status = signature.withUnsafeMutableBufferPointer { output in
                EVP_DigestSign(context, output.baseAddress, &length, input.baseAddress, input.count)
            }
            guard status == 1 else { throw CryptoError.openSSL("EVP_DigestSign") }
            return Array(signature.prefix(length))
        }
    }

    /// One-shot `EVP_DigestVerify`; false for any failure, with the error queue cleared.
    func digestVerify(signature: [UInt8], message: [UInt8], algorithm: SigningAlgorithm) -> Bool {
        ERR_clear_error()
        defer { ERR_clear_error() }
        guard let context = EVP_MD_CTX_new() else { return false }
        defer { EVP_MD_CTX_free(context) }
        let digest = algorithm == .edDSA ? nil : EVP_sha256()
        guard EVP_DigestVerifyInit(context, nil, digest, nil, pointer) == 1 else { return false }
        let status = signature.withUnsafeBufferPointer { sig in
            message.withUnsafeBufferPointer { input in
                EVP_DigestVerify(context, sig.baseAddress, sig.count, input.baseAddress, input.count)
            }
        }
        return status == 1
    }
}

/// A signing context initialised once for a key, copied for each signature (Ed25519, which has no
/// pre-hashed form).
///
/// `@unchecked Sendable`: after `init` the context is only read (`EVP_MD_CTX_copy_ex` takes it as
/// `const`), never used to sign directly.
final class SignTemplate: @unchecked Sendable {
    let context: OpaquePointer
    /// Keeps the key alive while the context refers to it.
    let key: EVPKey

    init?(key: EVPKey, algorithm: SigningAlgorithm) {
        ERR_clear_error()
        guard let context = EVP_MD_CTX_new() else { return nil }
        let digest = algorithm == .edDSA ? nil : EVP_sha256()
        guard EVP_DigestSignInit(context, nil, digest, nil, key.pointer) == 1 else {
            EVP_MD_CTX_free(context)
            ERR_clear_error()
            return nil
        }
        self.context = context
        self.key = key
    }

    deinit {
        EVP_MD_CTX_free(context)
    }
}

/// ES256 and RS256 signing the way `openssl speed` measures it: the SHA-256 digest of the message is
/// signed with `EVP_PKEY_sign` on a context initialised once, so a signature costs neither a context
/// copy nor OpenSSL 3's per-call lookups.
///
/// A context serves one thread at a time. Each thread tries the slot its thread id hashes to, then the
/// others, claiming one with a compare-and-swap: nobody ever waits on a lock, and when every slot is
/// busy a temporary context is made for that one signature. `@unchecked Sendable`: a slot's context is
/// touched only by the thread that holds its claim.
final class PrehashSigner: @unchecked Sendable {
    static let slotCount = 16

    private final class Slot: @unchecked Sendable {
        let claimed = Atomic<Bool>(false)
        var context: OpaquePointer?
    }

    let key: EVPKey
    let algorithm: SigningAlgorithm
    /// The largest signature the key makes (DER ECDSA up to 72 bytes, the RSA modulus size).
    let maximumLength: Int
    private let slots: [Slot]

    /// Nil for EdDSA, or when OpenSSL cannot make a signing context for the key.
    init?(key: EVPKey, algorithm: SigningAlgorithm) {
        guard algorithm != .edDSA else { return nil }
        self.key = key
        self.algorithm = algorithm
        self.maximumLength = Int(EVP_PKEY_get_size(key.pointer))
        self.slots = (0..<Self.slotCount).map { _ in Slot() }
        guard maximumLength > 0, let first = makeContext() else { return nil }
        slots[0].context = first
    }

    deinit {
        for slot in slots { EVP_PKEY_CTX_free(slot.context) }
    }

    private func makeContext() -> OpaquePointer? {
        ERR_clear_error()
        guard let context = EVP_PKEY_CTX_new_from_pkey(nil, key.pointer, nil) else { return nil }
        var ready = EVP_PKEY_sign_init(context) == 1
        if ready && algorithm == .rs256 {
            // PKCS#1 v1.5 over a SHA-256 DigestInfo: what RS256 means.
            ready =
                EVP_PKEY_CTX_set_rsa_padding(context, RSA_PKCS1_PADDING) == 1
                && EVP_PKEY_CTX_set_signature_md(context, SHA256.implementation.pointer ?? EVP_sha256()) == 1
        }
        guard ready else {
            EVP_PKEY_CTX_free(context)
            ERR_clear_error()
            return nil
        }
        return context
    }

    /// Signs SHA-256(`message`): DER `ECDSA-Sig-Value` for ES256, the PKCS#1 v1.5 signature for RS256.
    func sign(_ message: UnsafeBufferPointer<UInt8>) throws(CryptoError) -> [UInt8] {
        try withUnsafeTemporaryAllocation(of: UInt8.self, capacity: SHA256.digestLength) { digest in
            SHA256.hash(UnsafeRawBufferPointer(message), into: digest)
            return Result { () throws(CryptoError) in try sign(digest: UnsafeBufferPointer(digest)) }
        }.get()
    }

    private func sign(digest: UnsafeBufferPointer<UInt8>) throws(CryptoError) -> [UInt8] {
        let start = Int(truncatingIfNeeded: (UInt64(pthread_self()) &* 0x9E37_79B9_7F4A_7C15) >> 60) % slots.count
        for offset in 0..<slots.count {
            let slot = slots[(start + offset) % slots.count]
            guard slot.claimed.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged else {
                continue
            }
            defer { slot.claimed.store(false, ordering: .releasing) }
            if slot.context == nil { slot.context = makeContext() }
            guard let context = slot.context else { throw CryptoError.openSSL("EVP_PKEY_sign_init") }
            return try sign(digest: digest, with: context)
        }
        guard let context = makeContext() else { throw CryptoError.openSSL("EVP_PKEY_sign_init") }
        defer { EVP_PKEY_CTX_free(context) }
        return try sign(digest: digest, with: context)
    }

    private func sign(digest input: UnsafeBufferPointer<UInt8>, with context: OpaquePointer) throws(CryptoError)
        -> [UInt8]
    {
        ERR_clear_error()
        let signature = [UInt8](unsafeUninitializedCapacity: maximumLength) { output, count in
            var length = output.count
            let status = EVP_PKEY_sign(context, output.baseAddress, &length, input.baseAddress, input.count)
            count = status == 1 && length <= output.count ? length : 0
        }
        guard !signature.isEmpty else { throw CryptoError.openSSL("EVP_PKEY_sign") }
        return signature
    }
}

/// Conversions between the DER `ECDSA-Sig-Value` OpenSSL speaks and JOSE's fixed-width R‖S.
enum ECDSASignature {
    static let componentLength = 32

    /// DER → 64-byte R‖S. Throws if the input is not one `SEQUENCE` of two non-negative `INTEGER`s
    /// that each fit in 32 bytes.
    static func raw(fromDER der: [UInt8]) throws(CryptoError) -> [UInt8] {
        let malformed = CryptoError(code: .openSSLFailure, message: "malformed or oversized ECDSA signature")
        var out = [UInt8](repeating: 0, count: 2 * componentLength)
        var index = 0
        // Short-form lengths only: a P-256 signature is at most 72 bytes.
        func element(tag: UInt8) throws(CryptoError) -> Range<Int> {
            guard index + 2 <= der.count, der[index] == tag, der[index + 1] < 0x80 else { throw malformed }
            let range = (index + 2)..<(index + 2 + Int(der[index + 1]))
            guard range.upperBound <= der.count else { throw malformed }
            index = range.upperBound
            return range
        }
        let sequence = try element(tag: 0x30)
        guard sequence.upperBound == der.count else { throw malformed }
        index = sequence.lowerBound
        for part in 0..<2 {
            var integer = try element(tag: 0x02)
            guard !integer.isEmpty, der[integer.lowerBound] < 0x80 else { throw malformed }
            while integer.count > 1, der[integer.lowerBound] == 0 {
                integer = (integer.lowerBound + 1)..<integer.upperBound
            }
            guard integer.count <= componentLength else { throw malformed }
            let end = (part + 1) * componentLength
            for (offset, position) in integer.enumerated() { out[end - integer.count + offset] = der[position] }
        }
        guard index == der.count else { throw malformed }
        return out
    }

    /// 64-byte R‖S → DER, or nil when the input is not exactly 64 bytes.
    static func der(fromRaw raw: [UInt8]) -> [UInt8]? {
        guard raw.count == 2 * componentLength else { return nil }
        ERR_clear_error()
        defer { ERR_clear_error() }
        let (r, s) = raw.withUnsafeBufferPointer { buffer in
            (
                BN_bin2bn(buffer.baseAddress, Int32(componentLength), nil),
                BN_bin2bn(buffer.baseAddress! + componentLength, Int32(componentLength), nil)
            )
        }
        guard let r, let s, let signature = ECDSA_SIG_new() else {
            BN_free(r)
            BN_free(s)
            return nil
        }
        defer { ECDSA_SIG_free(signature) }
        guard ECDSA_SIG_set0(signature, r, s) == 1 else {
            BN_free(r)
            BN_free(s)
            return nil
        }
        return DER.encoded { i2d_ECDSA_SIG(signature, $0) }
    }
}

/// The few DER shapes JWK import needs, so public keys are built with `d2i_*` instead of hand-filled
/// `OSSL_PARAM` arrays.
enum DER {
    /// Runs an OpenSSL `i2d_*` encoder the usual two times (length, then bytes); nil when it fails.
    static func encoded(_ encode: (UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>?) -> Int32) -> [UInt8]? {
        let length = encode(nil)
        guard length > 0 else { return nil }
        var der = [UInt8](repeating: 0, count: Int(length))
        let written = der.withUnsafeMutableBufferPointer { buffer -> Int32 in
            var cursor = buffer.baseAddress
            return encode(&cursor)
        }
        return written == length ? der : nil
    }

    /// SubjectPublicKeyInfo prefix for an uncompressed P-256 point (id-ecPublicKey, prime256v1,
    /// BIT STRING of 66 bytes); the 65-byte point `04‖X‖Y` follows.
    static let p256PublicKeyPrefix: [UInt8] = [
        0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x02, 0x01, 0x06, 0x08, 0x2A, 0x86,
        0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
    ]

    static func length(_ count: Int) -> [UInt8] {
        if count < 0x80 { return [UInt8(count)] }
        var bytes: [UInt8] = []
        var remaining = count
        while remaining > 0 {
            bytes.insert(UInt8(remaining & 0xFF), at: 0)
            remaining >>= 8
        }
        return [0x80 | UInt8(bytes.count)] + bytes
    }

    /// A non-negative INTEGER from big-endian magnitude bytes (leading zeros stripped, one added back
    /// when the high bit is set).
    static func unsignedInteger(_ magnitude: [UInt8]) -> [UInt8] {
        var content = Array(magnitude.drop { $0 == 0 })
        if content.isEmpty || content[0] & 0x80 != 0 { content.insert(0, at: 0) }
        return [0x02] + length(content.count) + content
    }

    static func sequence(_ elements: [UInt8]) -> [UInt8] {
        [0x30] + length(elements.count) + elements
    }
}
