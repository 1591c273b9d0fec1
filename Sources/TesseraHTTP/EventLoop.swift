internal import CTesseraShims
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// What a handler task hands back to the loop thread.
struct Completion: Sendable {
    var connectionID: UInt64
    var response: HTTPResponse
}

/// One epoll loop on its own thread. Connection state is touched only by that thread; other threads
/// talk to it through `completions` and `remoteJobs` (Mutex-guarded) and the eventfd.
///
/// The loop is also the task executor of the handlers it starts: a handler runs on this thread between
/// polls, and only hops away where it awaits blocking work (a `BlockingPool`). A request that needs no
/// blocking call is therefore parsed, handled and answered without a thread switch.
final class EventLoop: TaskExecutor, @unchecked Sendable {
    static let listenerToken: UInt64 = 0
    static let wakeToken: UInt64 = 1
    static let sweepIntervalNanoseconds: UInt64 = 200_000_000
    static let lingerNanoseconds: UInt64 = 2_000_000_000
    static let readBufferSize = 64 * 1024

    let index: Int
    let epollFD: Int32
    let wakeFD: Int32
    private let completions = Mutex<[Completion]>([])
    private let remoteJobs = Mutex<[UnownedJob]>([])
    private let server: ServerCore
    /// Set once by `run` before anything is dispatched.
    private var thread: pthread_t?

    // Loop-thread state.
    private var localJobs: [UnownedJob] = []
    private var localCompletions: [Completion] = []
    private var connections: [UInt64: Connection] = [:]
    private var nextID: UInt64 = 2
    private let readBuffer: UnsafeMutableRawBufferPointer
    private var lastSweep: UInt64 = 0
    private var shutdownStartedAt: UInt64?
    private var cachedDateSecond = -1
    private var cachedDate = ""
    private var rejectedConnections = 0

    init(index: Int, server: ServerCore, listenFD: Int32) throws(HTTPError) {
        self.index = index
        self.server = server
        let epollFD = tessera_epoll_create()
        guard epollFD >= 0 else { throw HTTPError(.system, "epoll_create1 failed: errno \(errno)") }
        let wakeFD = tessera_eventfd_create()
        guard wakeFD >= 0 else {
            close(epollFD)
            throw HTTPError(.system, "eventfd failed: errno \(errno)")
        }
        self.epollFD = epollFD
        self.wakeFD = wakeFD
        self.readBuffer = .allocate(byteCount: Self.readBufferSize, alignment: 16)
        guard tessera_epoll_update(epollFD, 0, wakeFD, UInt32(TESSERA_IO_READ), Self.wakeToken, 0) == 0,
            tessera_epoll_update(epollFD, 0, listenFD, UInt32(TESSERA_IO_READ), Self.listenerToken, 1) == 0
        else {
            throw HTTPError(.system, "epoll_ctl failed: errno \(errno)")
        }
    }

    deinit {
        readBuffer.deallocate()
        close(epollFD)
        close(wakeFD)
    }

    /// Called from any thread.
    func wake() { _ = tessera_eventfd_signal(wakeFD) }

    private var onLoopThread: Bool {
        guard let thread else { return false }
        return pthread_equal(thread, pthread_self()) != 0
    }

    /// Called from handler tasks (usually on this loop's thread).
    func complete(_ completion: Completion) {
        if onLoopThread {
            localCompletions.append(completion)
        } else {
            completions.withLock { $0.append(completion) }
            wake()
        }
    }

