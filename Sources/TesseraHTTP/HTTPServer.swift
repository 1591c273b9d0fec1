internal import CTesseraShims
import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// State shared by the server object and its event loops; every member is thread-safe.
final class ServerCore: Sendable {
    struct Timeouts: Sendable {
        var header: UInt64
        var body: UInt64
        var idle: UInt64
    }

    private struct RunState {
        var total = 0
        var finished = 0
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    let router: Router
    let metrics: HTTPMetrics
    let accessLog: @Sendable (AccessLogEntry) -> Void
    let parserLimits: HTTPParserLimits
    let timeouts: Timeouts
    let gracePeriodNanoseconds: UInt64
    let pipelineBufferCap: Int
    let maxConnections: Int
    private let listenFDStorage = Atomic<Int32>(-1)
    private let shuttingDown = Atomic<Bool>(false)
    private let connectionCount = Atomic<Int>(0)
    private let tlsContext = Mutex<TLSContext?>(nil)
    private let runState = Mutex(RunState())

    init(
        configuration: HTTPServerConfiguration, router: Router, metrics: HTTPMetrics,
        accessLog: @escaping @Sendable (AccessLogEntry) -> Void
    ) {
        self.router = router
        self.metrics = metrics
        self.accessLog = accessLog
        parserLimits = HTTPParserLimits(
            maxRequestLineBytes: configuration.maxRequestLineBytes, maxHeaderBytes: configuration.maxHeaderBytes,
            maxHeaderCount: configuration.maxHeaderCount, maxBodyBytes: configuration.maxBodyBytes)
        timeouts = Timeouts(
            header: Self.nanoseconds(configuration.headerReadTimeout),
            body: Self.nanoseconds(configuration.bodyReadTimeout), idle: Self.nanoseconds(configuration.idleTimeout))
        gracePeriodNanoseconds = Self.nanoseconds(configuration.shutdownGracePeriod)
        pipelineBufferCap = configuration.maxRequestLineBytes + configuration.maxHeaderBytes + 64 * 1024
        maxConnections = configuration.maxConnections
    }

    static func nanoseconds(_ duration: Duration) -> UInt64 {
        let (seconds, attoseconds) = duration.components
        return UInt64(max(0, seconds)) * 1_000_000_000 + UInt64(max(0, attoseconds / 1_000_000_000))
    }

    var listenFD: Int32 {
        get { listenFDStorage.load(ordering: .acquiring) }
    }
    func setListenFD(_ fd: Int32) { listenFDStorage.store(fd, ordering: .releasing) }

    var isShuttingDown: Bool { shuttingDown.load(ordering: .acquiring) }
    /// Returns true the first time.
    func markShuttingDown() -> Bool {
        shuttingDown.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged
    }

    var openConnections: Int { connectionCount.load(ordering: .relaxed) }

    /// Counts a new connection unless the limit is reached.
    func admitConnection() -> Bool {
        let count = connectionCount.wrappingAdd(1, ordering: .acquiringAndReleasing).newValue
        if count > maxConnections {
            connectionCount.wrappingSubtract(1, ordering: .acquiringAndReleasing)
            return false
        }
        metrics.connectionOpened()
        return true
    }

    func connectionClosed() {
        connectionCount.wrappingSubtract(1, ordering: .acquiringAndReleasing)
        metrics.connectionClosed()
    }

    func currentTLSContext() -> TLSContext? { tlsContext.withLock { $0 } }
    func swapTLSContext(_ context: TLSContext) { tlsContext.withLock { $0 = context } }

    func record(_ entry: AccessLogEntry) {
        metrics.recordRequest(route: entry.route, status: entry.status, duration: entry.duration)
        accessLog(entry)
    }

    func setLoopCount(_ count: Int) { runState.withLock { $0.total = count } }

    func loopFinished() {
        let waiters = runState.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.finished += 1
            guard state.finished == state.total else { return [] }
            let waiters = state.waiters
            state.waiters = []
            return waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    func waitForLoops() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let done = runState.withLock { state -> Bool in
                if state.finished == state.total { return true }
                state.waiters.append(continuation)
                return false
            }
            if done { continuation.resume() }
        }
    }
}

