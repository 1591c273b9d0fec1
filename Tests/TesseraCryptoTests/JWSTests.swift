import Foundation
import Synchronization
import Testing

@testable import TesseraCrypto

/// Two published keys under fixed kids, as the verifier sees them.
struct KeyRing {
    let es256: SigningKey
    let edDSA: SigningKey
    let rs256: SigningKey
    let published: [String: VerificationKey]

    static let shared = try! KeyRing()

    init() throws {
        es256 = try SigningKey.generate(.es256)
        edDSA = try SigningKey.generate(.edDSA)
        rs256 = try SigningKey.generate(.rs256)
        published = [
            "es": try es256.publicKey(), "ed": try edDSA.publicKey(), "rs": try rs256.publicKey(),
        ]
    }

    func lookup(_ kid: String) -> VerificationKey? { published[kid] }

    func verify(_ token: String, allowed: Set<SigningAlgorithm> = Set(SigningAlgorithm.allCases)) throws(CryptoError)
        -> JWS.Verified
    {
        try JWS.verify(token, keys: lookup, allowedAlgorithms: allowed)
    }
}

@Suite struct JWSTests {
    let ring = KeyRing.shared
    let payload = Array("{\"sub\":\"ada\"}".utf8)

    @Test func signAndVerifyEachAlgorithm() throws {
        for (kid, key) in [("es", ring.es256), ("ed", ring.edDSA), ("rs", ring.rs256)] {
            let token = try JWS.sign(header: ["typ": "at+jwt"], payload: payload, key: key, kid: kid)
            let segments = token.split(separator: ".", omittingEmptySubsequences: false)
            #expect(segments.count == 3)
            let header = String(decoding: try Base64URL.decode(String(segments[0])), as: UTF8.self)
            #expect(header == "{\"alg\":\"\(key.algorithm.rawValue)\",\"kid\":\"\(kid)\",\"typ\":\"at+jwt\"}")
            let verified = try JWS.verify(
                token, keys: ring.lookup, allowedAlgorithms: [key.algorithm], requiredType: "application/AT+JWT")
            #expect(verified.payload == payload)
            #expect(verified.algorithm == key.algorithm)
            #expect(verified.kid == kid)
            #expect(verified.header["typ"] == "at+jwt")
            expect(throwsCode: .wrongTokenType) {
                _ = try JWS.verify(token, keys: ring.lookup, allowedAlgorithms: [key.algorithm], requiredType: "JWT")
            }
        }
    }

    @Test func signRefusesBadHeaders() throws {
        let key = ring.es256
        expect(throwsCode: .invalidParameters) { _ = try JWS.sign(header: [:], payload: payload, key: key, kid: "es") }
        for header: [String: JSONValue] in [
            ["typ": "JWT", "alg": "none"], ["typ": "JWT", "kid": "x"], ["typ": "JWT", "jku": "https://evil"],
            ["typ": "JWT", "crit": .array(["exp"])],
        ] {
            expect(throwsCode: .invalidParameters) {
                _ = try JWS.sign(header: header, payload: payload, key: key, kid: "es")
            }
        }
    }

    @Test func rejectsAlgNone() throws {
        let header = Base64URL.encode(Array("{\"alg\":\"none\",\"kid\":\"es\",\"typ\":\"JWT\"}".utf8))
        let body = Base64URL.encode(payload)
        expect(throwsCode: .algorithmNotAllowed) { _ = try ring.verify("\(header).\(body).") }
        let header2 = Base64URL.encode(Array("{\"alg\":\"None\",\"kid\":\"es\"}".utf8))
        expect(throwsCode: .algorithmNotAllowed) { _ = try ring.verify("\(header2).\(body).") }
    }

    /// The classic confusion: HS256 with the verifier's public key (as PEM text, and as DER) as HMAC secret.
    @Test func rejectsHS256WithPublicKeyAsSecret() throws {
        let spki = try ring.published["rs"]!.subjectPublicKeyInfo()
        var pem = "-----BEGIN PUBLIC KEY-----\n"
        let b64 = Data(spki).base64EncodedString(options: [.lineLength64Characters, .endLineWithLineFeed])
        pem += b64 + "\n-----END PUBLIC KEY-----\n"
        for secret in [Array(pem.utf8), spki] {
            for kid in ["rs", "es"] {
                let input =
                    Base64URL.encode(Array("{\"alg\":\"HS256\",\"kid\":\"\(kid)\",\"typ\":\"JWT\"}".utf8)) + "."
                    + Base64URL.encode(payload)
                let token = input + "." + Base64URL.encode(hmacSHA256(key: secret, message: Array(input.utf8)))
                expect(throwsCode: .algorithmNotAllowed) { _ = try ring.verify(token) }
            }
        }
    }