    /// `TaskExecutor`: runs handler jobs on the loop thread.
    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        if onLoopThread {
            localJobs.append(job)
        } else {
            remoteJobs.withLock { $0.append(job) }
            wake()
        }
    }

    /// Runs queued handler jobs, including those they enqueue, up to a bound per poll so sockets are
    /// not starved. Returns whether work is left.
    private func runJobs() -> Bool {
        var budget = 4096
        while budget > 0 {
            var batch = remoteJobs.withLock { queue -> [UnownedJob] in
                let taken = queue
                queue.removeAll()
                return taken
            }
            batch.append(contentsOf: localJobs)
            localJobs.removeAll(keepingCapacity: true)
            if batch.isEmpty { return false }
            for job in batch {
                job.runSynchronously(on: asUnownedTaskExecutor())
            }
            budget -= batch.count
        }
        return !localJobs.isEmpty || !remoteJobs.withLock { $0.isEmpty }
    }

    // MARK: - Loop

    func run() {
        let capacity = 256
        let events = UnsafeMutablePointer<tessera_io_event>.allocate(capacity: capacity)
        defer { events.deallocate() }
        lastSweep = now()
        thread = pthread_self()
        // Foundation's `Thread.name` does not reach the OS on Linux; name it here for ps/top/perf.
        tessera_set_current_thread_name("tessera-http-\(index)")
        var moreJobs = false
        while true {
            let count = tessera_epoll_wait(
                epollFD, events, Int32(capacity), moreJobs ? 0 : Int32(Self.sweepIntervalNanoseconds / 1_000_000))
            if count < 0 && errno != EINTR { break }
            for i in 0..<max(0, Int(count)) {
                let event = events[i]
                switch event.token {
                case Self.listenerToken: acceptConnections()
                case Self.wakeToken: _ = tessera_eventfd_drain(wakeFD)
                default:
                    if let connection = connections[event.token] { handle(connection, flags: event.flags) }
                }
            }
            moreJobs = runJobs()
            drainCompletions()
            // Answering may have started the next pipelined request's handler, or answered it on the
            // fast path (queued in localCompletions): poll without waiting, then go on.
            moreJobs = moreJobs || !localJobs.isEmpty || !localCompletions.isEmpty
            let time = now()
            if server.isShuttingDown {
                if shutdownStartedAt == nil { beginShutdown(at: time) }
                if connections.isEmpty { break }
                if time - shutdownStartedAt! >= server.gracePeriodNanoseconds {
                    for connection in Array(connections.values) { closeConnection(connection) }
                    break
                }
            }
            if time - lastSweep >= Self.sweepIntervalNanoseconds {
                lastSweep = time
                sweep(at: time)
            }
        }
        // Handler tasks that finish later find no connection and are dropped.
        for connection in Array(connections.values) { closeConnection(connection) }
        server.loopFinished()
    }

    private func now() -> UInt64 { tessera_monotonic_ns() }

    private func beginShutdown(at time: UInt64) {
        shutdownStartedAt = time
        _ = tessera_epoll_update(epollFD, 2, server.listenFD, 0, Self.listenerToken, 0)
        for connection in Array(connections.values) where connection.isIdle {
            closeConnection(connection)
        }
    }

    // MARK: - Accept

    private func acceptConnections() {
        if server.isShuttingDown { return }
        for _ in 0..<64 {
            var storage = sockaddr_storage()
            var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let fd = withUnsafeMutablePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    tessera_accept_nonblocking(server.listenFD, $0, &length)
                }
            }
            if fd < 0 {
                let code = errno
                if code == EINTR || code == ECONNABORTED { continue }
                return  // EAGAIN, EMFILE, ENFILE, EINVAL after shutdown: try again on the next readiness
            }
            _ = tessera_socket_set_nodelay(fd)
            let admitted = server.admitConnection()
            if !admitted && rejectedConnections >= 1024 {
                close(fd)
                continue
            }
            var tls: TLSSession?
            if let context = server.currentTLSContext() {
                guard let session = TLSSession(context: context, fd: fd) else {
                    if admitted { server.connectionClosed() }
                    close(fd)
                    continue
                }
                tls = session
            }
            let id = nextID
            nextID += 1
            let connection = Connection(
                id: id, fd: fd, remoteAddress: Self.formatAddress(&storage), tls: tls, limits: server.parserLimits,
                admitted: admitted, now: now())
            if tls != nil { connection.headStartedAt = connection.idleSince }  // bounds the handshake
            connections[id] = connection
            connection.interest = UInt32(TESSERA_IO_READ)
            guard tessera_epoll_update(epollFD, 0, fd, connection.interest, id, 0) == 0 else {
                closeConnection(connection)
                continue
            }
            if !admitted {
                rejectedConnections += 1
                queueProtocolError(connection, status: 503, reason: "too many connections", record: false)
                service(connection)
            }
        }
    }

    private static func formatAddress(_ storage: inout sockaddr_storage) -> String {
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
        let family = Int32(storage.ss_family)
        withUnsafePointer(to: &storage) { pointer in
            if family == AF_INET {
                pointer.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { address in
                    var raw = address.pointee.sin_addr
                    _ = inet_ntop(AF_INET, &raw, &text, socklen_t(text.count))
                }
            } else if family == AF_INET6 {
                pointer.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { address in
                    var raw = address.pointee.sin6_addr
                    _ = inet_ntop(AF_INET6, &raw, &text, socklen_t(text.count))
                }
            }
        }
        return String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    // MARK: - I/O

    private func handle(_ connection: Connection, flags: UInt32) {
        if flags & UInt32(TESSERA_IO_ERROR) != 0 {
            closeConnection(connection)
            return
        }
        if flags & UInt32(TESSERA_IO_HANGUP) != 0 && flags & UInt32(TESSERA_IO_READ) == 0 {
            closeConnection(connection)
            return
        }
        service(connection)
    }

    /// Writes what is pending, reads what is available, parses, and updates epoll interest.
    /// Loops (rather than recursing) while pipelined requests produce immediate responses.
    /// - Parameter readFirst: false after a handler completes: epoll is level-triggered and kept
    ///   reading while the request was in flight, so a plaintext socket has nothing new unless epoll says
    ///   so (TLS may hold decrypted bytes of its own, so it is always read).
    private func service(_ connection: Connection, readFirst: Bool = true) {
        var mayRead = readFirst || connection.tls != nil
        while true {
            if connection.phase == .draining {
                drain(connection)
                return
            }
            if connection.hasPendingOutput {
                switch flush(connection) {
                case .failed:
                    closeConnection(connection)
                    return
                case .blocked:
                    break
                case .done:
                    if connection.phase == .writing {
                        if connection.closeAfterWrite {
                            startDraining(connection)
                            return
                        }
                        connection.phase = .reading
                        connection.idleSince = now()
                    }
                }
            }
            if mayRead && connection.wantsToRead(cap: server.pipelineBufferCap) {
                if !read(connection) {
                    closeConnection(connection)
                    return
                }
            }
            mayRead = true
            if connection.phase == .reading {
                processInbound(connection)
                if connection.phase == .closed { return }
                if connection.phase == .writing && connection.hasPendingOutput {
                    continue  // a response was produced synchronously (404/405/error): send it now
                }
                if connection.phase == .reading && connection.peerClosed && !connection.hasPendingOutput {
                    closeConnection(connection)  // EOF before (or in the middle of) a request
                    return
                }
            }
            updateInterest(connection)
            return
        }
    }

    /// Returns false when the connection failed and must be closed.
    private func read(_ connection: Connection) -> Bool {
        let buffer = readBuffer
        for _ in 0..<8 {
            var received = 0
            if let tls = connection.tls {
                connection.tlsReadWantsWrite = false
                switch tls.read(into: buffer) {
                case .bytes(let count): received = count
                case .wantRead: return true
                case .wantWrite:
                    connection.tlsReadWantsWrite = true
                    return true
                case .closed:
                    connection.peerClosed = true
                    return true
                case .failed: return false
                }
                if connection.headStartedAt != 0 && connection.inbound.isEmpty && connection.parser.isBetweenRequests {
                    connection.headStartedAt = 0  // handshake done; the request's own clock starts below
                }
            } else {
                let count = recv(connection.fd, buffer.baseAddress, buffer.count, 0)
                if count > 0 {
                    received = count
                } else if count == 0 {
                    connection.peerClosed = true
                    return true
                } else {
                    let code = errno
                    if code == EAGAIN || code == EWOULDBLOCK { return true }
                    if code == EINTR { continue }
                    return false
                }
            }
            let time = now()
            if connection.parser.isBetweenRequests && connection.inbound.isEmpty && connection.headStartedAt == 0 {
                connection.headStartedAt = time
            }
            connection.lastReadAt = time
            connection.inbound.append(contentsOf: UnsafeRawBufferPointer(rebasing: buffer[0..<received]))
            if received < buffer.count && connection.tls == nil { return true }
            if !connection.wantsToRead(cap: server.pipelineBufferCap) { return true }
        }
        return true
    }

    private enum FlushResult { case done, blocked, failed }

    private func flush(_ connection: Connection) -> FlushResult {
        connection.tlsWriteWantsRead = false
        while connection.outboundOffset < connection.outbound.count {
            let result: Int = connection.outbound.withUnsafeBytes { bytes in
                let pending = UnsafeRawBufferPointer(rebasing: bytes[connection.outboundOffset...])
                if let tls = connection.tls {
                    switch tls.write(pending) {
                    case .bytes(let count): return count
                    case .wantRead:
                        connection.tlsWriteWantsRead = true
                        return 0
                    case .wantWrite: return 0
                    case .closed, .failed: return -1
                    }
                }
                let count = tessera_send_nosignal(connection.fd, pending.baseAddress, UInt(pending.count))
                if count >= 0 { return count }
                let code = errno
                if code == EAGAIN || code == EWOULDBLOCK || code == EINTR { return 0 }
                return -1
            }
            if result < 0 { return .failed }
            if result == 0 { return .blocked }
            connection.outboundOffset += result
            connection.lastWriteAt = now()
        }
        connection.outbound = []
        connection.outboundOffset = 0
        return .done
    }

    private func updateInterest(_ connection: Connection) {
        guard connection.phase != .closed else { return }
        var interest: UInt32 = 0
        if connection.phase == .draining || connection.wantsToRead(cap: server.pipelineBufferCap)
            || connection.tlsWriteWantsRead && connection.hasPendingOutput
        {
            interest |= UInt32(TESSERA_IO_READ)
        }
        if (connection.hasPendingOutput && !connection.tlsWriteWantsRead) || connection.tlsReadWantsWrite {
            interest |= UInt32(TESSERA_IO_WRITE)
        }
        if interest != connection.interest {
            connection.interest = interest
            _ = tessera_epoll_update(epollFD, 1, connection.fd, interest, connection.id, 0)
        }
    }

    // MARK: - Requests

    private func processInbound(_ connection: Connection) {
        while connection.phase == .reading {
            if connection.parser.isBetweenRequests && connection.inbound.isEmpty {
                if connection.tls == nil || connection.tls!.handshakeComplete { connection.headStartedAt = 0 }
                return
            }
            if connection.parser.isBetweenRequests && connection.headStartedAt == 0 {
                connection.headStartedAt = now()
            }
            switch connection.parser.next(&connection.inbound) {
            case .needMoreData:
                return
            case .head(let head):
                connection.headStartedAt = 0
                connection.lastReadAt = now()
                connection.requestStartedAt = connection.requestStartedAt == 0 ? now() : connection.requestStartedAt
                if head.expectsContinue {
                    connection.outbound.append(contentsOf: "HTTP/1.1 100 Continue\r\n\r\n".utf8)
                }
            case .request(let head, let body, let wireBytes):
                dispatch(connection, head: head, body: body, wireBytes: wireBytes)
            case .failure(let error):
                queueProtocolError(connection, status: error.status, reason: error.reason, record: true)
            }
        }
    }

    private func dispatch(_ connection: Connection, head: RequestHead, body: [UInt8], wireBytes: Int) {
        let startedAt = connection.requestStartedAt == 0 ? now() : connection.requestStartedAt
        connection.requestStartedAt = 0
        let requestID = RequestID.accept(head.headers["X-Request-ID"]) ?? RequestID.generate()
        let resolution = server.router.resolve(
            HTTPRequest(
                method: head.method, target: head.target, version: head.version, headers: head.headers, body: body,
                remoteAddress: connection.remoteAddress, requestID: requestID, isTLS: connection.tls != nil))
        let request = resolution.request
        let route = resolution.route
        let immediate = resolution.immediate
        let handler = resolution.handler
        connection.phase = .inFlight
        connection.inFlight = InFlightRequest(
            requestID: requestID, method: head.method, path: request.path, route: route, version: head.version,
            keepAlive: head.keepAlive, isHead: head.method == "HEAD", startedAt: startedAt, bytesIn: wireBytes)
        if let immediate {
            finish(connection, response: immediate)
        } else if let response = resolution.fastPath?(request) {
            // Queued like a handler's answer, so the responses of one poll go out together after it:
            // sending each at once would wake the peer once per response.
            localCompletions.append(Completion(connectionID: connection.id, response: response))
        } else if let handler {
            let id = connection.id
            Task(executorPreference: self) { [self] in
                let response = await handler(request)
                self.complete(Completion(connectionID: id, response: response))
            }
        }
    }

    private func drainCompletions() {
        var pending = completions.withLock { queue -> [Completion] in
            let taken = queue
            queue.removeAll()
            return taken
        }
        pending.append(contentsOf: localCompletions)
        localCompletions.removeAll(keepingCapacity: true)
        for completion in pending {
            guard let connection = connections[completion.connectionID], connection.phase == .inFlight else { continue }
            finish(connection, response: completion.response)
            service(connection, readFirst: false)
        }
    }

    /// Serialises the response for the in-flight request, records metrics and the access log.
    private func finish(_ connection: Connection, response: HTTPResponse) {
        guard let inFlight = connection.inFlight else { return }
        connection.inFlight = nil
        let keepAlive =
            inFlight.keepAlive && !server.isShuttingDown && !connection.peerClosed
            && !response.headers.containsToken("close", in: "Connection")
        let bytes = ResponseEncoding.encode(
            response, requestID: inFlight.requestID, keepAlive: keepAlive, version: inFlight.version,
            omitBody: inFlight.isHead, date: currentDate())
        if connection.outbound.isEmpty {
            connection.outbound = bytes  // the usual case: no copy
        } else {
            connection.outbound.append(contentsOf: bytes)
        }
        connection.phase = .writing
        connection.closeAfterWrite = !keepAlive
        let duration = Duration.nanoseconds(Int64(now() - inFlight.startedAt))
        server.record(
            AccessLogEntry(
                requestID: inFlight.requestID, method: inFlight.method, path: inFlight.path, route: inFlight.route,
                status: response.status, duration: duration, bytesIn: inFlight.bytesIn, bytesOut: bytes.count,
                remoteAddress: connection.remoteAddress))
    }

    /// Answers a protocol error (or 408/503) and closes after writing. Never echoes input.
    private func queueProtocolError(_ connection: Connection, status: Int, reason: String, record: Bool) {
        let response = ResponseEncoding.protocolError(status, reason: reason)
        let bytes = ResponseEncoding.encode(
            response, requestID: nil, keepAlive: false, version: .http1_1, omitBody: false, date: currentDate())
        connection.outbound.append(contentsOf: bytes)
        connection.phase = .writing
        connection.closeAfterWrite = true
        connection.inFlight = nil
        connection.inbound = []
        if record {
            server.record(
                AccessLogEntry(
                    requestID: RequestID.generate(), method: "-", path: "-", route: "invalid", status: status,
                    duration: .zero, bytesIn: 0, bytesOut: bytes.count, remoteAddress: connection.remoteAddress))
        }
    }

    private func currentDate() -> String {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        let second = Int(spec.tv_sec)
        if second != cachedDateSecond {
            cachedDateSecond = second
            cachedDate = ResponseEncoding.httpDate(second)
        }
        return cachedDate
    }

    // MARK: - Closing

    /// Half-closes after a final response and discards input for a moment, so the peer reads the response
    /// instead of a reset caused by unread request bytes.
    private func startDraining(_ connection: Connection) {
        connection.tls?.shutdown()
        Glibc.shutdown(connection.fd, Int32(SHUT_WR))
        connection.phase = .draining
        connection.drainingSince = now()
        connection.inbound = []
        updateInterest(connection)
        drain(connection)
    }

    private func drain(_ connection: Connection) {
        let buffer = readBuffer
        for _ in 0..<16 {
            let count = recv(connection.fd, buffer.baseAddress, buffer.count, 0)
            if count > 0 { continue }
            if count < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) { return }
            if count < 0 && errno == EINTR { continue }
            closeConnection(connection)
            return
        }
    }

    private func closeConnection(_ connection: Connection) {
        guard connection.phase != .closed else { return }
        connection.phase = .closed
        connections.removeValue(forKey: connection.id)
        _ = tessera_epoll_update(epollFD, 2, connection.fd, 0, connection.id, 0)
        connection.tls = nil
        close(connection.fd)
        if connection.admitted {
            server.connectionClosed()
        } else {
            rejectedConnections -= 1
        }
    }

    // MARK: - Timers

    private func sweep(at time: UInt64) {
        let limits = server.timeouts
        for connection in Array(connections.values) {
            switch connection.phase {
            case .draining:
                if time - connection.drainingSince >= Self.lingerNanoseconds { closeConnection(connection) }
            case .writing:
                // A stalled reader; connections refused with 503 get the (shorter) header deadline.
                let limit = connection.admitted ? limits.idle : limits.header
                if time - connection.lastWriteAt >= limit { closeConnection(connection) }
            case .inFlight, .closed:
                break
            case .reading:
                if connection.parser.isBetweenRequests {
                    if connection.headStartedAt != 0 {
                        if time - connection.headStartedAt >= limits.header { timeOut(connection) }
                    } else if connection.inbound.isEmpty && !connection.hasPendingOutput {
                        if server.isShuttingDown || time - connection.idleSince >= limits.idle {
                            closeConnection(connection)
                        }
                    }
                } else if connection.parser.isReadingBody {
                    if time - connection.lastReadAt >= limits.body { timeOut(connection) }
                }
            }
        }
    }

    private func timeOut(_ connection: Connection) {
        if let tls = connection.tls, !tls.handshakeComplete {
            closeConnection(connection)
            return
        }
        queueProtocolError(connection, status: 408, reason: "request timeout", record: true)
        service(connection)
    }
}

