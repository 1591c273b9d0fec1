import Foundation
import TesseraCore
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
        // A keytab that is gone, or lacks the service's key, is ours to fix: never "wrong password".
        let server = try await TestKDC.start(people: Self.people)
        defer { server.stop() }
        let missingKeytab = try self.verifier(server, keytab: "/nonexistent/service.keytab")
        let otherPrincipal = try KerberosVerifier(
            KerberosSettings(
                configFile: server.configFile, defaultRealm: TestKDC.realm, keytab: server.keytab,
                servicePrincipal: "host/elsewhere@EXAMPLE.COM"))
        let keytabKinds = try await blocking {
            [
                kerberosErrorKind { _ = try missingKeytab.verify(name: "jane", password: "jane-long-passphrase-1") },
                kerberosErrorKind { _ = try otherPrincipal.verify(name: "jane", password: "jane-long-passphrase-1") },
            ]
        }
        #expect(keytabKinds == [.configuration, .configuration])
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

/// Kerberos checks the password, the LDAP directory describes the person.
@Suite struct KerberosDirectoryTests {
    @Test func theKDCChecksThePasswordAndTheDirectoryDescribesThePerson() async throws {
        let kdc = try await TestKDC.start(people: ["jane": "jane-kerberos-1", "ghost": "ghost-kerberos-2"])
        let ldap = try await TestDirectory.start()
        defer {
            kdc.stop()
            ldap.stop()
        }
        let directory = try KerberosDirectory(
            verifier: try KerberosVerifier(
                KerberosSettings(
                    configFile: kdc.configFile, defaultRealm: TestKDC.realm, keytab: kdc.keytab,
                    servicePrincipal: TestKDC.servicePrincipal)),
            people: .ldap(try LDAPDirectory(ldap.configuration())))
        #expect(directory.principal(for: "jane@appleid.example.com") == "jane@EXAMPLE.COM")
        #expect(directory.principal(for: "jane") == "jane@EXAMPLE.COM")
        #expect(directory.principal(for: "jane@OTHER.ORG") == "jane@OTHER.ORG")
        for name in ["jane", "jane@appleid.example.com", "jane@EXAMPLE.COM"] {
            let jane = try await directory.authenticate(name, password: "jane-kerberos-1")
            #expect(jane.source == .ldap && jane.managedID.rawValue == "jane@appleid.example.com")
            #expect(jane.roles == [.deviceEnrolmentManager, .staff] && jane.givenName == "Jane")
        }
        let refusals = [
            // Her LDAP password is not what Kerberos checks.
            await coreErrorKind {
                _ = try await directory.authenticate("jane", password: "correct horse battery staple")
            },
            // A principal with no directory entry.
            await coreErrorKind { _ = try await directory.authenticate("ghost", password: "ghost-kerberos-2") },
            await coreErrorKind { _ = try await directory.authenticate("jane@OTHER.ORG", password: "jane-kerberos-1") },
        ]
        #expect(refusals == [.unauthenticated, .unauthenticated, .unauthenticated])
        kdc.kill()
        #expect(
            await coreErrorKind { _ = try await directory.authenticate("jane", password: "jane-kerberos-1") }
                == .unavailable)
    }

    /// Without an LDAP directory, `name@DEFAULT.REALM` is the kerberos account `name@domain` (which an
    /// administrator creates: the identity does not describe the person). Only the default realm.
    @Test func withoutADirectoryThePrincipalNamesTheAccountByRule() async throws {
        let kdc = try await TestKDC.start(people: ["Jane.Doe": "jane-kerberos-1", "host/x": "host-kerberos-2"])
        defer { kdc.stop() }
        let domains = TestDirectory.managedDomains
        func verifier(allowing realms: [String] = []) throws -> KerberosVerifier {
            try KerberosVerifier(
                KerberosSettings(
                    configFile: kdc.configFile, defaultRealm: TestKDC.realm, allowedRealms: realms, keytab: kdc.keytab,
                    servicePrincipal: TestKDC.servicePrincipal))
        }
        let directory = try KerberosDirectory(
            verifier: try verifier(), people: .byRule(domain: "appleid.example.com", managedDomains: domains))
        #expect(directory.source == .kerberos)
        for name in ["Jane.Doe", "Jane.Doe@appleid.example.com", "Jane.Doe@EXAMPLE.COM"] {
            let jane = try await directory.authenticate(name, password: "jane-kerberos-1")
            #expect(jane.source == .kerberos && jane.managedID.rawValue == "jane.doe@appleid.example.com")
            #expect(jane.externalID == "Jane.Doe@EXAMPLE.COM" && !jane.describesPerson)
        }
        let refusals = [
            await coreErrorKind { _ = try await directory.authenticate("Jane.Doe", password: "wrong") },
            // A principal that is no managed ID's local part.
            await coreErrorKind { _ = try await directory.authenticate("host/x", password: "host-kerberos-2") },
        ]
        #expect(refusals == [.unauthenticated, .unauthenticated])
        // Other realms, and domains that are not managed, are configuration errors.
        #expect(throws: DirectoryError.self) {
            _ = try KerberosDirectory(
                verifier: try verifier(), people: .byRule(domain: "other.example.com", managedDomains: domains))
        }
        #expect(throws: DirectoryError.self) {
            _ = try KerberosDirectory(
                verifier: try verifier(allowing: ["EMEA.EXAMPLE.COM"]),
                people: .byRule(domain: "appleid.example.com", managedDomains: domains))
        }
    }

    /// The principal looked up in an attribute that holds it whole (here `mail`, which compares without
    /// case, standing in for Active Directory's userPrincipalName).
    @Test func thePrincipalCanBeLookedUpInAnAttributeThatHoldsItWhole() async throws {
        let kdc = try await TestKDC.start(people: ["jane": "jane-kerberos-1"])
        let ldap = try await TestDirectory.start()
        defer {
            kdc.stop()
            ldap.stop()
        }
        func directory(_ attribute: String) throws -> KerberosDirectory {
            try KerberosDirectory(
                verifier: try KerberosVerifier(
                    KerberosSettings(
                        configFile: kdc.configFile, defaultRealm: TestKDC.realm, keytab: kdc.keytab,
                        servicePrincipal: TestKDC.servicePrincipal, principalAttribute: attribute)),
                people: .ldap(try LDAPDirectory(ldap.configuration())))
        }
        // Another realm's jane is not the directory's jane unless an attribute holds her whole principal.
        let trusting = try KerberosDirectory(
            verifier: try KerberosVerifier(
                KerberosSettings(
                    configFile: kdc.configFile, defaultRealm: TestKDC.realm, allowedRealms: ["EMEA.EXAMPLE.COM"],
                    keytab: kdc.keytab, servicePrincipal: TestKDC.servicePrincipal)),
            people: .ldap(try LDAPDirectory(ldap.configuration())))
        #expect(
            await coreErrorKind { _ = try await trusting.identity(ofPrincipal: "jane@EMEA.EXAMPLE.COM") }
                == .unauthenticated)
        #expect(
            try await trusting.identity(ofPrincipal: "jane@EXAMPLE.COM").managedID.rawValue
                == "jane@appleid.example.com")
        let jane = try await directory("mail").authenticate("jane", password: "jane-kerberos-1")
        #expect(jane.managedID.rawValue == "jane@appleid.example.com")
        let none = await coreErrorKind {
            _ = try await directory("description").authenticate("jane", password: "jane-kerberos-1")
        }
        #expect(none == .unauthenticated)
    }
}
