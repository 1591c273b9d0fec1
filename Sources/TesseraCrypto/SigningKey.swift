internal import COpenSSL

/// A private signing key bound to one `SigningAlgorithm`.
///
/// Store keys as `pkcs8DER`, sealed with `KeyEncryption` (the `kid` as associated data); never log them.
public struct SigningKey: Sendable {
    public let algorithm: SigningAlgorithm
    let key: EVPKey
    let template: SignTemplate?
    let prehashSigner: PrehashSigner?

    /// RSA moduli generated for RS256.
    public static let rsaGeneratedBits = 3072

    init(key: EVPKey, algorithm: SigningAlgorithm) {
        self.key = key
        self.algorithm = algorithm
        self.prehashSigner = PrehashSigner(key: key, algorithm: algorithm)
        self.template = prehashSigner == nil ? SignTemplate(key: key, algorithm: algorithm) : nil
    }

    /// A fresh key: P-256 for ES256, Ed25519 for EdDSA, RSA 3072 (e = 65537) for RS256.
    public static func generate(_ algorithm: SigningAlgorithm) throws(CryptoError) -> SigningKey {
        ERR_clear_error()
        let typeName: String
        switch algorithm {
        case .es256: typeName = "EC"
        case .edDSA: typeName = "ED25519"
        case .rs256: typeName = "RSA"
        }
        guard let context = EVP_PKEY_CTX_new_from_name(nil, typeName, nil) else {
            throw CryptoError.openSSL("EVP_PKEY_CTX_new_from_name(\(typeName))")
        }
        defer { EVP_PKEY_CTX_free(context) }
        guard EVP_PKEY_keygen_init(context) == 1 else { throw CryptoError.openSSL("EVP_PKEY_keygen_init") }
        switch algorithm {
        case .es256:
            guard EVP_PKEY_CTX_set_group_name(context, "P-256") == 1 else {
                throw CryptoError.openSSL("EVP_PKEY_CTX_set_group_name")
            }
        case .rs256:
            guard EVP_PKEY_CTX_set_rsa_keygen_bits(context, Int32(rsaGeneratedBits)) == 1 else {
                throw CryptoError.openSSL("EVP_PKEY_CTX_set_rsa_keygen_bits")
            }
        case .edDSA:
            break
        }
        var generated: OpaquePointer?
        guard EVP_PKEY_generate(context, &generated) == 1, let generated else {
            throw CryptoError.openSSL("EVP_PKEY_generate")
        }
        return SigningKey(key: EVPKey(taking: generated), algorithm: algorithm)
    }

    /// Imports an unencrypted PKCS#8 `PrivateKeyInfo` and checks its type matches `algorithm`
    /// (P-256 for ES256, Ed25519 for EdDSA, RSA of at least 2048 bits for RS256).
    /// - Throws: `.invalidKey`.
    public init(pkcs8DER der: [UInt8], algorithm: SigningAlgorithm) throws(CryptoError) {
        ERR_clear_error()
        let parsed: (OpaquePointer?, Int) = der.withUnsafeBufferPointer { buffer in
            var cursor = buffer.baseAddress
            let info = d2i_PKCS8_PRIV_KEY_INFO(nil, &cursor, buffer.count)
            return (info, cursor.map { $0 - buffer.baseAddress! } ?? 0)
        }
        guard let info = parsed.0 else {
            ERR_clear_error()
            throw CryptoError(code: .invalidKey, message: "not a DER PKCS#8 PrivateKeyInfo")
        }
        defer { PKCS8_PRIV_KEY_INFO_free(info) }
        guard parsed.1 == der.count else {
            throw CryptoError(code: .invalidKey, message: "trailing bytes after the PKCS#8 PrivateKeyInfo")
        }
        guard let pointer = EVP_PKCS82PKEY(info) else {
            ERR_clear_error()
            throw CryptoError(code: .invalidKey, message: "PKCS#8 holds no usable private key")
        }
        let key = EVPKey(taking: pointer)
        try Self.check(key, matches: algorithm)
        self.init(key: key, algorithm: algorithm)
    }