    @Test func rejectsAlgorithmThatIsNotTheKeys() throws {
        // ES256 header naming the Ed25519 key, signed by that key.
        let forged = try forgeToken(header: "{\"alg\":\"ES256\",\"kid\":\"ed\"}", payload: payload, key: ring.edDSA)
        expect(throwsCode: .algorithmNotAllowed) { _ = try ring.verify(forged) }
        // ES256 header naming the Ed25519 key, signed with the ES256 key.
        let forged2 = try forgeToken(header: "{\"alg\":\"ES256\",\"kid\":\"ed\"}", payload: payload, key: ring.es256)
        expect(throwsCode: .algorithmNotAllowed) { _ = try ring.verify(forged2) }
        // RS256 header on the RSA key, but the caller allows only ES256.
        let token = try JWS.sign(header: ["typ": "JWT"], payload: payload, key: ring.rs256, kid: "rs")
        expect(throwsCode: .algorithmNotAllowed) { _ = try ring.verify(token, allowed: [.es256]) }
        // Unknown and HMAC/PS variants.
        for alg in ["HS512", "PS256", "ES384", "es256", "RS512", ""] {
            let t = try forgeToken(header: "{\"alg\":\"\(alg)\",\"kid\":\"es\"}", payload: payload, key: ring.es256)
            expect(throwsCode: .algorithmNotAllowed, "\(alg)") { _ = try ring.verify(t) }
        }
    }

    @Test func rejectsUnknownOrMissingKid() throws {
        let token = try JWS.sign(header: ["typ": "JWT"], payload: payload, key: ring.es256, kid: "other")
        expect(throwsCode: .unknownKey) { _ = try ring.verify(token) }
        let noKid = try forgeToken(header: "{\"alg\":\"ES256\"}", payload: payload, key: ring.es256)
        expect(throwsCode: .unknownKey) { _ = try ring.verify(noKid) }
        let numericKid = try forgeToken(header: "{\"alg\":\"ES256\",\"kid\":1}", payload: payload, key: ring.es256)
        expect(throwsCode: .unknownKey) { _ = try ring.verify(numericKid) }
    }

    @Test func rejectsEmbeddedKeysAndCrit() throws {
        let jwk = try ring.es256.publicKey().jwk(kid: "es")
        let embedded = String(decoding: jwk.jsonBytes(), as: UTF8.self)
        for extra in [
            "\"jwk\":\(embedded)", "\"jku\":\"https://attacker.example/jwks\"", "\"x5u\":\"https://a.example/c\"",
            "\"x5c\":[\"MIIB\"]", "\"crit\":[\"exp\"]",
        ] {
            let t = try forgeToken(
                header: "{\"alg\":\"ES256\",\"kid\":\"es\",\(extra)}", payload: payload, key: ring.es256)
            expect(throwsCode: .unsupportedHeader, "\(extra)") { _ = try ring.verify(t) }
        }
    }

    @Test func rejectsMalformedTokens() throws {
        let token = try JWS.sign(header: ["typ": "JWT"], payload: payload, key: ring.es256, kid: "es")
        let parts = token.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        let malformed = [
            parts[0] + "." + parts[1],  // 2 segments
            token + "." + parts[2],  // 4 segments
            token + ".",  // 4, last empty
            "",
            "..",
            parts[0] + "=." + parts[1] + "." + parts[2],  // padding
            parts[0] + "." + parts[1] + "." + parts[2] + "=",
            parts[0] + "." + parts[1].replacingOccurrences(of: "e", with: "+") + "." + parts[2],
            parts[0] + " ." + parts[1] + "." + parts[2],
            Base64URL.encode(Array("[1]".utf8)) + "." + parts[1] + "." + parts[2],  // header not an object
            Base64URL.encode(Array("{\"alg\":\"ES256\"".utf8)) + "." + parts[1] + "." + parts[2],  // bad JSON
            Base64URL.encode(Array("{\"alg\":1,\"kid\":\"es\"}".utf8)) + "." + parts[1] + "." + parts[2],
        ]
        for t in malformed {
            expect(throwsCode: .malformedToken, "\(t)") { _ = try ring.verify(t) }
        }
        // Oversized: a valid signature over a huge payload is refused before decoding.
        let big = try JWS.sign(
            header: ["typ": "JWT"], payload: [UInt8](repeating: 0x41, count: JWS.maximumTokenLength), key: ring.es256,
            kid: "es")
        expect(throwsCode: .malformedToken) { _ = try ring.verify(big) }
    }

    @Test func rejectsDuplicateMemberNames() throws {
        for header in [
            "{\"alg\":\"ES256\",\"kid\":\"es\",\"alg\":\"none\"}",
            "{\"alg\":\"ES256\",\"kid\":\"es\",\"\\u006bid\":\"ed\"}",
            "{\"alg\":\"ES256\",\"kid\":\"es\",\"x\":{\"a\":1,\"a\":2}}",
        ] {
            let t = try forgeToken(header: header, payload: payload, key: ring.es256)
            expect(throwsCode: .malformedToken, "\(header)") { _ = try ring.verify(t) }
        }
        // The same name in sibling objects, or as a string value, is fine.
        let fine = try forgeToken(
            header: "{\"alg\":\"ES256\",\"kid\":\"es\",\"a\":{\"kid\":\"alg\"},\"b\":[{\"kid\":1},{\"kid\":2}]}",
            payload: payload, key: ring.es256)
        #expect(throws: Never.self) { try ring.verify(fine) }
        let claims = Array("{\"iss\":\"a\",\"sub\":\"ada\",\"sub\":\"root\",\"exp\":1}".utf8)
        expect(throwsCode: .malformedToken) { _ = try JWTClaims(decoding: claims) }
    }

