import Foundation
import TesseraCore
import Testing

/// A stand-in digest for the chain logic (the real SHA-256 is tested in TesseraCryptoTests and used by
/// the service tests): FNV-1a over the bytes, hex, padded to 64 characters.
func testDigest(_ bytes: [UInt8]) -> String {
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    for byte in bytes {
        hash ^= UInt64(byte)
        hash = hash &* 0x100_0000_01b3
    }
    let hex = String(hash, radix: 16)
    return String(repeating: "0", count: 64 - hex.count) + hex
}

@Suite struct AuditChainTests {
    func chain(_ count: Int) -> [AuditEntry] {
        var entries: [AuditEntry] = []
        for index in 0..<count {
            let record = AuditRecord(
                actor: .localOperator(unixUser: "root"), action: "account.create", targetType: "account",
                targetID: "id\(index)",
                targetName: "user\(index)@appleid.example.com", before: nil, after: "{\"n\":\(index)}")
            entries.append(
                AuditChain.entry(
                    for: record, at: Date(timeIntervalSince1970: Double(index)), after: entries.last,
                    sha256Hex: testDigest))
        }
        return entries
    }

    @Test func intactChainVerifies() {
        let entries = chain(5)
        #expect(entries.first?.previousHash == AuditChain.genesisHash)
        #expect(entries.map(\.sequence) == [1, 2, 3, 4, 5])
        #expect(AuditChain.verify(entries, after: nil, sha256Hex: testDigest) == nil)
        #expect(AuditChain.verify(Array(entries[2...]), after: entries[1], sha256Hex: testDigest) == nil)
    }

    @Test func alteredEntryIsDetected() {
        var entries = chain(5)
        entries[2].after = "{\"n\":99}"
        #expect(AuditChain.verify(entries, after: nil, sha256Hex: testDigest)?.sequence == 3)
    }

    @Test func rehashedEntryBreaksTheNextLink() {
        var entries = chain(5)
        entries[2].actor = "operator:mallory"
        entries[2].hash = testDigest(entries[2].canonicalBytes)
        let failure = AuditChain.verify(entries, after: nil, sha256Hex: testDigest)
        #expect(failure?.sequence == 4)
        #expect(failure?.reason.contains("previous-hash") == true)
    }

    @Test func removedOrReorderedEntriesAreDetected() {
        var entries = chain(5)
        entries.remove(at: 1)
        #expect(AuditChain.verify(entries, after: nil, sha256Hex: testDigest)?.sequence == 3)
        var swapped = chain(5)
        swapped.swapAt(1, 2)
        #expect(AuditChain.verify(swapped, after: nil, sha256Hex: testDigest) != nil)
    }

    @Test func canonicalEncodingSeparatesFields() {
        var a = chain(1)[0]
        var b = a
        a.actor = "ab"
        a.action = "c"
        b.actor = "a"
        b.action = "bc"
        #expect(a.canonicalBytes != b.canonicalBytes)
        a.before = nil
        b = a
        b.before = ""
        #expect(a.canonicalBytes != b.canonicalBytes)
    }

    @Test func snapshotsCarryNoSecret() throws {
        let policy = AccountPolicy(managedDomains: try ManagedDomains(["appleid.example.com"]))
        let account = try Account(
            id: "a1", managedID: ManagedAccountID(trusted: "jane@appleid.example.com"), givenName: "Jane",
            familyName: "Doe",
            roles: [.staff, .contentManager], source: .local, createdAt: Date(), updatedAt: Date()
        ).withTemporaryPassword(hash: "$scrypt$ln=17,r=8,p=1$c2FsdA$secret", at: Date(), policy: policy)
        let snapshot = account.auditSnapshot
        #expect(!snapshot.contains("scrypt") && !snapshot.contains("secret"))
        #expect(snapshot.contains("\"roles\":[\"content-manager\",\"staff\"]"))
        #expect(snapshot == account.auditSnapshot)
    }
}