    /// Imports an unencrypted PEM private key and checks its type matches `algorithm`, as
    /// `init(pkcs8DER:algorithm:)` does.
    /// - Throws: `.invalidKey`.
    public init(pem: String, algorithm: SigningAlgorithm) throws(CryptoError) {
        let key = try EVPKey.fromPrivateKeyPEM(pem)
        try Self.check(key, matches: algorithm)
        self.init(key: key, algorithm: algorithm)
    }

    /// Ed25519 from its 32-byte seed (RFC 8032 private key), as RFC 8037's test vectors give it.
    init(ed25519Seed seed: [UInt8]) throws(CryptoError) {
        guard seed.count == 32 else { throw CryptoError(code: .invalidKey, message: "Ed25519 seed must be 32 bytes") }
        ERR_clear_error()
        let pointer = seed.withUnsafeBufferPointer {
            EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nil, $0.baseAddress, 32)
        }
        guard let pointer else { throw CryptoError.openSSL("EVP_PKEY_new_raw_private_key") }
        self.init(key: EVPKey(taking: pointer), algorithm: .edDSA)
    }

    static func check(_ key: EVPKey, matches algorithm: SigningAlgorithm) throws(CryptoError) {
        guard let implied = key.impliedAlgorithm, implied == algorithm else {
            throw CryptoError(
                code: .invalidKey,
                message:
                    "the key's type (\(key.impliedAlgorithm?.rawValue ?? "unsupported")) does not match \(algorithm)")
        }
        if algorithm == .rs256 {
            guard key.bits >= VerificationKey.minimumRSABits else {
                throw CryptoError(
                    code: .invalidKey,
                    message: "RSA key of \(key.bits) bits; at least \(VerificationKey.minimumRSABits) required")
            }
            guard key.bits <= VerificationKey.maximumRSABits else {
                throw CryptoError(code: .invalidKey, message: "RSA key above \(VerificationKey.maximumRSABits) bits")
            }
        }
    }

    /// The key as unencrypted DER PKCS#8 `PrivateKeyInfo`. Secret: seal it before it touches disk.
    public func pkcs8DER() throws(CryptoError) -> [UInt8] {
        ERR_clear_error()
        guard let info = EVP_PKEY2PKCS8(key.pointer) else { throw CryptoError.openSSL("EVP_PKEY2PKCS8") }
        defer { PKCS8_PRIV_KEY_INFO_free(info) }
        guard let der = DER.encoded({ i2d_PKCS8_PRIV_KEY_INFO(info, $0) }) else {
            throw CryptoError.openSSL("i2d_PKCS8_PRIV_KEY_INFO")
        }
        return der
    }

    /// The public half, for publishing in the JWKS and verifying locally.
    public func publicKey() throws(CryptoError) -> VerificationKey {
        let spki = try key.subjectPublicKeyInfo()
        return VerificationKey(key: try EVPKey.fromSubjectPublicKeyInfo(spki), algorithm: algorithm)
    }

    /// Signs `message` and returns the signature in its JWS form: raw R‖S (64 bytes) for ES256, 64 bytes
    /// for EdDSA, modulus-sized PKCS#1 v1.5 for RS256.
    public func sign(_ message: [UInt8]) throws(CryptoError) -> [UInt8] {
        try message.withUnsafeBufferPointer { message throws(CryptoError) in try sign(message) }
    }

    /// The length of `sign`'s output: 64 bytes for ES256 and EdDSA, the modulus size for RS256.
    var maximumSignatureLength: Int { algorithm == .rs256 ? Int(EVP_PKEY_get_size(key.pointer)) : 64 }

    /// `sign` on bytes in place.
    public func sign(_ message: UnsafeBufferPointer<UInt8>) throws(CryptoError) -> [UInt8] {
        let signature: [UInt8]
        if let prehashSigner {
            signature = try prehashSigner.sign(message)
        } else {
            signature = try key.digestSign(Array(message), algorithm: algorithm, template: template)
        }
        return algorithm == .es256 ? try ECDSASignature.raw(fromDER: signature) : signature
    }
}
