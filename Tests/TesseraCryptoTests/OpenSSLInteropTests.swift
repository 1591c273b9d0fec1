import Foundation
import Testing

@testable import TesseraCrypto

/// Keys and signatures exchanged with the `openssl` command line tool, both ways.
@Suite struct OpenSSLInteropTests {
    static func generateArguments(_ algorithm: SigningAlgorithm) -> [String] {
        switch algorithm {
        case .es256: ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"]
        case .edDSA: ["-algorithm", "ed25519"]
        case .rs256: ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"]
        }
    }

    @Test(arguments: SigningAlgorithm.allCases)
    func openSSLKeysAndSignatures(algorithm: SigningAlgorithm) throws {
        let dir = try TemporaryDirectory()
        let message = Array("interop: header.payload".utf8)
        _ = try dir.write(message, to: "msg")
        try openssl(["genpkey"] + Self.generateArguments(algorithm) + ["-out", dir.path("key.pem")])
        try openssl(["pkey", "-in", dir.path("key.pem"), "-pubout", "-out", dir.path("pub.pem")])
        try openssl([
            "pkcs8", "-topk8", "-nocrypt", "-outform", "DER", "-in", dir.path("key.pem"), "-out", dir.path("key.der"),
        ])

        // Their public key (PEM SPKI, as a client registers it), their signature, our verification.
        let pem = String(decoding: try dir.read("pub.pem"), as: UTF8.self)
        let publicKey = try VerificationKey(pem: pem)
        #expect(publicKey.algorithm == algorithm)
        #expect(throws: Never.self) { try VerificationKey(pem: pem, algorithm: algorithm) }
        for other in SigningAlgorithm.allCases where other != algorithm {
            expect(throwsCode: .invalidKey) { _ = try VerificationKey(pem: pem, algorithm: other) }
        }
        if algorithm == .edDSA {
            try openssl([
                "pkeyutl", "-sign", "-inkey", dir.path("key.pem"), "-rawin", "-in", dir.path("msg"), "-out",
                dir.path("their.sig"),
            ])
        } else {
            try openssl([
                "dgst", "-sha256", "-sign", dir.path("key.pem"), "-out", dir.path("their.sig"), dir.path("msg"),
            ])
        }
        var theirSignature = try dir.read("their.sig")
        if algorithm == .es256 { theirSignature = try ECDSASignature.raw(fromDER: theirSignature) }
        #expect(publicKey.verify(signature: theirSignature, message: message))
        #expect(!publicKey.verify(signature: theirSignature, message: message + [0x0A]))

        // Their private key (PKCS#8 DER), our signature, their verification.
        let signingKey = try SigningKey(pkcs8DER: dir.read("key.der"), algorithm: algorithm)
        var ourSignature = try signingKey.sign(message)
        if algorithm == .es256 { ourSignature = try #require(ECDSASignature.der(fromRaw: ourSignature)) }
        _ = try dir.write(ourSignature, to: "our.sig")
        let verifyArguments =
            algorithm == .edDSA
            ? [
                "pkeyutl", "-verify", "-pubin", "-inkey", dir.path("pub.pem"), "-rawin", "-in", dir.path("msg"),
                "-sigfile", dir.path("our.sig"),
            ]
            : ["dgst", "-sha256", "-verify", dir.path("pub.pem"), "-signature", dir.path("our.sig"), dir.path("msg")]
        #expect(try openssl(verifyArguments).output.contains("Verified"))
        // And a wrong message fails their verification too.
        _ = try dir.write(message + [0x0A], to: "msg")
        #expect(try openssl(verifyArguments, allowFailure: true).status != 0)
    }

    @Test(arguments: SigningAlgorithm.allCases)
    func ourKeysLoadInOpenSSL(algorithm: SigningAlgorithm) throws {
        let dir = try TemporaryDirectory()
        let key = try SigningKey.generate(algorithm)
        _ = try dir.write(try key.pkcs8DER(), to: "key.der")
        _ = try dir.write(try key.publicKey().subjectPublicKeyInfo(), to: "pub.der")
        let text = try openssl(["pkey", "-inform", "DER", "-in", dir.path("key.der"), "-noout", "-text"]).output
        switch algorithm {
        case .es256: #expect(text.contains("prime256v1") || text.contains("P-256"))
        case .edDSA: #expect(text.contains("ED25519"))
        case .rs256: #expect(text.contains("3072 bit"))
        }
        // openssl's public key from our private key is byte-identical to ours.
        try openssl([
            "pkey", "-inform", "DER", "-in", dir.path("key.der"), "-pubout", "-outform", "DER", "-out",
            dir.path("their-pub.der"),
        ])
        #expect(try dir.read("their-pub.der") == dir.read("pub.der"))
    }

    @Test func rejectsWeakOrForeignPEMKeys() throws {
        let dir = try TemporaryDirectory()
        for (name, arguments) in [
            ("rsa1024", ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:1024"]),
            ("p384", ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384"]),
            ("x25519", ["-algorithm", "X25519"]),
            ("ed448", ["-algorithm", "ed448"]),
        ] {
            try openssl(["genpkey"] + arguments + ["-out", dir.path("\(name).pem")])
            try openssl(["pkey", "-in", dir.path("\(name).pem"), "-pubout", "-out", dir.path("\(name).pub")])
            let pem = String(decoding: try dir.read("\(name).pub"), as: UTF8.self)
            expect(throwsCode: .invalidKey, "\(name)") { _ = try VerificationKey(pem: pem) }
            try openssl([
                "pkcs8", "-topk8", "-nocrypt", "-outform", "DER", "-in", dir.path("\(name).pem"), "-out",
                dir.path("\(name).der"),
            ])
            let der = try dir.read("\(name).der")
            for algorithm in SigningAlgorithm.allCases {
                expect(throwsCode: .invalidKey, "\(name) as \(algorithm)") {
                    _ = try SigningKey(pkcs8DER: der, algorithm: algorithm)
                }
            }
        }
        // A private key PEM, garbage and empty input are not public keys.
        let privatePEM = String(decoding: try dir.read("p384.pem"), as: UTF8.self)
        for bad in [privatePEM, "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", "", "hello"] {
            expect(throwsCode: .invalidKey) { _ = try VerificationKey(pem: bad) }
        }
    }

    /// A client registering a P-256 key in compressed point form still gets the fixed-width JWK.
    @Test func compressedP256PointExportsFullCoordinates() throws {
        let dir = try TemporaryDirectory()
        let a3 = try VerificationKey(jwk: JOSEVectorTests.a3Key)
        _ = try dir.write(try a3.subjectPublicKeyInfo(), to: "pub.der")
        try openssl([
            "pkey", "-pubin", "-inform", "DER", "-in", dir.path("pub.der"), "-ec_conv_form", "compressed",
            "-out", dir.path("compressed.pem"),
        ])
        let compressed = try VerificationKey(pem: String(decoding: try dir.read("compressed.pem"), as: UTF8.self))
        #expect(try compressed.subjectPublicKeyInfo().count < a3.subjectPublicKeyInfo().count)
        let jwk = try compressed.jwk(kid: "c")
        #expect(jwk["x"] == JOSEVectorTests.a3Key["x"] && jwk["y"] == JOSEVectorTests.a3Key["y"])
    }

    /// A JWS we issue is verified by `openssl` from nothing but our JWKS entry's PEM equivalent.
    @Test func jwsSignatureVerifiesWithOpenSSL() throws {
        let dir = try TemporaryDirectory()
        let key = try SigningKey.generate(.es256)
        let token = try JWS.sign(header: ["typ": "JWT"], payload: Array("{}".utf8), key: key, kid: "k")
        let parts = token.split(separator: ".").map(String.init)
        _ = try dir.write(Array((parts[0] + "." + parts[1]).utf8), to: "input")
        _ = try dir.write(try #require(ECDSASignature.der(fromRaw: Base64URL.decode(parts[2]))), to: "sig")
        // JWK → VerificationKey → SPKI DER, checked by openssl.
        let jwkKey = try VerificationKey(jwk: key.publicKey().jwk(kid: "k"))
        _ = try dir.write(try jwkKey.subjectPublicKeyInfo(), to: "pub.der")
        try openssl(["pkey", "-pubin", "-inform", "DER", "-in", dir.path("pub.der"), "-out", dir.path("pub.pem")])
        let result = try openssl([
            "dgst", "-sha256", "-verify", dir.path("pub.pem"), "-signature", dir.path("sig"), dir.path("input"),
        ])
        #expect(result.output.contains("Verified OK"))
    }
}