/// An HTTP/1.1 server: epoll event-loop threads over non-blocking sockets, optional TLS (OpenSSL 3),
/// strict request parsing with limits and timeouts, and graceful shutdown.
///
/// Usage: `let port = try server.start()`, then `await server.run()` (returns after shutdown completes);
/// `beginShutdown()` from anywhere (e.g. a SIGTERM source) and `reloadTLS()` on SIGHUP.
public final class HTTPServer: Sendable {
    private enum Phase {
        case idle
        case started(loops: [EventLoop])
        case finished
    }

    public let configuration: HTTPServerConfiguration
    private let core: ServerCore
    private let phase = Mutex<Phase>(.idle)

    public init(
        configuration: HTTPServerConfiguration, router: Router, metrics: HTTPMetrics,
        accessLog: @escaping @Sendable (AccessLogEntry) -> Void
    ) {
        self.configuration = configuration
        self.core = ServerCore(configuration: configuration, router: router, metrics: metrics, accessLog: accessLog)
    }

    /// Binds and listens, starts the event-loop threads, and returns the bound port (useful with port 0).
    ///
    /// Throws `.configuration` for plain HTTP on a non-loopback address (unless `trustedTLSProxy`) and
    /// for invalid settings, `.tls` when the certificate or key cannot be loaded, `.system` for socket errors.
    public func start() throws(HTTPError) -> Int {
        let configuration = configuration
        guard (0...65535).contains(configuration.port) else {
            throw HTTPError(.configuration, "port \(configuration.port) is out of range")
        }
        guard configuration.eventLoopThreads > 0, configuration.maxConnections > 0 else {
            throw HTTPError(.configuration, "eventLoopThreads and maxConnections must be positive")
        }
        let address = try SocketAddress(host: configuration.host, port: configuration.port)
        if configuration.tls == nil && !configuration.trustedTLSProxy && !address.isLoopback {
            throw HTTPError(
                .configuration,
                "refusing plain HTTP on non-loopback address \(configuration.host): configure tls, or set trustedTLSProxy when a TLS-terminating proxy is in front"
            )
        }
        if let tls = configuration.tls { core.swapTLSContext(try TLSContext(tls)) }
        try phase.withLock { phase throws(HTTPError) in
            guard case .idle = phase else { throw HTTPError(.state, "start() was already called") }
            tessera_ignore_sigpipe()
            _ = tessera_raise_nofile_limit()
            let fd = try address.listen(backlog: 4096)
            core.setListenFD(fd)
            var loops: [EventLoop] = []
            do throws(HTTPError) {
                for index in 0..<configuration.eventLoopThreads {
                    loops.append(try EventLoop(index: index, server: core, listenFD: fd))
                }
            } catch {
                close(fd)
                throw error
            }
            core.setLoopCount(loops.count)
            for loop in loops {
                Thread { loop.run() }.start()
            }
            phase = .started(loops: loops)
        }
        return try address.boundPort(of: core.listenFD)
    }

    /// Serves until shutdown completes (returns at once if `start()` was not called).
    public func run() async {
        let started = phase.withLock { phase -> Bool in
            if case .started = phase { return true }
            return false
        }
        guard started else { return }
        await core.waitForLoops()
        phase.withLock { phase in
            if case .started = phase {
                close(core.listenFD)
                phase = .finished
            }
        }
    }

    /// Stops accepting, closes idle connections, lets in-flight requests finish (their responses carry
    /// `Connection: close`); after `shutdownGracePeriod` the remaining connections are closed.
    public func beginShutdown() {
        guard core.markShuttingDown() else { return }
        let loops = phase.withLock { phase -> [EventLoop] in
            if case .started(let loops) = phase { return loops }
            return []
        }
        if !loops.isEmpty { _ = Glibc.shutdown(core.listenFD, Int32(SHUT_RDWR)) }
        for loop in loops { loop.wake() }
    }

