import Foundation  // Date for the validator's default clock
import TesseraPlatform

/// JWT claims (RFC 7519 §4.1) plus any others. Times are NumericDate: whole seconds since the epoch.
public struct JWTClaims: Sendable, Hashable {
    public var issuer: String?
    public var subject: String?
    /// `aud`; written as a string when it holds one audience, as an array otherwise.
    public var audience: [String]
    public var expiresAt: Int?
    public var notBefore: Int?
    public var issuedAt: Int?
    public var jwtID: String?
    /// Every other claim. Names of registered claims are not allowed here.
    public var extra: [String: JSONValue]

    static let registeredNames: Set<String> = ["iss", "sub", "aud", "exp", "nbf", "iat", "jti"]

    public init(
        issuer: String? = nil, subject: String? = nil, audience: [String] = [], expiresAt: Int? = nil,
        notBefore: Int? = nil, issuedAt: Int? = nil, jwtID: String? = nil, extra: [String: JSONValue] = [:]
    ) {
        self.issuer = issuer
        self.subject = subject
        self.audience = audience
        self.expiresAt = expiresAt
        self.notBefore = notBefore
        self.issuedAt = issuedAt
        self.jwtID = jwtID
        self.extra = extra
    }

    /// Compact JSON: registered claims first in a fixed order (iss, sub, aud, exp, nbf, iat, jti), then
    /// the extra claims sorted by name, so equal claims give equal bytes.
    public func encoded() -> [UInt8] {
        var writer = JSONWriter(reservingCapacity: 256)
        writer.beginObject()
        if let issuer { writer.key("iss"); writer.string(issuer) }
        if let subject { writer.key("sub"); writer.string(subject) }
        if audience.count == 1 {
            writer.key("aud"); writer.string(audience[0])
        } else if !audience.isEmpty {
            writer.key("aud"); writer.beginArray()
            for value in audience { writer.string(value) }
            writer.endArray()
        }
        if let expiresAt { writer.key("exp"); writer.int(expiresAt) }
        if let notBefore { writer.key("nbf"); writer.int(notBefore) }
        if let issuedAt { writer.key("iat"); writer.int(issuedAt) }
        if let jwtID { writer.key("jti"); writer.string(jwtID) }
        for name in extra.keys.sorted() {
            precondition(!Self.registeredNames.contains(name), "JWTClaims.extra must not hold registered claim \(name)")
            writer.key(name)
            extra[name]!.write(to: &writer)
        }
        writer.endObject()
        return writer.bytes
    }

    /// Parses a claims set; registered claims of the wrong JSON type are `.malformedToken`.
    public init(decoding bytes: [UInt8]) throws(CryptoError) {
        func malformed(_ reason: String) -> CryptoError {
            CryptoError(code: .malformedToken, message: "malformed JWT claims: \(reason)")
        }
        let object: [String: JSONValue]
        do {
            object = try JSONValue.parseObject(bytes)
        } catch {
            throw malformed("not a JSON object")
        }
        func string(_ name: String) throws(CryptoError) -> String? {
            guard let value = object[name] else { return nil }
            guard case .string(let string) = value else { throw malformed("\"\(name)\" is not a string") }
            return string
        }
        func date(_ name: String) throws(CryptoError) -> Int? {
            guard let value = object[name] else { return nil }
            guard let seconds = value.numericDate else { throw malformed("\"\(name)\" is not a NumericDate") }
            return seconds
        }
        issuer = try string("iss")
        subject = try string("sub")
        switch object["aud"] {
        case nil: audience = []
        case .string(let value)?: audience = [value]
        case .array(let values)?:
            var audiences: [String] = []
            for value in values {
                guard case .string(let string) = value else { throw malformed("\"aud\" holds a non-string") }
                audiences.append(string)
            }
            audience = audiences
        default: throw malformed("\"aud\" is neither a string nor an array of strings")
        }
        expiresAt = try date("exp")
        notBefore = try date("nbf")
        issuedAt = try date("iat")
        jwtID = try string("jti")
        extra = object.filter { !Self.registeredNames.contains($0.key) }
    }
}

/// Signs claims as a JWT.
public enum JWT {
    /// `JWS.sign` over `claims.encoded()` with header `typ` = `type` (`JWT`, `at+jwt`, …).
    public static func sign(
        _ claims: JWTClaims, key: SigningKey, kid: String, type: String = "JWT"
    ) throws(CryptoError) -> String {
        try JWS.sign(header: ["typ": .string(type)], payload: claims.encoded(), key: key, kid: kid)
    }
}

