import Foundation
import Synchronization
import TesseraTestSupport
import Testing

@testable import TesseraHTTP

#if canImport(Glibc)
    import Glibc
#endif

/// Runs blocking work on its own thread so socket waits never occupy the cooperative pool
/// (handlers under test run there).
func blocking<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        let thread = Thread {
            do { continuation.resume(returning: try body()) } catch { continuation.resume(throwing: error) }
        }
        thread.stackSize = 1 << 20
        thread.start()
    }
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// A server on 127.0.0.1, port 0, with a router for tests and captured access-log entries.
final class TestServer: Sendable {
    let server: HTTPServer
    let port: Int
    let metrics: HTTPMetrics
    let log: Locked<[AccessLogEntry]>
    let runTask: Task<Void, Never>

    init(
        router: Router = TestServer.defaultRouter(), configure: (inout HTTPServerConfiguration) -> Void = { _ in }
    ) throws {
        var configuration = HTTPServerConfiguration()
        configuration.port = 0
        configuration.eventLoopThreads = 2
        configuration.shutdownGracePeriod = .seconds(5)
        configure(&configuration)
        let metrics = HTTPMetrics()
        let log = Locked<[AccessLogEntry]>([])
        let server = HTTPServer(configuration: configuration, router: router, metrics: metrics) { entry in
            log.withLock { $0.append(entry) }
        }
        self.port = try server.start()
        self.server = server
        self.metrics = metrics
        self.log = log
        self.runTask = Task { await server.run() }
    }

    func stop() async {
        server.beginShutdown()
        await runTask.value
    }

    func connect() throws -> RawClient { try RawClient(port: port) }

    static func defaultRouter() -> Router {
        var router = Router()
        router.add("GET", "/hello", name: "hello") { _ in .text(200, "hello") }
        router.add("POST", "/echo", name: "echo") { request in
            HTTPResponse(
                status: 200, headers: HTTPHeaders([("Content-Type", "application/octet-stream")]), body: request.body)
        }
        router.add("GET", "/users/{id}/devices/{device}", name: "user_device") { request in
            .text(200, "\(request.pathParameters["id"] ?? "")/\(request.pathParameters["device"] ?? "")")
        }
        router.add("DELETE", "/users/{id}/devices/{device}", name: "user_device") { _ in HTTPResponse(status: 204) }
        router.add("GET", "/query", name: "query") { request in
            .text(200, request.queryItems.map { "\($0.name)=\($0.value)" }.joined(separator: "|"))
        }
        router.add("GET", "/request-id", name: "request_id") { request in .text(200, request.requestID) }
        // Answered on the loop thread when the query says so, else by the async handler.
        router.add(
            "GET", "/maybe-fast", name: "maybe_fast",
            fastPath: { request in request.queryValue("fast") == "1" ? .text(200, "fast \(request.requestID)") : nil }
        ) { request in .text(200, "async \(request.requestID)") }
        router.add("GET", "/slow/{ms}", name: "slow") { request in
            let milliseconds = Int(request.pathParameters["ms"] ?? "0") ?? 0
            try? await Task.sleep(for: .milliseconds(milliseconds))
            return .text(200, "slow \(milliseconds)")
        }
        return router
    }
}

struct RawResponse: Sendable {
    var status: Int
    var headers: [(String, String)]
    var body: [UInt8]

    func header(_ name: String) -> String? {
        headers.first { $0.0.lowercased() == name.lowercased() }?.1
    }
    var text: String { String(decoding: body, as: UTF8.self) }
}

/// A blocking TCP client speaking raw bytes, with a receive timeout so a broken server fails the test
/// instead of hanging it.
final class RawClient: @unchecked Sendable {
    let fd: Int32
    private var buffer: [UInt8] = []
    private(set) var sawEOF = false

