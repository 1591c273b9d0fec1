import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A server process a test owns (slapd, krb5kdc): started in the foreground, ended with SIGKILL,
/// because Foundation starts children with the calling thread's signal mask, in which the test runner
/// blocks SIGTERM (the server would never see it). Its data is thrown away anyway.
final class OwnedProcess: Sendable {
    private let current = Mutex<Process?>(nil)

    /// Starts `executable` and waits until every port accepts connections (10 s at most). False when
    /// it exits first (a port taken meanwhile, say) or never listens.
    func start(_ executable: String, _ arguments: [String], environment: [String: String] = [:], ports: [Int])
        async throws -> Bool
    {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        process.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
        process.standardError = FileHandle(forWritingAtPath: "/dev/null")
        try process.run()
        for _ in 0..<200 {
            if ports.allSatisfy(canConnect) {
                current.withLock { $0 = process }
                return true
            }
            guard process.isRunning else { return false }
            try await Task.sleep(for: .milliseconds(50))
        }
        Glibc.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        return false
    }

    /// Kills the process (clients' connections break); its files stay.
    func kill() {
        current.withLock { process in
            guard let running = process else { return }
            if running.isRunning { Glibc.kill(running.processIdentifier, SIGKILL) }
            running.waitUntilExit()
            process = nil
        }
    }
}

/// Runs a set-up program (slapadd, kdb5_util, openssl…) and throws its output when it fails.
func runSetUp(_ path: String, _ arguments: [String], environment: [String: String] = [:]) throws {
    let (status, output) = try runToEnd(path, arguments, environment: environment)
    guard status == 0 else { throw DirectoryTestFailure("\(path) failed: \(output)") }
}
