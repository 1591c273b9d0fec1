internal import COpenSSL
import TesseraPlatform

/// A public key bound to one `SigningAlgorithm`: from a JWK, a PEM SubjectPublicKeyInfo (as OAuth
/// clients register keys for `private_key_jwt`), or a `SigningKey`.
///
/// Import rejects what a verifier must never trust: EC points not on P-256, RSA moduli below
/// `minimumRSABits` (or above `maximumRSABits`, which only cost CPU), JWKs carrying private members,
/// and JWKs whose `alg`/`use` contradict the key.
public struct VerificationKey: Sendable {
    public let algorithm: SigningAlgorithm
    let key: EVPKey

    public static let minimumRSABits = 2048
    public static let maximumRSABits = 8192
    /// PEM input longer than this is refused before parsing.
    static let maximumPEMLength = 16 * 1024

    init(key: EVPKey, algorithm: SigningAlgorithm) {
        self.key = key
        self.algorithm = algorithm
    }

    /// A public JWK: `EC`/`P-256` (`x`, `y`), `OKP`/`Ed25519` (`x`), or `RSA` (`n`, `e`).
    /// `alg`, when present, must be the algorithm the key type implies; `use`, when present, must be `sig`.
    /// - Throws: `.invalidKey`.
    public init(jwk: JWK) throws(CryptoError) {
        func invalid(_ reason: String) -> CryptoError { CryptoError(code: .invalidKey, message: "JWK: \(reason)") }
        func member(_ name: String) throws(CryptoError) -> [UInt8] {
            guard let value = jwk[name] else { throw invalid("missing \"\(name)\"") }
            do {
                return try Base64URL.decode(value)
            } catch {
                throw invalid("\"\(name)\" is not base64url")
            }
        }
        for secret in ["d", "p", "q", "dp", "dq", "qi", "oth", "k"] where jwk[secret] != nil {
            throw invalid("carries private member \"\(secret)\"; publish only public keys")
        }
        if let use = jwk["use"], use != "sig" { throw invalid("\"use\" is \"\(use)\", not \"sig\"") }

        let algorithm: SigningAlgorithm
        let key: EVPKey
        switch jwk["kty"] {
        case "EC":
            guard jwk["crv"] == "P-256" else { throw invalid("only the P-256 curve is supported") }
            let x = try member("x")
            let y = try member("y")
            guard x.count == 32, y.count == 32 else { throw invalid("P-256 coordinates must be 32 bytes each") }
            do {
                key = try EVPKey.fromSubjectPublicKeyInfo(DER.p256PublicKeyPrefix + [0x04] + x + y)
            } catch {
                throw invalid("the point is not on P-256")
            }
            algorithm = .es256
        case "OKP":
            guard jwk["crv"] == "Ed25519" else { throw invalid("only the Ed25519 curve is supported") }
            let x = try member("x")
            guard x.count == 32 else { throw invalid("Ed25519 public keys are 32 bytes") }
            ERR_clear_error()
            let pointer = x.withUnsafeBufferPointer {
                EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nil, $0.baseAddress, 32)
            }
            guard let pointer else {
                ERR_clear_error()
                throw invalid("not an Ed25519 public key")
            }
            key = EVPKey(taking: pointer)
            algorithm = .edDSA
        case "RSA":
            let n = try member("n")
            let e = try member("e")
            guard !n.isEmpty, !e.isEmpty, e.count <= 8 else { throw invalid("bad RSA modulus or exponent length") }
            let rsaPublicKey = DER.sequence(DER.unsignedInteger(n) + DER.unsignedInteger(e))
            let rsaEncryption: [UInt8] = [
                0x30, 0x0D, 0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x01, 0x05, 0x00,
            ]
            let bitString = [0x03] + DER.length(rsaPublicKey.count + 1) + [0x00] + rsaPublicKey
            do {
                key = try EVPKey.fromSubjectPublicKeyInfo(DER.sequence(rsaEncryption + bitString))
            } catch {
                throw invalid("not an RSA public key")
            }
            algorithm = .rs256
        case let other:
            throw invalid("unsupported kty \(other.map { "\"\($0)\"" } ?? "(missing)")")
        }
        if let alg = jwk["alg"], alg != algorithm.rawValue {
            throw invalid("\"alg\" is \"\(alg)\" but the key is for \(algorithm)")
        }
        try self.init(validating: key, algorithm: algorithm)
    }

    /// A public JWK given as its string members (non-string members such as `key_ops` are not needed).
    public init(jwk members: [String: String]) throws(CryptoError) {
        try self.init(jwk: JWK(members: members))
    }

    /// A PEM `-----BEGIN PUBLIC KEY-----` (SubjectPublicKeyInfo) block. The algorithm follows from the
    /// key type (P-256 → ES256, Ed25519 → EdDSA, RSA → RS256); pass `algorithm` to insist on one.
    /// - Throws: `.invalidKey`.
    public init(pem: String, algorithm: SigningAlgorithm? = nil) throws(CryptoError) {
        let bytes = Array(pem.utf8)
        guard !bytes.isEmpty, bytes.count <= Self.maximumPEMLength else {
            throw CryptoError(code: .invalidKey, message: "PEM public key is empty or longer than 16 KiB")
        }
        ERR_clear_error()
        let parsed: OpaquePointer? = bytes.withUnsafeBufferPointer { buffer in
            guard let bio = BIO_new_mem_buf(buffer.baseAddress, Int32(buffer.count)) else { return nil }
            defer { BIO_free(bio) }
            return PEM_read_bio_PUBKEY(bio, nil, nil, nil)
        }
        guard let parsed else {
            ERR_clear_error()
            throw CryptoError(code: .invalidKey, message: "not a PEM SubjectPublicKeyInfo (BEGIN PUBLIC KEY)")
        }
        try self.init(inferring: EVPKey(taking: parsed), expected: algorithm)
    }

    /// A DER SubjectPublicKeyInfo; the algorithm is inferred as for `init(pem:algorithm:)`.
    public init(subjectPublicKeyInfo der: [UInt8], algorithm: SigningAlgorithm? = nil) throws(CryptoError) {
        try self.init(inferring: EVPKey.fromSubjectPublicKeyInfo(der), expected: algorithm)
    }

    private init(inferring key: EVPKey, expected: SigningAlgorithm?) throws(CryptoError) {
        guard let implied = key.impliedAlgorithm else {
            throw CryptoError(code: .invalidKey, message: "unsupported key type (need P-256, Ed25519 or RSA)")
        }
        if let expected, expected != implied {
            throw CryptoError(code: .invalidKey, message: "the key is for \(implied), not \(expected)")
        }
        try self.init(validating: key, algorithm: implied)
    }

    private init(validating key: EVPKey, algorithm: SigningAlgorithm) throws(CryptoError) {
        try SigningKey.check(key, matches: algorithm)
        if algorithm != .edDSA { try key.checkPublicKey() }
        self.init(key: key, algorithm: algorithm)
    }

    /// DER SubjectPublicKeyInfo.
    public func subjectPublicKeyInfo() throws(CryptoError) -> [UInt8] {
        try key.subjectPublicKeyInfo()
    }

    /// The public JWK with `kid`, `alg` and `use: "sig"`, as published in the JWKS.
    public func jwk(kid: String) throws(CryptoError) -> JWK {
        var members = ["kid": kid, "alg": algorithm.rawValue, "use": "sig"]
        switch algorithm {
        case .es256:
            members["kty"] = "EC"
            members["crv"] = "P-256"
            // Coordinates are fixed-width (RFC 7518 §6.2.1.2), whatever point form the key was read in.
            members["x"] = Base64URL.encode(try bigNumberParameter(OSSL_PKEY_PARAM_EC_PUB_X, width: 32))
            members["y"] = Base64URL.encode(try bigNumberParameter(OSSL_PKEY_PARAM_EC_PUB_Y, width: 32))
        case .edDSA:
            var raw = [UInt8](repeating: 0, count: 32)
            var length = raw.count
            ERR_clear_error()
            guard EVP_PKEY_get_raw_public_key(key.pointer, &raw, &length) == 1, length == 32 else {
                throw CryptoError.openSSL("EVP_PKEY_get_raw_public_key")
            }
            members["kty"] = "OKP"
            members["crv"] = "Ed25519"
            members["x"] = Base64URL.encode(raw)
        case .rs256:
            members["kty"] = "RSA"
            members["n"] = Base64URL.encode(try bigNumberParameter(OSSL_PKEY_PARAM_RSA_N))
            members["e"] = Base64URL.encode(try bigNumberParameter(OSSL_PKEY_PARAM_RSA_E))
        }
        return JWK(members: members)
    }

    /// A big-number key parameter as big-endian bytes: minimal, or left-padded to `width`.
    private func bigNumberParameter(_ name: String, width: Int? = nil) throws(CryptoError) -> [UInt8] {
        ERR_clear_error()
        var number: OpaquePointer?
        guard EVP_PKEY_get_bn_param(key.pointer, name, &number) == 1, let number else {
            throw CryptoError.openSSL("EVP_PKEY_get_bn_param(\(name))")
        }
        defer { BN_free(number) }
        let length = width ?? (Int(BN_num_bits(number)) + 7) / 8
        var bytes = [UInt8](repeating: 0, count: length)
        let written = bytes.withUnsafeMutableBufferPointer { BN_bn2binpad(number, $0.baseAddress, Int32(length)) }
        guard written == length else {
            throw CryptoError(code: .invalidKey, message: "key parameter \(name) does not fit in \(length) bytes")
        }
        return bytes
    }

    /// True when `signature` (in its JWS form) is valid for `message` under this key's algorithm.
    public func verify(signature: [UInt8], message: [UInt8]) -> Bool {
        switch algorithm {
        case .es256:
            guard let der = ECDSASignature.der(fromRaw: signature) else { return false }
            return key.digestVerify(signature: der, message: message, algorithm: .es256)
        case .edDSA:
            guard signature.count == 64 else { return false }
            return key.digestVerify(signature: signature, message: message, algorithm: .edDSA)
        case .rs256:
            guard signature.count == (key.bits + 7) / 8 else { return false }
            return key.digestVerify(signature: signature, message: message, algorithm: .rs256)
        }
    }
}

