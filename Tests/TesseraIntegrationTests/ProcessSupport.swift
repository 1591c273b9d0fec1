import Foundation
import Synchronization
import Testing

/// The `tessera` executable built beside the test bundle.
let tesseraBinary: String = {
    let beside = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent(
        "tessera"
    ).path
    if FileManager.default.isExecutableFile(atPath: beside) { return beside }
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    return root.appendingPathComponent(".build/debug/tessera").path
}()

/// A scratch directory with a configuration for one test.
final class Scratch: Sendable {
    let path: String
    let config: String

    init(_ body: String = "") throws {
        path = NSTemporaryDirectory() + "tessera-it-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        config = path + "/tessera.json"
        try write(
            "tessera.json",
            """
            {
              "server": { "port": 0, "shutdown_grace_seconds": 5 },
              "store": { "sqlite": { "path": "\(path)/var/tessera.sqlite3" } },
              "passwords": { "scrypt_log_n": 10 },
              "oauth": { "key_encryption_key_file": "\(path)/var/kek" },
              \(body)
            }
            """)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    @discardableResult
    func write(_ name: String, _ text: String) throws -> String {
        let file = path + "/" + name
        try Data(text.utf8).write(to: URL(fileURLWithPath: file))
        return file
    }
}

/// The output of a finished command.
struct Finished {
    let status: Int32
    let out: String
    let err: String
}

/// Runs a command to completion (bounded by `timeout`), with `environment` added to ours.
func runCommand(
    _ executable: String, _ arguments: [String], environment: [String: String] = [:], timeout: Duration = .seconds(60)
) async throws -> Finished {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    if !environment.isEmpty { process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
    let out = Pipe()
    let err = Pipe()
    process.standardOutput = out
    process.standardError = err
    process.standardInput = FileHandle.nullDevice
    try process.run()
    let watchdog = Task {
        try await Task.sleep(for: timeout)
        process.terminate()
    }
    // Read both pipes to the end before waiting, so a full pipe cannot block the child.
    async let outData = readToEnd(out.fileHandleForReading)
    async let errData = readToEnd(err.fileHandleForReading)
    let (o, e) = await (outData, errData)
    process.waitUntilExit()
    watchdog.cancel()
    return Finished(
        status: process.terminationStatus, out: String(decoding: o, as: UTF8.self),
        err: String(decoding: e, as: UTF8.self))
}

/// Runs blocking work (pipe reads) on its own thread: blocking the cooperative pool, which has one
/// thread per core, would stall every other task of the test run.
func onThread<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
        Thread { continuation.resume(returning: work()) }.start()
    }
}

func readToEnd(_ handle: FileHandle) async -> Data {
    await onThread { handle.readDataToEndOfFile() }
}

/// A running `tessera serve`, with its stderr (the JSON log) collected line by line.
final class ServeProcess: Sendable {
    let process: Process
    private let log = LineLog()
    private let reader: Task<Void, Never>
    let port: Int

    init(config: String, environment: [String: String] = [:]) async throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tesseraBinary)
        process.arguments = ["serve", "--config", config]
        var env = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("TESSERA_") }
        env.merge(environment) { $1 }
        process.environment = env
        let err = Pipe()
        process.standardError = err
        process.standardOutput = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        try process.run()
        self.process = process
        let log = self.log
        let handle = err.fileHandleForReading
        reader = Task {
            await onThread {
                var buffer = Data()
                while true {
                    let chunk = handle.availableData
                    if chunk.isEmpty { break }
                    buffer.append(chunk)
                    while let newline = buffer.firstIndex(of: 0x0A) {
                        let line = String(decoding: buffer[buffer.startIndex..<newline], as: UTF8.self)
                        buffer.removeSubrange(buffer.startIndex...newline)
                        log.append(line)
                    }
                }
            }
        }
        let lines = log
        let found = try await Self.waitFor(timeout: .seconds(30)) {
            lines.all.first { $0.contains("\"msg\":\"listening\"") }
        }
        guard let found, let object = try JSONSerialization.jsonObject(with: Data(found.utf8)) as? [String: Any],
            let port = object["port"] as? Int
        else {
            process.terminate()
            throw ProcessFailure(message: "tessera serve did not start: \(log.all.joined(separator: "\n"))")
        }
        self.port = port
    }

    var lines: [String] { log.all }

    /// Log lines as JSON objects.
    var entries: [[String: Any]] {
        lines.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }

    func signal(_ number: Int32) { kill(process.processIdentifier, number) }

    /// Waits for the process to exit and returns its status.
    func waitForExit(timeout: Duration = .seconds(30)) async throws -> Int32 {
        let process = process
        _ = try await Self.waitFor(timeout: timeout) { process.isRunning ? nil : true }
        if process.isRunning {
            process.terminate()
            throw ProcessFailure(message: "tessera serve did not exit in time")
        }
        await reader.value
        return process.terminationStatus
    }

    deinit {
        if process.isRunning { process.terminate() }
    }

    /// Polls `check` until it returns a value or the time is up.
    static func waitFor<T>(timeout: Duration, _ check: () -> T?) async throws -> T? {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let value = check() { return value }
            try await Task.sleep(for: .milliseconds(20))
        }
        return check()
    }
}

final class LineLog: Sendable {
    private let lines = Mutex<[String]>([])
    func append(_ line: String) { lines.withLock { $0.append(line) } }
    var all: [String] { lines.withLock { $0 } }
}

struct ProcessFailure: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}

/// `curl` for one request; returns status code and body.
func curl(_ url: String, _ extra: [String] = []) async throws -> (status: Int, body: String) {
    let result = try await runCommand(
        "/usr/bin/curl", ["-sS", "--max-time", "10", "-o", "-", "-w", "\n%{http_code}"] + extra + [url])
    guard result.status == 0 else { throw ProcessFailure(message: "curl failed (\(result.status)): \(result.err)") }
    let lines = result.out.split(separator: "\n", omittingEmptySubsequences: false)
    return (Int(lines.last ?? "") ?? 0, lines.dropLast().joined(separator: "\n"))
}
