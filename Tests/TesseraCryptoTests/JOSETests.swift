import Foundation
import Testing

@testable import TesseraCrypto

@Suite struct SigningKeyTests {
    @Test(arguments: SigningAlgorithm.allCases)
    func signVerifyAndJWKRoundTrip(algorithm: SigningAlgorithm) throws {
        let key = try SigningKey.generate(algorithm)
        let message = Array("tessera signs this".utf8)
        let signature = try key.sign(message)
        switch algorithm {
        case .es256, .edDSA: #expect(signature.count == 64)
        case .rs256: #expect(signature.count == SigningKey.rsaGeneratedBits / 8)
        }
        let publicKey = try key.publicKey()
        #expect(publicKey.algorithm == algorithm)
        #expect(publicKey.verify(signature: signature, message: message))
        #expect(!publicKey.verify(signature: signature, message: message + [0]))

        let jwk = try publicKey.jwk(kid: "key-1")
        #expect(jwk["kid"] == "key-1")
        #expect(jwk["alg"] == algorithm.rawValue)
        #expect(jwk["use"] == "sig")
        #expect(jwk["d"] == nil)
        switch algorithm {
        case .es256:
            #expect(jwk["kty"] == "EC" && jwk["crv"] == "P-256" && jwk["x"] != nil && jwk["y"] != nil)
        case .edDSA:
            #expect(jwk["kty"] == "OKP" && jwk["crv"] == "Ed25519" && jwk["x"] != nil)
        case .rs256:
            #expect(jwk["kty"] == "RSA" && jwk["e"] == "AQAB")
            #expect(try Base64URL.decode(jwk["n"]!).count == SigningKey.rsaGeneratedBits / 8)
        }
        // Through JSON text and back, as a JWKS consumer would see it.
        let reparsed = try JWK(json: jwk.jsonBytes())
        #expect(reparsed == jwk)
        let imported = try VerificationKey(jwk: reparsed)
        #expect(imported.algorithm == algorithm)
        #expect(imported.verify(signature: signature, message: message))
        #expect(try imported.subjectPublicKeyInfo() == publicKey.subjectPublicKeyInfo())
    }

    @Test(arguments: SigningAlgorithm.allCases)
    func pkcs8RoundTripAndTypeCheck(algorithm: SigningAlgorithm) throws {
        let key = try SigningKey.generate(algorithm)
        let der = try key.pkcs8DER()
        let restored = try SigningKey(pkcs8DER: der, algorithm: algorithm)
        let message = Array("pkcs8".utf8)
        #expect(try key.publicKey().verify(signature: restored.sign(message), message: message))
        for other in SigningAlgorithm.allCases where other != algorithm {
            expect(throwsCode: .invalidKey) { _ = try SigningKey(pkcs8DER: der, algorithm: other) }
        }
        #expect(throws: CryptoError.self) { try SigningKey(pkcs8DER: der + [0], algorithm: algorithm) }
        #expect(throws: CryptoError.self) { try SigningKey(pkcs8DER: Array(der.dropLast()), algorithm: algorithm) }
        #expect(throws: CryptoError.self) { try SigningKey(pkcs8DER: [], algorithm: algorithm) }
    }

    @Test func es256SignaturesAreNotDER() throws {
        let key = try SigningKey.generate(.es256)
        let publicKey = try key.publicKey()
        let message = Array("raw".utf8)
        let raw = try key.sign(message)
        let der = try #require(ECDSASignature.der(fromRaw: raw))
        #expect(der.first == 0x30)
        #expect(try ECDSASignature.raw(fromDER: der) == raw)
        #expect(!publicKey.verify(signature: der, message: message))
        #expect(!publicKey.verify(signature: Array(raw.dropLast()), message: message))
        #expect(!publicKey.verify(signature: [UInt8](repeating: 0, count: 64), message: message))
    }

    /// DER → R‖S: short integers are left-padded, a sign byte is dropped, and anything that is not one
    /// SEQUENCE of two non-negative INTEGERs of at most 32 bytes is refused.
    @Test func derToRawConversion() throws {
        let r = [UInt8](repeating: 0x11, count: 31)
        let s = [0x00] + [UInt8](repeating: 0xF0, count: 32)  // sign byte before a high bit
        let der: [UInt8] = [0x30, UInt8(4 + r.count + s.count), 0x02, UInt8(r.count)] + r + [0x02, UInt8(s.count)] + s
        #expect(try ECDSASignature.raw(fromDER: der) == [0x00] + r + [UInt8](repeating: 0xF0, count: 32))
        let malformed: [[UInt8]] = [
            [],
            Array(der.dropLast()),  // truncated
            der + [0x00],  // trailing byte
            [0x31] + der.dropFirst(),  // SET, not SEQUENCE
            [0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x81],  // negative s
            [0x30, 0x03, 0x02, 0x01, 0x01],  // one integer
            [0x30, 0x05, 0x02, 0x00, 0x02, 0x01, 0x01],  // empty r
            [0x30, 0x26, 0x02, 0x21, 0x01] + [UInt8](repeating: 0x01, count: 32) + [0x02, 0x01, 0x01],  // r of 33 bytes
        ]
        for bytes in malformed {
            #expect(throws: CryptoError.self) { try ECDSASignature.raw(fromDER: bytes) }
        }
    }
}

