import Foundation
import Testing

@testable import TesseraCrypto

@Suite struct KeyEncryptionTests {
    @Test func sealOpenRoundTripAndFormat() throws {
        let kek = try KeyEncryption(key: SecureRandom.bytes(32))
        let secret = try SigningKey.generate(.es256).pkcs8DER()
        let kid = Array("2026-11-key-1".utf8)
        let sealed = try kek.seal(secret, associatedData: kid)
        #expect(sealed.count == 1 + 12 + secret.count + 16)
        #expect(sealed[0] == 1)
        #expect(try kek.open(sealed, associatedData: kid) == secret)
        #expect(try kek.seal(secret, associatedData: kid) != sealed)  // fresh nonce every time
        let empty = try kek.seal([], associatedData: [])
        #expect(try kek.open(empty, associatedData: []) == [])
    }

    @Test func tamperingWrongAssociatedDataAndWrongKeyFail() throws {
        let kek = try KeyEncryption(key: SecureRandom.bytes(32))
        let kid = Array("kid-1".utf8)
        let sealed = try kek.seal(Array("private key bytes".utf8), associatedData: kid)
        for index in [0, 1, 12, 13, sealed.count - 17, sealed.count - 1] {
            var tampered = sealed
            tampered[index] ^= 0x01
            expect(throwsCode: .decryptionFailed, "byte \(index)") { _ = try kek.open(tampered, associatedData: kid) }
        }
        expect(throwsCode: .decryptionFailed) { _ = try kek.open(Array(sealed.dropLast()), associatedData: kid) }
        expect(throwsCode: .decryptionFailed) { _ = try kek.open(Array(sealed.prefix(28)), associatedData: kid) }
        expect(throwsCode: .decryptionFailed) { _ = try kek.open(sealed, associatedData: Array("kid-2".utf8)) }
        expect(throwsCode: .decryptionFailed) { _ = try kek.open(sealed, associatedData: []) }
        let other = try KeyEncryption(key: SecureRandom.bytes(32))
        expect(throwsCode: .decryptionFailed) { _ = try other.open(sealed, associatedData: kid) }
        expect(throwsCode: .invalidParameters) { _ = try KeyEncryption(key: SecureRandom.bytes(31)) }
    }

    @Test func kekFileForms() throws {
        let directory = try TemporaryDirectory()
        let key = SecureRandom.bytes(32)
        let reference = try KeyEncryption(key: key)
        let sealed = try reference.seal(Array("x".utf8), associatedData: [])
        let forms: [[UInt8]] = [
            key,
            Array(Hex.encode(key).utf8),
            Array((Hex.encode(key).uppercased() + "\n").utf8),
            Array(Data(key).base64EncodedString().utf8),
            Array((Data(key).base64EncodedString() + "\n").utf8),
        ]
        for (index, contents) in forms.enumerated() {
            let path = try directory.write(contents, to: "kek-\(index)", mode: index == 1 ? 0o400 : 0o600)
            let loaded = try KeyEncryption(kekFile: path)
            #expect(try loaded.open(sealed, associatedData: []) == Array("x".utf8), "form \(index)")
        }
    }

    @Test func kekFilePermissionsAndContents() throws {
        let directory = try TemporaryDirectory()
        let key = SecureRandom.bytes(32)
        for mode in [0o644, 0o640, 0o604, 0o660, 0o610] {
            let path = try directory.write(key, to: "kek-\(mode)", mode: mode)
            expect(throwsCode: .insecureKeyFile, "mode \(String(mode, radix: 8))") {
                _ = try KeyEncryption(kekFile: path)
            }
        }
        expect(throwsCode: .insecureKeyFile) { _ = try KeyEncryption(kekFile: directory.url.path) }
        expect(throwsCode: .invalidKeyFile) { _ = try KeyEncryption(kekFile: directory.path("missing")) }
        let bad: [[UInt8]] = [
            [],
            SecureRandom.bytes(31),
            SecureRandom.bytes(32) + [0x00],  // not a trailing newline, which text forms may have
            SecureRandom.bytes(100),
            Array(String(repeating: "zz", count: 32).utf8),  // 64 chars, not hex
            Array(Hex.encode(key).dropLast(2).utf8),  // 62 hex chars
            Array(Data(key + [0]).base64EncodedString().utf8),  // 44 chars, 33 bytes
            Array((Hex.encode(key) + "\n\n").utf8),
            Array(Data(key).base64EncodedString().replacingOccurrences(of: "=", with: "A").utf8),
        ]
        for (index, contents) in bad.enumerated() {
            let path = try directory.write(contents, to: "bad-\(index)")
            expect(throwsCode: .invalidKeyFile, "case \(index)") { _ = try KeyEncryption(kekFile: path) }
        }
    }
}
