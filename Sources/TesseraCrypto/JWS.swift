import TesseraPlatform

/// JWS compact serialisation (RFC 7515 §7.1) with the algorithm pinned per key.
///
/// Verification trusts nothing in the header except to *select* a key: the `kid` picks the key, and the
/// header's `alg` must equal that key's own algorithm and be in the caller's allowed set. `none`, HMAC
/// and unknown algorithms, `crit`, and keys embedded or referenced in the header (`jwk`, `jku`, `x5u`,
/// `x5c`) are refused outright.
public enum JWS {
    /// Tokens longer than this are refused before any decoding.
    public static let maximumTokenLength = 16 * 1024

    /// Header parameters that would let a token choose its own key or extend the rules; never honoured.
    static let refusedHeaderParameters = ["crit", "jwk", "jku", "x5u", "x5c", "x5t", "x5t#S256"]

    /// A token whose signature verified.
    public struct Verified: Sendable {
        public let header: [String: JSONValue]
        public let payload: [UInt8]
        public let algorithm: SigningAlgorithm
        public let kid: String
    }

    /// Signs `payload` and returns `header.payload.signature`.
    ///
    /// The protected header is `header` plus `alg` (the key's algorithm) and `kid`, written with sorted
    /// member names.
    /// - Parameters:
    ///   - header: must contain a string `typ` (e.g. `at+jwt`, RFC 9068); must not contain `alg`, `kid`,
    ///     or any refused parameter.
    /// - Throws: `.invalidParameters` for an unacceptable header; OpenSSL failures from signing.
    public static func sign(
        header: [String: JSONValue], payload: [UInt8], key: SigningKey, kid: String
    ) throws(CryptoError) -> String {
        guard case .string(let type)? = header["typ"], !type.isEmpty else {
            throw CryptoError(code: .invalidParameters, message: "JWS header needs a \"typ\"")
        }
        guard header["alg"] == nil, header["kid"] == nil else {
            throw CryptoError(code: .invalidParameters, message: "\"alg\" and \"kid\" come from the signing key")
        }
        for name in refusedHeaderParameters where header[name] != nil {
            throw CryptoError(code: .invalidParameters, message: "JWS header parameter \"\(name)\" is not supported")
        }
        guard !kid.isEmpty else { throw CryptoError(code: .invalidParameters, message: "empty kid") }
        var protected = header
        protected["alg"] = .string(key.algorithm.rawValue)
        protected["kid"] = .string(kid)
        var writer = JSONWriter()
        JSONValue.object(protected).write(to: &writer)
        return try sign(encodedHeader: Base64URL.encode(writer.bytes), payload: payload, key: key)
    }

    /// The encoded protected header `sign` would build, for callers that sign many tokens with one key
    /// and header (pass it to `sign(encodedHeader:payload:key:)`).
    public static func encodedHeader(_ header: [String: JSONValue], key: SigningKey, kid: String) throws(CryptoError)
        -> String
    {
        // Reuses `sign`'s checks on a dummy payload, then keeps only the header segment.
        let token = try sign(header: header, payload: [], key: key, kid: kid)
        return String(token.prefix { $0 != "." })
    }

    /// Signs `payload` under an already encoded protected header (from `encodedHeader`).
    public static func sign(encodedHeader: String, payload: [UInt8], key: SigningKey) throws(CryptoError) -> String {
        // Built as bytes in one buffer: header "." payload, signed in place, then "." signature.
        var token: [UInt8] = []
        token.reserveCapacity(
            encodedHeader.utf8.count + Base64Alphabet.encodedLength(payload.count) + 2
                + Base64Alphabet.encodedLength(key.maximumSignatureLength))
        token.append(contentsOf: encodedHeader.utf8)
        token.append(UInt8(ascii: "."))
        payload.withUnsafeBufferPointer { Base64URL.append($0, to: &token) }
        let signature = try token.withUnsafeBufferPointer { input throws(CryptoError) in try key.sign(input) }
        token.append(UInt8(ascii: "."))
        signature.withUnsafeBufferPointer { Base64URL.append($0, to: &token) }
        return String(decoding: token, as: UTF8.self)
    }

    /// Verifies a compact JWS.
    ///
    /// Order of checks: size, exactly three segments, header base64url and JSON object, `alg` (a
    /// supported algorithm in `allowedAlgorithms`), refused parameters, `kid` and key lookup, `alg` equal to
    /// the key's algorithm, `typ` when `requiredType` is given, then the signature.
    /// - Parameters:
    ///   - keys: returns the key published under a `kid`, or nil.
    ///   - requiredType: when set, the header's `typ` must equal it (case-insensitively, with or without
    ///     an `application/` prefix, per RFC 7515 §4.1.9).
    /// - Throws: `.malformedToken`, `.algorithmNotAllowed`, `.unsupportedHeader`, `.unknownKey`,
    ///   `.wrongTokenType`, `.badSignature`.
    public static func verify(
        _ token: String,
        keys: (String) -> VerificationKey?,
        allowedAlgorithms: Set<SigningAlgorithm>,
        requiredType: String? = nil
    ) throws(CryptoError) -> Verified {
        try verify(
            token, candidates: { kid in kid.flatMap(keys).map { [$0] } ?? [] }, requireKeyID: true,
            allowedAlgorithms: allowedAlgorithms, requiredType: requiredType)
    }