    @Test func deeplyNestedHeaderIsRefusedWithoutCrashing() throws {
        let depth = 5000
        let nested = String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
        let t = try forgeToken(
            header: "{\"alg\":\"ES256\",\"kid\":\"es\",\"x\":\(nested)}", payload: payload, key: ring.es256)
        expect(throwsCode: .malformedToken) { _ = try ring.verify(t) }
    }

    @Test func rejectsTampering() throws {
        let token = try JWS.sign(header: ["typ": "JWT"], payload: payload, key: ring.es256, kid: "es")
        let parts = token.split(separator: ".").map(String.init)
        let tamperedPayload = parts[0] + "." + Base64URL.encode(Array("{\"sub\":\"eve\"}".utf8)) + "." + parts[2]
        expect(throwsCode: .badSignature) { _ = try ring.verify(tamperedPayload) }
        var signature = try Base64URL.decode(parts[2])
        signature[0] ^= 0x01
        expect(throwsCode: .badSignature) {
            _ = try ring.verify(parts[0] + "." + parts[1] + "." + Base64URL.encode(signature))
        }
        // Signature from another ES256 key.
        let other = try SigningKey.generate(.es256)
        let foreign = try JWS.sign(header: ["typ": "JWT"], payload: payload, key: other, kid: "es")
        expect(throwsCode: .badSignature) { _ = try ring.verify(foreign) }
        // DER-encoded ECDSA signature instead of R‖S.
        let der = try #require(ECDSASignature.der(fromRaw: try Base64URL.decode(parts[2])))
        expect(throwsCode: .badSignature) {
            _ = try ring.verify(parts[0] + "." + parts[1] + "." + Base64URL.encode(der))
        }
    }
}

@Suite struct ConcurrentUseTests {
    /// One key shared by many tasks: every token verifies (EVP_PKEY shared read-only across threads).
    @Test func concurrentSigningAndVerifying() async throws {
        let ring = KeyRing.shared
        let results = try await withThrowingTaskGroup(of: Bool.self) { group in
            for index in 0..<64 {
                group.addTask {
                    let (kid, key) = [("es", ring.es256), ("ed", ring.edDSA), ("rs", ring.rs256)][index % 3]
                    let payload = Array("{\"n\":\(index)}".utf8)
                    let token = try JWS.sign(header: ["typ": "JWT"], payload: payload, key: key, kid: kid)
                    return try ring.verify(token).payload == payload
                }
            }
            return try await group.reduce(into: [Bool]()) { $0.append($1) }
        }
        #expect(results.count == 64 && results.allSatisfy { $0 })
    }

    /// More threads than a key has reusable signing contexts: contexts are never shared between two
    /// signatures at once (the overflow gets temporary ones), so every signature verifies.
    @Test func moreThreadsThanSigningContexts() throws {
        let keys = [try SigningKey.generate(.es256), try SigningKey.generate(.rs256)]
        let threads = PrehashSigner.slotCount * 2
        let failures = Atomic<Int>(0)
        let done = DispatchGroup()
        for index in 0..<threads {
            done.enter()
            Thread {
                defer { done.leave() }
                let key = keys[index % keys.count]
                guard let publicKey = try? key.publicKey() else {
                    failures.add(1, ordering: .relaxed)
                    return
                }
                for round in 0..<(key.algorithm == .rs256 ? 5 : 40) {
                    let message = Array("thread \(index) round \(round)".utf8)
                    guard let signature = try? key.sign(message),
                        publicKey.verify(signature: signature, message: message)
                    else {
                        failures.add(1, ordering: .relaxed)
                        return
                    }
                }
            }.start()
        }
        done.wait()
        #expect(failures.load(ordering: .relaxed) == 0)
    }
}

@Suite struct PreparedHeaderTests {
    @Test func signingUnderAPreparedHeaderEqualsSigningWithTheHeader() throws {
        let key = try SigningKey.generate(.es256)
        let header = try JWS.encodedHeader(["typ": "at+jwt"], key: key, kid: "k1")
        let token = try JWS.sign(encodedHeader: header, payload: Array(#"{"sub":"x"}"#.utf8), key: key)
        let direct = try JWS.sign(header: ["typ": "at+jwt"], payload: Array(#"{"sub":"x"}"#.utf8), key: key, kid: "k1")
        #expect(token.split(separator: ".")[0] == direct.split(separator: ".")[0])
        let verified = try JWS.verify(
            token, keys: { $0 == "k1" ? try? key.publicKey() : nil }, allowedAlgorithms: [.es256],
            requiredType: "at+jwt")
        #expect(verified.kid == "k1" && verified.payload == Array(#"{"sub":"x"}"#.utf8))
        #expect(throws: CryptoError.self) { try JWS.encodedHeader(["typ": "JWT", "alg": "none"], key: key, kid: "k1") }
    }
}