/// A JSON Web Key's string members (`kty`, `crv`, `x`, `y`, `n`, `e`, `kid`, `alg`, `use`, …).
public struct JWK: Sendable, Hashable {
    public var members: [String: String]

    public init(members: [String: String]) {
        self.members = members
    }

    public subscript(name: String) -> String? { members[name] }

    public var kid: String? { members["kid"] }

    /// Compact JSON with members in sorted order (stable output for caching and ETags).
    public func jsonBytes() -> [UInt8] {
        var writer = JSONWriter()
        write(to: &writer)
        return writer.bytes
    }

    func write(to writer: inout JSONWriter) {
        writer.beginObject()
        for name in members.keys.sorted() {
            writer.key(name)
            writer.string(members[name]!)
        }
        writer.endObject()
    }

    /// A JWK Set document: `{"keys":[…]}`, in the order given.
    public static func setJSON(_ keys: [JWK]) -> [UInt8] {
        var writer = JSONWriter()
        writer.beginObject()
        writer.key("keys")
        writer.beginArray()
        for key in keys { key.write(to: &writer) }
        writer.endArray()
        writer.endObject()
        return writer.bytes
    }

    /// Parses one JWK object; members whose values are not strings (`key_ops`, `x5c`) are dropped.
    /// - Throws: `.invalidKey` when the text is not a JSON object.
    public init(json: [UInt8]) throws(CryptoError) {
        guard let object = try? JSONValue.parseObject(json) else {
            throw CryptoError(code: .invalidKey, message: "JWK is not a JSON object")
        }
        self.init(members: object.compactMapValues { $0.stringValue })
    }

    /// Parses a JWK Set (`{"keys":[…]}`), as a client's `jwks` or `jwks_uri` document.
    public static func parseSet(_ json: [UInt8]) throws(CryptoError) -> [JWK] {
        guard let object = try? JSONValue.parseObject(json), case .array(let keys)? = object["keys"] else {
            throw CryptoError(code: .invalidKey, message: "JWK Set is not an object with a \"keys\" array")
        }
        var result: [JWK] = []
        for key in keys {
            guard case .object(let members) = key else {
                throw CryptoError(code: .invalidKey, message: "JWK Set member is not an object")
            }
            result.append(JWK(members: members.compactMapValues { $0.stringValue }))
        }
        return result
    }
}