/// Checks a JWT's signature (algorithm pinned per key) and its claims.
///
/// `exp` is always required. `nbf` and `iat`, when present, must not be in the future; each time check
/// allows `leeway` seconds of clock skew.
public struct JWTValidator: Sendable {
    /// `iss` must equal this.
    public var issuer: String
    /// `aud` must name at least one of these.
    public var audiences: Set<String>
    public var allowedAlgorithms: Set<SigningAlgorithm>
    /// Allowed clock skew, in seconds.
    public var leeway: Int
    public var requireIssuedAt: Bool
    public var requireJWTID: Bool
    /// When set, `exp − iat` must not exceed it (and `iat` becomes required).
    public var maximumLifetime: Int?
    /// When set, the header's `typ` must match (e.g. `at+jwt` for RFC 9068 access tokens).
    public var requiredType: String?

    public init(
        issuer: String, audiences: Set<String>, allowedAlgorithms: Set<SigningAlgorithm> = [.es256],
        leeway: Int = 60, requireIssuedAt: Bool = false, requireJWTID: Bool = false,
        maximumLifetime: Int? = nil, requiredType: String? = nil
    ) {
        precondition((0...86_400).contains(leeway), "JWTValidator: leeway outside 0...86400 seconds")
        self.issuer = issuer
        self.audiences = audiences
        self.allowedAlgorithms = allowedAlgorithms
        self.leeway = leeway
        self.requireIssuedAt = requireIssuedAt
        self.requireJWTID = requireJWTID
        self.maximumLifetime = maximumLifetime
        self.requiredType = requiredType
    }

    /// Verifies `token` and returns its claims.
    /// - Parameters:
    ///   - keys: the key published under a `kid`, or nil.
    ///   - now: seconds since the epoch; nil reads the system clock.
    /// - Throws: `JWS.verify`'s codes, then `.malformedToken`, `.missingClaim`, `.tokenExpired`,
    ///   `.tokenNotYetValid`, `.lifetimeTooLong`, `.wrongIssuer`, `.wrongAudience`.
    public func validate(
        _ token: String, keys: (String) -> VerificationKey?, now: Int? = nil
    ) throws(CryptoError) -> JWTClaims {
        let verified = try JWS.verify(
            token, keys: keys, allowedAlgorithms: allowedAlgorithms, requiredType: requiredType)
        return try check(verified, now: now ?? Int(Date().timeIntervalSince1970))
    }

    /// As `validate(_:keys:now:)`, for a token signed by one of a few keys registered without `kid`s
    /// (an OAuth client's assertion).
    public func validate(
        _ token: String, candidates: [VerificationKey], now: Int? = nil
    ) throws(CryptoError) -> JWTClaims {
        let verified = try JWS.verify(
            token, candidates: candidates, allowedAlgorithms: allowedAlgorithms, requiredType: requiredType)
        return try check(verified, now: now ?? Int(Date().timeIntervalSince1970))
    }

    private func check(_ verified: JWS.Verified, now: Int) throws(CryptoError) -> JWTClaims {
        let claims = try JWTClaims(decoding: verified.payload)
        func missing(_ name: String) -> CryptoError {
            CryptoError(code: .missingClaim, message: "the token has no \"\(name)\" claim")
        }
        guard let expiresAt = claims.expiresAt else { throw missing("exp") }
        if requireIssuedAt || maximumLifetime != nil, claims.issuedAt == nil { throw missing("iat") }
        if requireJWTID, claims.jwtID?.isEmpty ?? true { throw missing("jti") }

        guard now < expiresAt + leeway else {
            throw CryptoError(code: .tokenExpired, message: "the token expired at \(expiresAt)")
        }
        if let notBefore = claims.notBefore, now + leeway < notBefore {
            throw CryptoError(code: .tokenNotYetValid, message: "the token is not valid before \(notBefore)")
        }
        if let issuedAt = claims.issuedAt, now + leeway < issuedAt {
            throw CryptoError(code: .tokenNotYetValid, message: "the token was issued in the future (\(issuedAt))")
        }
        if let maximumLifetime, let issuedAt = claims.issuedAt {
            guard expiresAt - issuedAt <= maximumLifetime else {
                throw CryptoError(
                    code: .lifetimeTooLong, message: "the token lives longer than \(maximumLifetime) seconds")
            }
        }
        guard claims.issuer == issuer else {
            throw CryptoError(code: .wrongIssuer, message: "the token's issuer is not the expected one")
        }
        guard claims.audience.contains(where: audiences.contains) else {
            throw CryptoError(code: .wrongAudience, message: "the token is not meant for this audience")
        }
        return claims
    }
}