    /// Builds a new SSL_CTX from the configured files and uses it for new connections. On failure the
    /// old context stays in use and the error is thrown.
    public func reloadTLS() throws(HTTPError) {
        guard let tls = configuration.tls else { throw HTTPError(.configuration, "TLS is not configured") }
        core.swapTLSContext(try TLSContext(tls))
    }

    /// Connections currently open (those over `maxConnections`, answered 503, are not counted).
    public var openConnections: Int { core.openConnections }
}

extension HTTPServerConfiguration {
    /// Whether `host` (an IPv4 or IPv6 literal, optionally in brackets, or `localhost`) is a loopback
    /// address: the one rule for where plain HTTP may listen, shared with configuration checks.
    public static func isLoopback(host: String) -> Bool {
        let literal = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        return (try? SocketAddress(host: literal, port: 0))?.isLoopback ?? false
    }
}

/// An IPv4 or IPv6 literal address with a port.
struct SocketAddress {
    var storage = sockaddr_storage()
    var length: socklen_t
    var isIPv6: Bool
    var isLoopback: Bool

    init(host: String, port: Int) throws(HTTPError) {
        let literal = host == "localhost" ? "127.0.0.1" : host
        var v4 = in_addr()
        var v6 = in6_addr()
        if inet_pton(AF_INET, literal, &v4) == 1 {
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(port).bigEndian)
            address.sin_addr = v4
            withUnsafeMutableBytes(of: &storage) { raw in
                withUnsafeBytes(of: &address) { raw.copyMemory(from: $0) }
            }
            length = socklen_t(MemoryLayout<sockaddr_in>.size)
            isIPv6 = false
            isLoopback = UInt32(bigEndian: v4.s_addr) >> 24 == 127
        } else if inet_pton(AF_INET6, literal, &v6) == 1 {
            var address = sockaddr_in6()
            address.sin6_family = sa_family_t(AF_INET6)
            address.sin6_port = in_port_t(UInt16(port).bigEndian)
            address.sin6_addr = v6
            withUnsafeMutableBytes(of: &storage) { raw in
                withUnsafeBytes(of: &address) { raw.copyMemory(from: $0) }
            }
            length = socklen_t(MemoryLayout<sockaddr_in6>.size)
            isIPv6 = true
            let bytes = withUnsafeBytes(of: &v6) { Array($0) }
            isLoopback = bytes == [UInt8](repeating: 0, count: 15) + [1]
        } else {
            throw HTTPError(.configuration, "host must be an IPv4 or IPv6 address literal or localhost")
        }
    }

    func listen(backlog: Int32) throws(HTTPError) -> Int32 {
        let family = isIPv6 ? AF_INET6 : AF_INET
        let fd = socket(
            family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw HTTPError(.system, "socket failed: errno \(errno)") }
        guard tessera_socket_prepare_listener(fd, isIPv6 ? 1 : 0) == 0 else {
            let code = errno
            close(fd)
            throw HTTPError(.system, "setsockopt failed: \(String(cString: strerror(code)))")
        }
        var storage = storage
        let bound = withUnsafePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
        }
        guard bound == 0 else {
            let code = errno
            close(fd)
            throw HTTPError(.system, "bind failed: \(String(cString: strerror(code)))")
        }
        guard Glibc.listen(fd, backlog) == 0 else {
            let code = errno
            close(fd)
            throw HTTPError(.system, "listen failed: \(String(cString: strerror(code)))")
        }
        return fd
    }

    func boundPort(of fd: Int32) throws(HTTPError) -> Int {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let result = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard result == 0 else { throw HTTPError(.system, "getsockname failed: errno \(errno)") }
        return withUnsafePointer(to: &storage) { pointer in
            if isIPv6 {
                return pointer.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) {
                    Int(UInt16(bigEndian: $0.pointee.sin6_port))
                }
            }
            return pointer.withMemoryRebound(to: sockaddr_in.self, capacity: 1) {
                Int(UInt16(bigEndian: $0.pointee.sin_port))
            }
        }
    }
}