    init(port: Int, host: String = "127.0.0.1", receiveTimeoutSeconds: Int = 10) throws {
        let ipv6 = host.contains(":")
        fd = socket(ipv6 ? AF_INET6 : AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestFailure("socket: errno \(errno)") }
        var timeout = timeval(tv_sec: receiveTimeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var result: Int32
        if ipv6 {
            var address = sockaddr_in6()
            address.sin6_family = sa_family_t(AF_INET6)
            address.sin6_port = in_port_t(UInt16(port).bigEndian)
            inet_pton(AF_INET6, host, &address.sin6_addr)
            result = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size))
                }
            }
        } else {
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(port).bigEndian)
            inet_pton(AF_INET, host, &address.sin_addr)
            result = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
        }
        guard result == 0 else {
            let code = errno
            close(fd)
            throw TestFailure("connect: errno \(code)")
        }
    }

    deinit { close(fd) }

    func send(_ text: String) throws { try send(Array(text.utf8)) }

    func send(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let count = bytes[offset...].withUnsafeBytes {
                Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL))
            }
            guard count > 0 else { throw TestFailure("send: errno \(errno)") }
            offset += count
        }
    }

    /// Reads more bytes; false on EOF or reset. Throws on timeout.
    @discardableResult
    private func fill() throws -> Bool {
        var chunk = [UInt8](repeating: 0, count: 65536)
        let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if count > 0 {
            buffer.append(contentsOf: chunk[0..<count])
            return true
        }
        if count == 0 || errno == ECONNRESET {
            sawEOF = true
            return false
        }
        throw TestFailure("recv timed out or failed: errno \(errno)")
    }

    /// Reads one response (interim 1xx responses are returned too). Nil if the server closed first.
    func readResponse(forHEAD: Bool = false) throws -> RawResponse? {
        while true {
            if let end = findHeadEnd() {
                let head = String(decoding: buffer[0..<end], as: UTF8.self)
                var lines = head.components(separatedBy: "\r\n")
                let statusLine = lines.removeFirst()
                let parts = statusLine.split(separator: " ", maxSplits: 2)
                guard parts.count >= 2, let status = Int(parts[1]) else { throw TestFailure("bad status line") }
                let headers = lines.filter { !$0.isEmpty }.map { line -> (String, String) in
                    let colon = line.firstIndex(of: ":")!
                    return (
                        String(line[..<colon]),
                        String(line[line.index(after: colon)...]).trimmingCharacters(in: .whitespaces)
                    )
                }
                let length =
                    (forHEAD || status < 200)
                    ? 0 : Int(headers.first { $0.0.lowercased() == "content-length" }?.1 ?? "0") ?? 0
                while buffer.count < end + 4 + length {
                    guard try fill() else { throw TestFailure("EOF inside a response body") }
                }
                let body = Array(buffer[(end + 4)..<(end + 4 + length)])
                buffer.removeFirst(end + 4 + length)
                return RawResponse(status: status, headers: headers, body: body)
            }
            guard try fill() else { return nil }
        }
    }

    /// Waits until the server closes the connection; returns the bytes received meanwhile.
    func readUntilClose() throws -> [UInt8] {
        while try fill() {}
        let all = buffer
        buffer = []
        return all
    }

    private func findHeadEnd() -> Int? {
        guard buffer.count >= 4 else { return nil }
        for i in 0...(buffer.count - 4)
        where buffer[i] == 13 && buffer[i + 1] == 10 && buffer[i + 2] == 13 && buffer[i + 3] == 10 {
            return i
        }
        return nil
    }

    /// Waits up to `milliseconds` for data or EOF.
    func pollReadable(milliseconds: Int32) -> Bool {
        var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        return poll(&descriptor, 1, milliseconds) > 0
    }
}

/// Runs a command and returns (exit status, stdout+stderr).
func runProcess(_ path: String, _ arguments: [String]) async throws -> (Int32, String) {
    try await blocking { try runToEnd(path, arguments) }
}

/// Polls `condition` until it holds (a wait, not an assertion on time); false after `seconds`.
func eventually(seconds: Double = 10, _ condition: @Sendable () -> Bool) async -> Bool {
    let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
    while ContinuousClock.now < deadline {
        if condition() { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return condition()
}

/// A Mutex in a class, so closures can share it.
final class Locked<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>
    init(_ value: Value) { mutex = Mutex(value) }
    func withLock<R>(_ body: (inout Value) -> R) -> R { mutex.withLock { body(&$0) } }
}