    /// Verifies against a small set of keys registered without `kid`s (an OAuth client's PEM keys): the
    /// header's `kid` is optional, and the signature must verify under one of the keys whose own
    /// algorithm is the header's `alg` (so the algorithm stays pinned per key).
    public static func verify(
        _ token: String,
        candidates: [VerificationKey],
        allowedAlgorithms: Set<SigningAlgorithm>,
        requiredType: String? = nil
    ) throws(CryptoError) -> Verified {
        try verify(
            token, candidates: { _ in candidates }, requireKeyID: false, allowedAlgorithms: allowedAlgorithms,
            requiredType: requiredType)
    }

    /// The `kid` of a token's header, read without verifying anything (to pick the key to verify with).
    public static func unverifiedKeyID(of token: String) throws(CryptoError) -> String? {
        guard token.utf8.count <= maximumTokenLength,
            let first = token.split(separator: ".", omittingEmptySubsequences: false).first
        else {
            throw CryptoError(code: .malformedToken, message: "malformed JWS")
        }
        do {
            let header = try JSONValue.parseObject(try Base64URL.decode(String(first)))
            if case .string(let kid)? = header["kid"], !kid.isEmpty { return kid }
            return nil
        } catch {
            throw CryptoError(code: .malformedToken, message: "malformed JWS: header is not base64url of a JSON object")
        }
    }

    static func verify(
        _ token: String,
        candidates: (String?) -> [VerificationKey],
        requireKeyID: Bool,
        allowedAlgorithms: Set<SigningAlgorithm>,
        requiredType: String?
    ) throws(CryptoError) -> Verified {
        func malformed(_ reason: String) -> CryptoError {
            CryptoError(code: .malformedToken, message: "malformed JWS: \(reason)")
        }
        let bytes = Array(token.utf8)
        guard bytes.count <= maximumTokenLength else { throw malformed("longer than \(maximumTokenLength) bytes") }
        let segments = bytes.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        guard segments.count == 3 else { throw malformed("expected 3 segments, found \(segments.count)") }

        let header: [String: JSONValue]
        do {
            let headerBytes = try Base64URL.decode(String(decoding: segments[0], as: UTF8.self))
            header = try JSONValue.parseObject(headerBytes)
        } catch {
            throw malformed("header is not base64url of a JSON object")
        }

        guard case .string(let algName)? = header["alg"] else { throw malformed("header has no string \"alg\"") }
        guard let algorithm = SigningAlgorithm(rawValue: algName) else {
            throw CryptoError(code: .algorithmNotAllowed, message: "algorithm \"\(algName)\" is not accepted")
        }
        guard allowedAlgorithms.contains(algorithm) else {
            throw CryptoError(code: .algorithmNotAllowed, message: "algorithm \(algorithm) is not allowed here")
        }
        for name in refusedHeaderParameters where header[name] != nil {
            throw CryptoError(code: .unsupportedHeader, message: "header parameter \"\(name)\" is refused")
        }
        var kid: String?
        if case .string(let named)? = header["kid"], !named.isEmpty { kid = named }
        if requireKeyID && kid == nil {
            throw CryptoError(code: .unknownKey, message: "header has no \"kid\"")
        }
        let available = candidates(kid)
        guard !available.isEmpty else {
            throw CryptoError(code: .unknownKey, message: "no key with this kid")
        }
        let keys = available.filter { $0.algorithm == algorithm }
        guard !keys.isEmpty else {
            throw CryptoError(
                code: .algorithmNotAllowed,
                message: "header says \(algorithm) but the key is for \(available[0].algorithm)")
        }
        if let requiredType {
            guard case .string(let type)? = header["typ"], Self.typesMatch(type, requiredType) else {
                throw CryptoError(code: .wrongTokenType, message: "header \"typ\" is not \"\(requiredType)\"")
            }
        }

        let payload: [UInt8]
        let signature: [UInt8]
        do {
            payload = try Base64URL.decode(String(decoding: segments[1], as: UTF8.self))
            signature = try Base64URL.decode(String(decoding: segments[2], as: UTF8.self))
        } catch {
            throw malformed("payload or signature is not base64url")
        }
        let signingInput = Array(bytes[..<(segments[0].count + 1 + segments[1].count)])
        guard keys.contains(where: { $0.verify(signature: signature, message: signingInput) }) else {
            throw CryptoError(code: .badSignature, message: "the signature does not verify")
        }
        return Verified(header: header, payload: payload, algorithm: algorithm, kid: kid ?? "")
    }

    static func typesMatch(_ presented: String, _ required: String) -> Bool {
        func normalised(_ type: String) -> String {
            let lower = type.lowercased()
            return lower.hasPrefix("application/") ? String(lower.dropFirst("application/".count)) : lower
        }
        return normalised(presented) == normalised(required)
    }
}
