import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A real OpenLDAP server for one test: Fixtures/ldap/slapd.conf.template and directory.ldif loaded
/// with `slapadd` into a temporary directory, a throwaway certificate (its own CA) made with the openssl
/// CLI, and `slapd` in the foreground on two free loopback ports (`ldap://` and `ldaps://`). `stop()`
/// ends it and removes everything. `make test` installs Debian's slapd and ldap-utils.
public final class TestDirectory: Sendable {
    public static let suffix = "dc=example,dc=com"
    public static let serviceDN = "cn=tessera,ou=services,dc=example,dc=com"
    public static let servicePassword = "service-secret"

    public let directory: String
    public let configuration: String
    public let port: Int
    public let tlsPort: Int
    /// The server's self-signed certificate, which is also the CA file clients trust.
    public let caFile: String
    private let server: OwnedProcess

    public var ldapURI: String { "ldap://127.0.0.1:\(port)" }
    public var ldapsURI: String { "ldaps://127.0.0.1:\(tlsPort)" }

    private init(
        directory: String, configuration: String, port: Int, tlsPort: Int, caFile: String, server: OwnedProcess
    ) {
        self.directory = directory
        self.configuration = configuration
        self.port = port
        self.tlsPort = tlsPort
        self.caFile = caFile
        self.server = server
    }

    public static func start() async throws -> TestDirectory {
        let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Fixtures/ldap")
        let directory = NSTemporaryDirectory() + "tessera-slapd-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory + "/data", withIntermediateDirectories: true)
        let certificate = directory + "/server-cert.pem"
        let key = directory + "/server-key.pem"
        try runSetUp(
            "/usr/bin/openssl",
            [
                "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-keyout", key, "-out",
                certificate, "-nodes", "-days", "1", "-subj", "/CN=localhost",
                "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
            ])
        let template = try String(contentsOf: fixtures.appendingPathComponent("slapd.conf.template"), encoding: .utf8)
        let configuration = directory + "/slapd.conf"
        try template.replacingOccurrences(of: "@DIR@", with: directory)
            .replacingOccurrences(of: "@CERTIFICATE@", with: certificate)
            .replacingOccurrences(of: "@KEY@", with: key)
            .write(toFile: configuration, atomically: true, encoding: .utf8)
        try runSetUp(
            "/usr/sbin/slapadd",
            ["-f", configuration, "-l", fixtures.appendingPathComponent("directory.ldif").path])
        // A port picked here may be taken by someone else before slapd binds it: try fresh ones then.
        for _ in 0..<3 {
            if let server = try await launch(directory: directory, configuration: configuration, caFile: certificate) {
                return server
            }
        }
        try? FileManager.default.removeItem(atPath: directory)
        throw DirectoryTestFailure("slapd did not start listening on loopback")
    }

    private static func launch(directory: String, configuration: String, caFile: String) async throws
        -> TestDirectory?
    {
        let (port, tlsPort) = (try freePort(), try freePort())
        let server = OwnedProcess()
        guard
            try await server.start("/usr/sbin/slapd", arguments(configuration, port, tlsPort), ports: [port, tlsPort])
        else { return nil }
        return TestDirectory(
            directory: directory, configuration: configuration, port: port, tlsPort: tlsPort, caFile: caFile,
            server: server)
    }

    /// -d 0: stay in the foreground (so the test owns the process) and log nothing.
    private static func arguments(_ configuration: String, _ port: Int, _ tlsPort: Int) -> [String] {
        ["-f", configuration, "-h", "ldap://127.0.0.1:\(port)/ ldaps://127.0.0.1:\(tlsPort)/", "-d", "0"]
    }

    /// Kills slapd (its clients' connections break) and starts it again on the same ports and data.
    public func restart() async throws {
        kill()
        for _ in 0..<3 {
            if try await server.start(
                "/usr/sbin/slapd", Self.arguments(configuration, port, tlsPort), ports: [port, tlsPort])
            {
                return
            }
            try await Task.sleep(for: .milliseconds(200))
        }
        throw DirectoryTestFailure("slapd did not start again on 127.0.0.1:\(port)")
    }

    /// Kills slapd, keeping its files (connections to it now fail).
    public func kill() { server.kill() }

    /// Ends slapd and removes its files.
    public func stop() {
        kill()
        try? FileManager.default.removeItem(atPath: directory)
    }
}

/// Runs a program to its end (blocking), with stdin empty and `environment` added to ours; its exit
/// status and its stdout and stderr.
public func runToEnd(_ path: String, _ arguments: [String], environment: [String: String] = [:]) throws -> (
    status: Int32, output: String
) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: path)
    process.arguments = arguments
    if !environment.isEmpty { process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    process.standardInput = FileHandle.nullDevice
    try process.run()
    let output = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: output, as: UTF8.self))
}

public struct DirectoryTestFailure: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// A loopback port nothing listens on at the moment (the kernel's pick for port 0).
public func freePort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw DirectoryTestFailure("socket failed") }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
            bind(fd, socketAddress, length) == 0 && getsockname(fd, socketAddress, &length) == 0
        }
    }
    guard bound else { throw DirectoryTestFailure("bind failed") }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// Whether something accepts TCP connections on the loopback port.
public func canConnect(_ port: Int) -> Bool {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { return false }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = UInt16(port).bigEndian
    return withUnsafePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
        }
    }
}
