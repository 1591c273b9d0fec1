import Foundation
import TesseraTestSupport
import Testing

@testable import TesseraDirectory

/// The `DirectoryError.Kind` a call throws, or nil.
func kerberosErrorKind(_ body: () throws -> Void) -> DirectoryError.Kind? {
    do {
        try body()
        return nil
    } catch let error as DirectoryError {
        return error.kind
    } catch {
        return nil
    }
}

@Suite struct KerberosVerifierTests {
    static let people = ["jane": "jane-long-passphrase-1", "john": "john-long-passphrase-2"]

    func verifier(_ kdc: TestKDC, keytab: String? = nil, allowed: [String] = []) throws -> KerberosVerifier {
        try KerberosVerifier(
            KerberosSettings(
                configFile: kdc.configFile, defaultRealm: TestKDC.realm, allowedRealms: allowed,
                keytab: keytab ?? kdc.keytab, servicePrincipal: TestKDC.servicePrincipal))
    }

    @Test func passwordsAreCheckedAndTheKDCProvesItselfWithTheKeytab() async throws {
        let kdc = try await TestKDC.start(people: Self.people)
        defer { kdc.stop() }
        let verifier = try verifier(kdc)
        let results = try await blocking {
            [
                try verifier.verify(name: "jane", password: "jane-long-passphrase-1"),
                try verifier.verify(name: "john@EXAMPLE.COM", password: "john-long-passphrase-2"),
            ]
        }
        #expect(results == ["jane@EXAMPLE.COM", "john@EXAMPLE.COM"])
        let refusals = try await blocking {
            [
                kerberosErrorKind { _ = try verifier.verify(name: "jane", password: "wrong") },
                kerberosErrorKind { _ = try verifier.verify(name: "jane", password: "") },
                kerberosErrorKind { _ = try verifier.verify(name: "nobody", password: "jane-long-passphrase-1") },
                kerberosErrorKind {
                    _ = try verifier.verify(name: "jane@OTHER.ORG", password: "jane-long-passphrase-1")
                },
            ]
        }
        #expect(refusals == [.rejected, .rejected, .rejected, .rejected])
    }

    /// A KDC that does not hold the service's key cannot vouch for anyone, even with the right
    /// password: here a second realm of the same name, as an attacker who answers for the KDC would run.
    @Test func aKDCWithoutTheServiceKeyIsNotBelieved() async throws {
        let genuine = try await TestKDC.start(people: Self.people)
        let impostor = try await TestKDC.start(people: Self.people)
        defer {
            genuine.stop()
            impostor.stop()
        }
        // The impostor knows the password (so initial credentials succeed) but not the genuine key.
        let own = try verifier(impostor)
        let fooled = try verifier(impostor, keytab: genuine.keytab)
        let (ownResult, kind) = try await blocking {
            (
                try own.verify(name: "jane", password: "jane-long-passphrase-1"),
                kerberosErrorKind { _ = try fooled.verify(name: "jane", password: "jane-long-passphrase-1") }
            )
        }
        #expect(ownResult == "jane@EXAMPLE.COM" && kind == .rejected)
    }

    @Test func anUnreachableKDCIsUnavailableAndBadSettingsAreConfiguration() async throws {
        let kdc = try await TestKDC.start(people: Self.people)
        defer { kdc.stop() }
        let verifier = try verifier(kdc)
        kdc.kill()
        let down = try await blocking {
            kerberosErrorKind { _ = try verifier.verify(name: "jane", password: "jane-long-passphrase-1") }
        }
        #expect(down == .unavailable)
        let noConfig = try KerberosVerifier(
            KerberosSettings(
                configFile: "/nonexistent/krb5.conf", defaultRealm: TestKDC.realm, keytab: kdc.keytab,
                servicePrincipal: TestKDC.servicePrincipal))
        #expect(kerberosErrorKind { _ = try noConfig.verify(name: "jane", password: "x") } == .configuration)
        #expect(
            kerberosErrorKind {
                _ = try KerberosVerifier(
                    KerberosSettings(configFile: nil, defaultRealm: "", keytab: kdc.keytab, servicePrincipal: "x"))
            } == .configuration)
    }
}
