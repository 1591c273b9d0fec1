import Foundation
import Testing

@testable import TesseraCrypto

@Suite struct JWTTests {
    let ring = KeyRing.shared
    let now = 1_800_000_000
    let validator = JWTValidator(
        issuer: "https://id.example.org", audiences: ["mdm", "scim"], allowedAlgorithms: [.es256, .edDSA])

    func claims(_ change: (inout JWTClaims) -> Void = { _ in }) -> JWTClaims {
        var claims = JWTClaims(
            issuer: "https://id.example.org", subject: "ada@example.org", audience: ["mdm"], expiresAt: now + 300,
            notBefore: now - 10, issuedAt: now - 10, jwtID: "j-1",
            extra: ["scope": "enrol profile", "roles": .array(["staff"]), "client_id": "c1", "n": 3])
        change(&claims)
        return claims
    }

    func token(_ claims: JWTClaims, key: SigningKey? = nil, kid: String = "es") throws -> String {
        try JWT.sign(claims, key: key ?? ring.es256, kid: kid, type: "at+jwt")
    }

    @Test func encodingIsStable() {
        let bytes = claims().encoded()
        #expect(
            String(decoding: bytes, as: UTF8.self)
                == "{\"iss\":\"https://id.example.org\",\"sub\":\"ada@example.org\",\"aud\":\"mdm\",\"exp\":1800000300,"
                + "\"nbf\":1799999990,\"iat\":1799999990,\"jti\":\"j-1\",\"client_id\":\"c1\",\"n\":3,"
                + "\"roles\":[\"staff\"],\"scope\":\"enrol profile\"}")
        #expect(claims().encoded() == bytes)
        let multi = claims { $0.audience = ["a", "b"] }
        #expect(String(decoding: multi.encoded(), as: UTF8.self).contains("\"aud\":[\"a\",\"b\"]"))
    }

    @Test func roundTripThroughValidator() throws {
        for (kid, key) in [("es", ring.es256), ("ed", ring.edDSA)] {
            let validated = try validator.validate(try token(claims(), key: key, kid: kid), keys: ring.lookup, now: now)
            #expect(validated == claims())
        }
        let multi = claims { $0.audience = ["other", "scim"] }
        #expect(try validator.validate(try token(multi), keys: ring.lookup, now: now).audience == ["other", "scim"])
    }

    @Test func timeChecksWithLeeway() throws {
        let t = try token(claims())
        // exp = now + 300, leeway 60: valid until just before now + 360.
        #expect(throws: Never.self) { try validator.validate(t, keys: ring.lookup, now: now + 359) }
        expect(throwsCode: .tokenExpired) { _ = try validator.validate(t, keys: ring.lookup, now: now + 360) }
        var strict = validator
        strict.leeway = 0
        expect(throwsCode: .tokenExpired) { _ = try strict.validate(t, keys: ring.lookup, now: now + 300) }

        let future = try token(claims { $0.notBefore = now + 120 })
        expect(throwsCode: .tokenNotYetValid) { _ = try validator.validate(future, keys: ring.lookup, now: now) }
        #expect(throws: Never.self) { try validator.validate(future, keys: ring.lookup, now: now + 60) }
        let issuedLater = try token(
            claims {
                $0.issuedAt = now + 600; $0.expiresAt = now + 900
            })
        expect(throwsCode: .tokenNotYetValid) { _ = try validator.validate(issuedLater, keys: ring.lookup, now: now) }
    }

    @Test func issuerAudienceAndRequiredClaims() throws {
        let wrongIssuer = try token(claims { $0.issuer = "https://evil.example" })
        expect(throwsCode: .wrongIssuer) { _ = try validator.validate(wrongIssuer, keys: ring.lookup, now: now) }
        let noIssuer = try token(claims { $0.issuer = nil })
        expect(throwsCode: .wrongIssuer) { _ = try validator.validate(noIssuer, keys: ring.lookup, now: now) }
        let wrongAudience = try token(claims { $0.audience = ["billing", "crm"] })
        expect(throwsCode: .wrongAudience) { _ = try validator.validate(wrongAudience, keys: ring.lookup, now: now) }
        let noAudience = try token(claims { $0.audience = [] })
        expect(throwsCode: .wrongAudience) { _ = try validator.validate(noAudience, keys: ring.lookup, now: now) }
        let noExp = try token(claims { $0.expiresAt = nil })
        expect(throwsCode: .missingClaim) { _ = try validator.validate(noExp, keys: ring.lookup, now: now) }

        var demanding = validator
        demanding.requireIssuedAt = true
        demanding.requireJWTID = true
        let noIat = try token(claims { $0.issuedAt = nil })
        expect(throwsCode: .missingClaim) { _ = try demanding.validate(noIat, keys: ring.lookup, now: now) }
        let noJti = try token(claims { $0.jwtID = nil })
        expect(throwsCode: .missingClaim) { _ = try demanding.validate(noJti, keys: ring.lookup, now: now) }
        #expect(throws: Never.self) { try validator.validate(noIat, keys: ring.lookup, now: now) }

        var shortLived = validator
        shortLived.maximumLifetime = 600
        let longLived = try token(claims { $0.expiresAt = now + 3600 })
        expect(throwsCode: .lifetimeTooLong) { _ = try shortLived.validate(longLived, keys: ring.lookup, now: now) }
        #expect(throws: Never.self) { try shortLived.validate(try token(claims()), keys: ring.lookup, now: now) }
    }

    @Test func typeAndAlgorithmPolicy() throws {
        var accessTokens = validator
        accessTokens.requiredType = "at+jwt"
        #expect(throws: Never.self) { try accessTokens.validate(try token(claims()), keys: ring.lookup, now: now) }
        let idToken = try JWT.sign(claims(), key: ring.es256, kid: "es")
        expect(throwsCode: .wrongTokenType) { _ = try accessTokens.validate(idToken, keys: ring.lookup, now: now) }
        // RS256 is published but this validator does not allow it.
        let rsa = try token(claims(), key: ring.rs256, kid: "rs")
        expect(throwsCode: .algorithmNotAllowed) { _ = try validator.validate(rsa, keys: ring.lookup, now: now) }
    }

    @Test func malformedClaims() throws {
        for body in [
            "[1,2]", "\"text\"", "{\"iss\":1,\"exp\":1800000300,\"aud\":\"mdm\"}",
            "{\"iss\":\"https://id.example.org\",\"exp\":\"soon\",\"aud\":\"mdm\"}",
            "{\"iss\":\"https://id.example.org\",\"exp\":1800000300,\"aud\":[\"mdm\",1]}",
            "{\"iss\":\"https://id.example.org\",\"exp\":1e300,\"aud\":\"mdm\"}", "not json",
        ] {
            let t = try JWS.sign(header: ["typ": "JWT"], payload: Array(body.utf8), key: ring.es256, kid: "es")
            expect(throwsCode: .malformedToken, "\(body)") {
                _ = try validator.validate(t, keys: ring.lookup, now: now)
            }
        }
        // A fractional NumericDate is accepted (RFC 7519 allows it).
        let fractional = "{\"iss\":\"https://id.example.org\",\"exp\":1800000300.5,\"aud\":\"mdm\"}"
        let t = try JWS.sign(header: ["typ": "JWT"], payload: Array(fractional.utf8), key: ring.es256, kid: "es")
        #expect(try validator.validate(t, keys: ring.lookup, now: now).expiresAt == 1_800_000_300)
    }

    @Test func tamperedClaimsFailSignature() throws {
        let parts = try token(claims()).split(separator: ".").map(String.init)
        let forged = claims { $0.subject = "root@example.org" }
        let t = parts[0] + "." + Base64URL.encode(forged.encoded()) + "." + parts[2]
        expect(throwsCode: .badSignature) { _ = try validator.validate(t, keys: ring.lookup, now: now) }
    }
}

@Suite struct HostileClaimsTests {
    @Test func extremeNumericDatesAreMalformedNotFatal() throws {
        for exp in ["-9223372036854775808", "9223372036854775807", "1e300", "-1e300"] {
            let payload = Array(#"{"iss":"x","exp":\#(exp)}"#.utf8)
            #expect(throws: CryptoError.self) { try JWTClaims(decoding: payload) }
        }
    }
}
