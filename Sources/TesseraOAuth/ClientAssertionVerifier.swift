import Foundation
import TesseraCrypto

/// RFC 7523 assertions signed by a client (client authentication §2.2 and the JWT bearer grant §2.1).
enum ClientAssertionVerifier {
    /// Assertions are short-lived by design: they may not expire more than an hour ahead (nor more than an
    /// hour after their `iat`).
    static let maximumLifetime = 3600
    /// The clock skew allowed on `exp`, `nbf` and `iat`.
    static let leeway = 60

    /// How long a used `jti` must be remembered: until the assertion could no longer be accepted.
    static func replayWindowEnd(expiresAt: Int) -> Date { Date(timeIntervalSince1970: Double(expiresAt + leeway)) }

    /// Verifies the signature against the client's registered keys and checks `iss`, `aud` and the times.
    static func verify(
        _ assertion: String, keys: [VerificationKey], issuer: String, audiences: Set<String>, now: Int
    ) throws(CryptoError) -> JWTClaims {
        let validator = JWTValidator(
            issuer: issuer, audiences: audiences, allowedAlgorithms: Set(SigningAlgorithm.allCases), leeway: leeway,
            requireJWTID: true)
        let claims = try validator.validate(assertion, candidates: keys, now: now)
        if let expiresAt = claims.expiresAt, expiresAt - now > maximumLifetime {
            throw CryptoError(
                code: .lifetimeTooLong, message: "assertions may expire at most \(maximumLifetime) seconds ahead")
        }
        if let issuedAt = claims.issuedAt, let expiresAt = claims.expiresAt, expiresAt - issuedAt > maximumLifetime {
            throw CryptoError(code: .lifetimeTooLong, message: "assertions may live at most \(maximumLifetime) seconds")
        }
        return claims
    }
}

extension JWTClaims {
    /// The `iss` of a JWT, read without verifying it: only to find which client's keys to verify with.
    static func unverifiedIssuer(of token: String) throws(CryptoError) -> String {
        let segments = token.split(separator: ".", omittingEmptySubsequences: false)
        guard token.utf8.count <= JWS.maximumTokenLength, segments.count == 3 else {
            throw CryptoError(code: .malformedToken, message: "malformed JWT")
        }
        let claims = try JWTClaims(decoding: try Base64URL.decode(String(segments[1])))
        guard let issuer = claims.issuer, !issuer.isEmpty else {
            throw CryptoError(code: .missingClaim, message: "the assertion has no iss")
        }
        return issuer
    }
}