struct InFlightRequest {
    var requestID: String
    var method: String
    var path: String
    var route: String
    var version: HTTPVersion
    var keepAlive: Bool
    var isHead: Bool
    var startedAt: UInt64
    var bytesIn: Int
}

/// Per-connection state, confined to one loop thread. Kept small: idle connections hold no buffers.
final class Connection {
    enum Phase { case reading, inFlight, writing, draining, closed }

    let id: UInt64
    let fd: Int32
    let remoteAddress: String
    let admitted: Bool
    var tls: TLSSession?
    var parser: HTTPRequestParser
    var phase: Phase = .reading
    var inbound: [UInt8] = []
    var outbound: [UInt8] = []
    var outboundOffset = 0
    var closeAfterWrite = false
    var peerClosed = false
    var tlsReadWantsWrite = false
    var tlsWriteWantsRead = false
    var interest: UInt32 = 0
    var headStartedAt: UInt64 = 0
    var requestStartedAt: UInt64 = 0
    var lastReadAt: UInt64 = 0
    var lastWriteAt: UInt64 = 0
    var idleSince: UInt64
    var drainingSince: UInt64 = 0
    var inFlight: InFlightRequest?

    init(
        id: UInt64, fd: Int32, remoteAddress: String, tls: TLSSession?, limits: HTTPParserLimits, admitted: Bool,
        now: UInt64
    ) {
        self.id = id
        self.fd = fd
        self.remoteAddress = remoteAddress
        self.tls = tls
        self.parser = HTTPRequestParser(limits: limits)
        self.admitted = admitted
        self.idleSince = now
        self.lastWriteAt = now
    }

    var hasPendingOutput: Bool { outboundOffset < outbound.count }

    /// Idle: between requests with nothing buffered either way.
    var isIdle: Bool {
        phase == .reading && parser.isBetweenRequests && inbound.isEmpty && !hasPendingOutput
            && (tls == nil || headStartedAt == 0)
    }

    func wantsToRead(cap: Int) -> Bool {
        switch phase {
        case .closed, .draining: return false
        case .reading: return !peerClosed
        case .inFlight, .writing: return !peerClosed && inbound.count < cap
        }
    }
}