/// Known-answer tests from the RFCs.
@Suite struct JOSEVectorTests {
    // RFC 7515 Appendix A.3: ES256. The payload contains CR LF, hence the odd base64url.
    static let a3Key: [String: String] = [
        "kty": "EC", "crv": "P-256",
        "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
        "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0",
    ]
    static let a3Token =
        "eyJhbGciOiJFUzI1NiJ9"
        + ".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ"
        + ".DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q"

    @Test func rfc7515AppendixA3() throws {
        let key = try VerificationKey(jwk: Self.a3Key)
        #expect(key.algorithm == .es256)
        let parts = Self.a3Token.split(separator: ".").map(String.init)
        let input = Array((parts[0] + "." + parts[1]).utf8)
        let signature = try Base64URL.decode(parts[2])
        #expect(key.verify(signature: signature, message: input))
        var tampered = signature
        tampered[10] ^= 1
        #expect(!key.verify(signature: tampered, message: input))
        // Exported JWK coordinates are the RFC's own.
        let jwk = try key.jwk(kid: "a3")
        #expect(jwk["x"] == Self.a3Key["x"] && jwk["y"] == Self.a3Key["y"])
        // The RFC's token has no kid, which Tessera's verifier requires.
        #expect(throws: CryptoError.self) {
            try JWS.verify(Self.a3Token, keys: { _ in key }, allowedAlgorithms: [.es256])
        }
        // Same token as the kid-less key's one and only verifier: the error is specifically unknown_key.
        do {
            _ = try JWS.verify(Self.a3Token, keys: { _ in key }, allowedAlgorithms: [.es256])
        } catch {
            #expect(error.code == .unknownKey)
        }
    }

    // RFC 8037 Appendix A.1, A.4, A.5: Ed25519 is deterministic, so the signature is a known answer.
    @Test func rfc8037AppendixA4() throws {
        let seed = try Base64URL.decode("nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A")
        let key = try SigningKey(ed25519Seed: seed)
        let jwk = try key.publicKey().jwk(kid: "rfc8037")
        #expect(jwk["x"] == "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo")
        #expect(jwk["kty"] == "OKP" && jwk["crv"] == "Ed25519" && jwk["alg"] == "EdDSA")

        let input = "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc"
        #expect(Base64URL.encode(Array("{\"alg\":\"EdDSA\"}".utf8)) == "eyJhbGciOiJFZERTQSJ9")
        #expect(Base64URL.encode(Array("Example of Ed25519 signing".utf8)) == "RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc")
        let signature = try key.sign(Array(input.utf8))
        #expect(
            Base64URL.encode(signature)
                == "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg")
        let publicKey = try VerificationKey(jwk: ["kty": "OKP", "crv": "Ed25519", "x": jwk["x"]!])
        #expect(publicKey.verify(signature: signature, message: Array(input.utf8)))
    }
}

@Suite struct VerificationKeyImportTests {
    @Test func rejectsPointNotOnP256() throws {
        var y = try Base64URL.decode(JOSEVectorTests.a3Key["y"]!)
        y[31] ^= 1
        var jwk = JOSEVectorTests.a3Key
        jwk["y"] = Base64URL.encode(y)
        #expect(throws: CryptoError.self) { try VerificationKey(jwk: jwk) }
        do { _ = try VerificationKey(jwk: jwk) } catch { #expect(error.code == .invalidKey) }
    }

    @Test func rejectsBadJWKs() throws {
        let a3 = JOSEVectorTests.a3Key
        var cases: [[String: String]] = []
        cases.append(a3.merging(["crv": "P-384"]) { $1 })
        cases.append(a3.merging(["alg": "RS256"]) { $1 })
        cases.append(a3.merging(["alg": "HS256"]) { $1 })
        cases.append(a3.merging(["use": "enc"]) { $1 })
        cases.append(a3.merging(["d": "jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI"]) { $1 })
        cases.append(a3.merging(["x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVE"]) { $1 })  // 31 bytes
        cases.append(a3.merging(["x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU="]) { $1 })  // padded
        cases.append(a3.filter { $0.key != "y" })
        cases.append(["kty": "oct", "k": "AAAA"])
        cases.append(["crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"])
        cases.append(["kty": "OKP", "crv": "X25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"])
        for jwk in cases {
            #expect(throws: CryptoError.self, "\(jwk)") { try VerificationKey(jwk: jwk) }
        }
    }

    @Test func rejectsRSABelow2048Bits() throws {
        // Structurally valid 1024-bit modulus: high bit set, odd.
        var n = SecureRandom.bytes(128)
        n[0] |= 0x80
        n[127] |= 1
        do {
            _ = try VerificationKey(jwk: ["kty": "RSA", "n": Base64URL.encode(n), "e": "AQAB"])
            Issue.record("a 1024-bit RSA key was accepted")
        } catch {
            #expect(error.code == .invalidKey)
        }
    }

    @Test func jwkSetParsing() throws {
        let es = try SigningKey.generate(.es256).publicKey().jwk(kid: "a")
        let ed = try SigningKey.generate(.edDSA).publicKey().jwk(kid: "b")
        let document = JWK.setJSON([es, ed])
        #expect(String(decoding: document, as: UTF8.self).hasPrefix("{\"keys\":[{\"alg\":\"ES256\""))
        let parsed = try JWK.parseSet(document)
        #expect(parsed == [es, ed])
        #expect(throws: CryptoError.self) { try JWK.parseSet(Array("{\"keys\":{}}".utf8)) }
        #expect(throws: CryptoError.self) { try JWK.parseSet(Array("[]".utf8)) }
    }
}
