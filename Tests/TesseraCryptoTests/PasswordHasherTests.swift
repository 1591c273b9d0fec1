import Testing

@testable import TesseraCrypto

@Suite struct ScryptKnownAnswerTests {
    // RFC 7914 §12.
    @Test func emptyPasswordAndSalt() throws {
        let key = try Scrypt.deriveKey(password: [], salt: [], n: 16, r: 1, p: 1, keyLength: 64)
        #expect(
            Hex.encode(key)
                == "77d6576238657b203b19ca42c18a0497f16b4844e3074ae8dfdffa3fede21442"
                + "fcd0069ded0948f8326a753a0fc81f17e8d3e0fb2e0d3628cf35e20c38d18906")
    }

    @Test func passwordNaCl() throws {
        let key = try Scrypt.deriveKey(
            password: Array("password".utf8), salt: Array("NaCl".utf8), n: 1024, r: 8, p: 16, keyLength: 64)
        #expect(
            Hex.encode(key)
                == "fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b373162"
                + "2eaf30d92e22a3886ff109279d9830dac727afb94a83ee6d8360cbdfa2cc0640")
    }

    @Test func pleaseLetMeIn() throws {
        let key = try Scrypt.deriveKey(
            password: Array("pleaseletmein".utf8), salt: Array("SodiumChloride".utf8), n: 16384, r: 8, p: 1,
            keyLength: 64)
        #expect(
            Hex.encode(key)
                == "7023bdcb3afd7348461c06cd81fd38ebfda8fbba904f8e3ea9b543f6545da1f2"
                + "d5432955613f0fcf62d49705242a9af9e61e85dc0d651e40dfcf017b45575887")
    }

    @Test func openSSLFailureCarriesReason() {
        // N must be a power of two: OpenSSL refuses, and the error says why.
        #expect {
            try Scrypt.deriveKey(password: [1], salt: [1], n: 1000, r: 8, p: 1, keyLength: 32)
        } throws: { error in
            guard let error = error as? CryptoError else { return false }
            return error.code == .openSSLFailure && error.message.contains("EVP_KDF_derive")
        }
    }
}

@Suite struct PasswordHasherTests {
    static let fast = try! ScryptParameters(logN: 10, r: 8, p: 1)

    @Test func hashVerifyRoundTrip() async throws {
        let hasher = PasswordHasher(parameters: Self.fast)
        let phc = try await hasher.hash("correct horse battery staple")
        #expect(phc.hasPrefix("$scrypt$ln=10,r=8,p=1$"))
        let parts = phc.split(separator: "$", omittingEmptySubsequences: false)
        #expect(parts.count == 5)
        #expect(parts[3].count == 22)  // 16-byte salt, unpadded base64
        #expect(parts[4].count == 43)  // 32-byte hash, unpadded base64
        #expect(!parts[3].contains("=") && !parts[4].contains("="))
        #expect(try await hasher.verify("correct horse battery staple", against: phc) == .valid(needsRehash: false))
        #expect(try await hasher.verify("correct horse battery stable", against: phc) == .invalid)
        #expect(try await hasher.hash("same") != hasher.hash("same"))  // fresh salt each time
    }

    @Test func owaspParametersRoundTrip() async throws {
        let hasher = PasswordHasher()
        #expect(hasher.parameters == .owasp)
        let phc = try await hasher.hash("Tr0ub4dor&3")
        #expect(phc.hasPrefix("$scrypt$ln=17,r=8,p=1$"))
        #expect(try await hasher.verify("Tr0ub4dor&3", against: phc) == .valid(needsRehash: false))
    }

    @Test func knownPHCStringVerifies() async throws {
        // Built independently from RFC 7914's vector: ln=4 is below our bounds, so compute one at ln=10.
        let salt = Array("0123456789abcdef".utf8)
        let key = try Scrypt.deriveKey(password: Array("hunter2".utf8), salt: salt, n: 1024, r: 8, p: 1, keyLength: 32)
        let phc = "$scrypt$ln=10,r=8,p=1$MDEyMzQ1Njc4OWFiY2RlZg$" + Base64Alphabet.standard.encode(key)
        let hasher = PasswordHasher(parameters: Self.fast)
        #expect(try await hasher.verify("hunter2", against: phc) == .valid(needsRehash: false))
    }

    @Test func needsRehashWhenParametersChange() async throws {
        let old = PasswordHasher(parameters: Self.fast)
        let phc = try await old.hash("s3cret-passphrase")
        let stronger = PasswordHasher(parameters: try ScryptParameters(logN: 11, r: 8, p: 1))
        #expect(try await stronger.verify("s3cret-passphrase", against: phc) == .valid(needsRehash: true))
        #expect(try await stronger.verify("wrong", against: phc) == .invalid)
        let longerSalt = PasswordHasher(parameters: try ScryptParameters(logN: 10, r: 8, p: 1, saltLength: 32))
        #expect(try await longerSalt.verify("s3cret-passphrase", against: phc) == .valid(needsRehash: true))
    }

    @Test func unicodeIsNormalisedToNFC() async throws {
        let hasher = PasswordHasher(parameters: Self.fast)
        let phc = try await hasher.hash("caf\u{E9}")
        #expect(try await hasher.verify("cafe\u{301}", against: phc) == .valid(needsRehash: false))
    }

