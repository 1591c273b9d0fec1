import Foundation
import Testing

@testable import TesseraCrypto

@Suite struct PaddedBase64Tests {
    @Test func encodesLikeFoundationAndDecodesBack() throws {
        for length in 0..<40 {
            let bytes = SecureRandom.bytes(length)
            let text = Base64.encode(bytes)
            #expect(text == Data(bytes).base64EncodedString())
            #expect(try Base64.decode(text) == bytes)
        }
    }
}

@Suite struct DigestTests {
    @Test func sha256OfABC() {
        #expect(
            SHA256.hexDigest(Array("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(Hex.encode(SHA256.hash("")) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    }

    @Test func hexRoundTripAndRejections() throws {
        let bytes: [UInt8] = [0x00, 0x01, 0xAB, 0xFF]
        #expect(Hex.encode(bytes) == "0001abff")
        #expect(try Hex.decode("0001ABff") == bytes)
        #expect(throws: CryptoError.self) { try Hex.decode("abc") }
        #expect(throws: CryptoError.self) { try Hex.decode("zz") }
    }
}

@Suite struct Base64URLTests {
    @Test func rfc4648Vectors() throws {
        let vectors = [
            "": "", "f": "Zg", "fo": "Zm8", "foo": "Zm9v", "foob": "Zm9vYg", "fooba": "Zm9vYmE", "foobar": "Zm9vYmFy",
        ]
        for (plain, encoded) in vectors {
            #expect(Base64URL.encode(Array(plain.utf8)) == encoded)
            #expect(try Base64URL.decode(encoded) == Array(plain.utf8))
        }
    }

    @Test func urlAlphabet() throws {
        let bytes: [UInt8] = [0xFB, 0xFF, 0xBF]
        #expect(Base64URL.encode(bytes) == "-_-_")
        #expect(try Base64URL.decode("-_-_") == bytes)
    }

    @Test func randomRoundTrips() throws {
        for length in 0..<70 {
            let bytes = SecureRandom.bytes(length)
            let encoded = Base64URL.encode(bytes)
            #expect(!encoded.contains("="))
            #expect(try Base64URL.decode(encoded) == bytes)
        }
    }

    @Test(arguments: [
        "Zg==",  // padding
        "Zm9v+",  // standard alphabet
        "Zm9v/w",  // standard alphabet
        "Zm9vY",  // impossible length (1 mod 4)
        "Z",  // impossible length
        "Zm 9v",  // whitespace
        "Zm9v\n",  // newline
        "Zh",  // non-zero trailing bits ("Zg" is canonical)
        "Zm9",  // non-zero trailing bits ("Zm8" is canonical)
        "Zm9vé",  // non-ASCII
    ])
    func rejectsInvalidInput(_ input: String) {
        #expect {
            try Base64URL.decode(input)
        } throws: { error in
            (error as? CryptoError)?.code == .invalidEncoding
        }
    }

    @Test func standardAlphabetForPHC() throws {
        #expect(Base64Alphabet.standard.encode([0xFB, 0xFF, 0xBF]) == "+/+/")
        #expect(throws: CryptoError.self) { try Base64Alphabet.standard.decode("-_-_") }
    }
}

@Suite struct RandomAndConstantTimeTests {
    @Test func randomBytesHaveRequestedLengthAndDiffer() {
        #expect(SecureRandom.bytes(0).isEmpty)
        let a = SecureRandom.bytes(32)
        let b = SecureRandom.bytes(32)
        #expect(a.count == 32)
        #expect(a != b)
    }

    @Test func tokenIsBase64URLWithoutPadding() throws {
        let token = SecureRandom.token(bytes: 32)
        #expect(token.count == 43)
        #expect(try Base64URL.decode(token).count == 32)
        #expect(SecureRandom.token() != SecureRandom.token())
    }

    @Test func uniformStaysInRangeAndCoversIt() {
        var seen = Set<Int>()
        for _ in 0..<2000 {
            let value = SecureRandom.uniform(below: 31)
            #expect((0..<31).contains(value))
            seen.insert(value)
        }
        #expect(seen.count == 31)
    }

    @Test func constantTimeEquals() {
        #expect(ConstantTime.equals([UInt8](), [UInt8]()))
        #expect(ConstantTime.equals([1, 2, 3] as [UInt8], [1, 2, 3] as [UInt8]))
        #expect(ConstantTime.equals(Array("secret".utf8), "secret".utf8))
        #expect(!ConstantTime.equals([1, 2, 3] as [UInt8], [1, 2, 4] as [UInt8]))
        #expect(!ConstantTime.equals([9, 2, 3] as [UInt8], [1, 2, 3] as [UInt8]))
        #expect(!ConstantTime.equals([1, 2, 3] as [UInt8], [1, 2] as [UInt8]))
        #expect(!ConstantTime.equals([1, 2] as [UInt8], [1, 2, 3] as [UInt8]))
        #expect(!ConstantTime.equals([UInt8](), [0] as [UInt8]))
        #expect(ConstantTime.equals([0, 1, 2, 3][1...] as ArraySlice<UInt8>, [1, 2, 3] as [UInt8]))
    }
}

@Suite struct TemporaryPasswordTests {
    @Test func shapeAndAlphabet() {
        let allowed = Set("23456789abcdefghjkmnpqrstuvwxyz")
        for _ in 0..<200 {
            let password = TemporaryPassword.generate()
            let groups = password.split(separator: "-", omittingEmptySubsequences: false)
            #expect(groups.count == 4)
            #expect(groups.allSatisfy { $0.count == 5 })
            #expect(groups.joined().allSatisfy { allowed.contains($0) })
            #expect(!password.contains { "0Oo1lIi".contains($0) })
        }
    }

    @Test func entropyIsAtLeast90Bits() {
        let bits =
            Double(TemporaryPassword.groupCount * TemporaryPassword.groupLength)
            * log2(Double(TemporaryPassword.alphabet.count))
        #expect(bits >= 90)
    }

    @Test func passwordsAreDistinct() {
        let passwords = (0..<1000).map { _ in TemporaryPassword.generate() }
        #expect(Set(passwords).count == passwords.count)
    }
}

@Suite struct StandardBase64Tests {
    @Test func decodesPaddedStandardBase64Strictly() throws {
        #expect(try Base64.decode("YWJj") == Array("abc".utf8))
        #expect(try Base64.decode("YWI=") == Array("ab".utf8))
        #expect(try Base64.decode("YQ==") == Array("a".utf8))
        #expect(try Base64.decode("") == [])
        #expect(try Base64.decode("+/+/") == [0xFB, 0xFF, 0xBF])
        for bad in ["YWI", "YQ=", "YQ===", "YW=j", "YW-_", "Y Q==", "YR=="] {
            #expect(throws: CryptoError.self, "\(bad)") { try Base64.decode(bad) }
        }
    }
}
