import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A real MIT Kerberos KDC for one test: a realm created with `kdb5_util` in a temporary directory,
/// principals and a service keytab made with `kadmin.local`, and `krb5kdc` in the foreground on a free
/// loopback port (UDP and TCP). `make test` installs Debian's krb5-kdc, krb5-admin-server and krb5-user.
public final class TestKDC: Sendable {
    public static let realm = "EXAMPLE.COM"
    public static let servicePrincipal = "HTTP/localhost@EXAMPLE.COM"

    public let directory: String
    public let port: Int
    /// A krb5.conf that points clients at this KDC.
    public let configFile: String
    /// The keytab with the service principal's key.
    public let keytab: String
    private let server: OwnedProcess

    private init(directory: String, port: Int, server: OwnedProcess) {
        self.directory = directory
        self.port = port
        self.configFile = directory + "/krb5.conf"
        self.keytab = directory + "/service.keytab"
        self.server = server
    }

    /// A realm with `people` (name → password: letters, digits and `-` only, as kadmin's command line
    /// takes them) and the service principal, served by a new KDC.
    public static func start(people: [String: String]) async throws -> TestKDC {
        let directory = NSTemporaryDirectory() + "tessera-kdc-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        for _ in 0..<3 {
            let port = try freePort()
            try """
            [libdefaults]
              default_realm = \(realm)
              dns_lookup_kdc = false
              dns_lookup_realm = false
              rdns = false
            [realms]
              \(realm) = {
                kdc = 127.0.0.1:\(port)
              }
            """.write(toFile: directory + "/krb5.conf", atomically: true, encoding: .utf8)
            try """
            [kdcdefaults]
              kdc_ports = \(port)
              kdc_tcp_ports = \(port)
            [realms]
              \(realm) = {
                database_name = \(directory)/principal
                key_stash_file = \(directory)/stash
                acl_file = \(directory)/kadm5.acl
                kdc_ports = \(port)
                kdc_tcp_ports = \(port)
              }
            [logging]
              kdc = FILE:\(directory)/kdc.log
            """.write(toFile: directory + "/kdc.conf", atomically: true, encoding: .utf8)
            let environment = [
                "KRB5_CONFIG": directory + "/krb5.conf", "KRB5_KDC_PROFILE": directory + "/kdc.conf",
            ]
            if !FileManager.default.fileExists(atPath: directory + "/principal") {
                try runSetUp(
                    "/usr/sbin/kdb5_util", ["create", "-s", "-r", realm, "-P", "master-\(UUID().uuidString)"],
                    environment: environment)
                for (name, password) in people.sorted(by: { $0.key < $1.key }) {
                    try runSetUp(
                        "/usr/sbin/kadmin.local", ["-q", "addprinc -pw \(password) \(name)"], environment: environment)
                }
                try runSetUp(
                    "/usr/sbin/kadmin.local", ["-q", "addprinc -randkey \(servicePrincipal)"], environment: environment)
                try runSetUp(
                    "/usr/sbin/kadmin.local", ["-q", "ktadd -k \(directory)/service.keytab \(servicePrincipal)"],
                    environment: environment)
            }
            let server = OwnedProcess()
            if try await server.start(
                "/usr/sbin/krb5kdc", ["-n", "-P", directory + "/kdc.pid"], environment: environment, ports: [port])
            {
                return TestKDC(directory: directory, port: port, server: server)
            }
        }
        try? FileManager.default.removeItem(atPath: directory)
        throw DirectoryTestFailure("krb5kdc did not start listening on loopback")
    }

    /// Kills the KDC, keeping its files.
    public func kill() { server.kill() }

    /// Ends the KDC and removes its files.
    public func stop() {
        kill()
        try? FileManager.default.removeItem(atPath: directory)
    }
}