    @Test func rejectsEmptyAndOverlongPasswords() async throws {
        let hasher = PasswordHasher(parameters: Self.fast)
        await #expect { try await hasher.hash("") } throws: { ($0 as? CryptoError)?.code == .emptyPassword }
        let tooLong = String(repeating: "a", count: 1025)
        await #expect { try await hasher.hash(tooLong) } throws: { ($0 as? CryptoError)?.code == .passwordTooLong }
        let huge = String(repeating: "é", count: 100_000)
        await #expect { try await hasher.hash(huge) } throws: { ($0 as? CryptoError)?.code == .passwordTooLong }
        let phc = try await hasher.hash(String(repeating: "a", count: 1024))
        await #expect { try await hasher.verify(tooLong, against: phc) } throws: {
            ($0 as? CryptoError)?.code == .passwordTooLong
        }
        await #expect { try await hasher.verify("", against: phc) } throws: {
            ($0 as? CryptoError)?.code == .emptyPassword
        }
    }

    static let salt = "MDEyMzQ1Njc4OWFiY2RlZg"  // 16 bytes
    static let hash = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"  // 32 bytes

    @Test(arguments: [
        "",
        "$scrypt$",
        "scrypt$ln=10,r=8,p=1$\(salt)$\(hash)",
        "$scrypt$ln=40,r=8,p=1$\(salt)$\(hash)",  // absurd cost
        "$scrypt$ln=9,r=8,p=1$\(salt)$\(hash)",  // below minimum
        "$scrypt$ln=23,r=8,p=1$\(salt)$\(hash)",  // above maximum
        "$scrypt$ln=22,r=32,p=1$\(salt)$\(hash)",  // each in range, 16 GiB together
        "$scrypt$ln=17,r=8,p=99$\(salt)$\(hash)",
        "$scrypt$ln=17,r=0,p=1$\(salt)$\(hash)",
        "$scrypt$ln=-1,r=8,p=1$\(salt)$\(hash)",
        "$scrypt$ln=010,r=8,p=1$\(salt)$\(hash)",  // non-canonical decimal
        "$scrypt$ln=99999999999999999999,r=8,p=1$\(salt)$\(hash)",
        "$scrypt$r=8,ln=10,p=1$\(salt)$\(hash)",  // order
        "$scrypt$ln=10,r=8$\(salt)$\(hash)",  // missing p
        "$scrypt$ln=10,r=8,p=1,x=2$\(salt)$\(hash)",
        "$scrypt$ln=10,r=8,p=1$\(hash)",  // missing salt
        "$scrypt$ln=10,r=8,p=1$\(salt)$",  // empty hash
        "$scrypt$ln=10,r=8,p=1$\(salt)$\(hash)$",
        "$scrypt$ln=10,r=8,p=1$\(salt)==$\(hash)",  // padding
        "$scrypt$ln=10,r=8,p=1$MDEy*zQ1Njc4OWFiY2RlZg$\(hash)",  // bad base64
        "$scrypt$ln=10,r=8,p=1$MDEyMzQ1Njc4OWFiY2RlZg-_$\(hash)",  // base64url alphabet
        "$scrypt$ln=10,r=8,p=1$MDEy$\(hash)",  // 3-byte salt
        "$scrypt$ln=10,r=8,p=1$\(salt)$AAAA",  // 3-byte hash
        "$scrypt$ln=10,r=8,p=1$\(String(repeating: "A", count: 200))$\(hash)",  // huge salt
        "$scrypt$ln=10,r=8,p=1$\(salt)$\(String(repeating: "A", count: 100_000))",  // huge hash
        "$argon2id$v=19$m=65536,t=3,p=4$\(salt)$\(hash)",
        " $scrypt$ln=10,r=8,p=1$\(salt)$\(hash)",
    ])
    func rejectsMalformedOrHostilePHC(_ phc: String) async throws {
        let hasher = PasswordHasher(parameters: Self.fast)
        await #expect {
            try await hasher.verify("password", against: phc)
        } throws: { error in
            (error as? CryptoError)?.code == .malformedPasswordHash
        }
    }

    @Test func wellFormedTemplateParses() throws {
        let parsed = try PHCString(parsing: "$scrypt$ln=10,r=8,p=1$\(Self.salt)$\(Self.hash)")
        #expect(parsed.parameters == Self.fast)
        #expect(parsed.salt == Array("0123456789abcdef".utf8))
        #expect(parsed.encoded == "$scrypt$ln=10,r=8,p=1$\(Self.salt)$\(Self.hash)")
    }

    @Test func parameterBounds() {
        #expect(throws: CryptoError.self) { try ScryptParameters(logN: 9, r: 8, p: 1) }
        #expect(throws: CryptoError.self) { try ScryptParameters(logN: 22, r: 32, p: 16) }
        #expect(throws: CryptoError.self) { try ScryptParameters(logN: 17, r: 8, p: 1, keyLength: 8) }
        #expect(ScryptParameters.owasp.logN == 17 && ScryptParameters.owasp.r == 8 && ScryptParameters.owasp.p == 1)
        #expect(ScryptParameters.owasp.keyLength == 32 && ScryptParameters.owasp.saltLength == 16)
    }

    @Test func concurrentHashesAllVerify() async throws {
        let hasher = PasswordHasher(parameters: Self.fast, maxConcurrentHashes: 2)
        try await withThrowingTaskGroup(of: Bool.self) { group in
            for index in 0..<8 {
                group.addTask {
                    let phc = try await hasher.hash("password-\(index)")
                    return try await hasher.verify("password-\(index)", against: phc) == .valid(needsRehash: false)
                }
            }
            for try await ok in group { #expect(ok) }
        }
    }
}
