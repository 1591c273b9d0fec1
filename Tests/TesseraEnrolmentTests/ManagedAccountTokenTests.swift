import Foundation
import TesseraCrypto
import Testing

@testable import TesseraEnrolment

@Suite struct ManagedAccountTokenTests {
    @Test func tokensCarryTheServerAndAFreshJTIAndVerifyRS256() throws {
        let key = try SigningKey.generate(.rs256)
        let service = try ManagedAccountTokenService(
            serverUUID: "6F0A2D5E-1C34-4B8E-9D1A-2F3B4C5D6E7F", key: key,
            now: { Date(timeIntervalSince1970: 1_800_000_000) })
        let first = try service.token()
        let verified = try JWS.verify(
            first, candidates: [try key.publicKey()], allowedAlgorithms: [.rs256], requiredType: "JWT")
        let claims = try #require(try JSONSerialization.jsonObject(with: Data(verified.payload)) as? [String: Any])
        #expect(claims["iss"] as? String == "6F0A2D5E-1C34-4B8E-9D1A-2F3B4C5D6E7F")
        #expect(claims["iat"] as? Int == 1_800_000_000 && claims["service_type"] as? String == "com.apple.maid")
        let jti = try #require(claims["jti"] as? String)
        #expect(UUID(uuidString: jti) != nil)
        let second = try JWS.verify(
            try service.token(), candidates: [try key.publicKey()], allowedAlgorithms: [.rs256], requiredType: "JWT")
        let again = try #require(try JSONSerialization.jsonObject(with: Data(second.payload)) as? [String: Any])
        #expect(again["jti"] as? String != jti)  // every token its own jti: Apple accepts each once
        // RS256 only.
        #expect(throws: CryptoError.self) {
            _ = try ManagedAccountTokenService(
                serverUUID: "6F0A2D5E-1C34-4B8E-9D1A-2F3B4C5D6E7F", key: try SigningKey.generate(.es256))
        }
    }
}
