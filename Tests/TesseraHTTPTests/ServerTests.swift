import Foundation
import Synchronization
import Testing

@testable import TesseraHTTP

#if canImport(Glibc)
    import Glibc
#endif

/// Real server on 127.0.0.1:0, raw bytes over sockets. Serialized: some tests use many descriptors.
@Suite("HTTP server", .serialized)
struct ServerTests {
    @Test func keepAliveServesSeveralRequests() async throws {
        let server = try TestServer()
        let responses = try await blocking {
            let client = try server.connect()
            var out: [RawResponse] = []
            for _ in 0..<3 {
                try client.send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
                if let response = try client.readResponse() { out.append(response) }
            }
            return out
        }
        #expect(responses.map(\.status) == [200, 200, 200])
        #expect(responses.allSatisfy { $0.text == "hello" && $0.header("Connection") == nil })
        #expect(responses.allSatisfy { $0.header("Date") != nil && $0.header("Content-Length") == "5" })
        await server.stop()
    }

    @Test func pipelinedRequestsAnsweredInOrder() async throws {
        let server = try TestServer()
        let responses = try await blocking {
            let client = try server.connect()
            try client.send(
                "GET /slow/150 HTTP/1.1\r\nHost: x\r\n\r\nPOST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"
                    + "GET /users/7/devices/9 HTTP/1.1\r\nHost: x\r\n\r\n")
            return try (0..<3).compactMap { _ in try client.readResponse() }
        }
        #expect(responses.map(\.text) == ["slow 150", "abc", "7/9"])
        await server.stop()
    }

    @Test func connectionCloseAndHTTP10() async throws {
        let server = try TestServer()
        let (closeResponse, closeRest, http10, http10Rest, keepAlive10) = try await blocking {
            let a = try server.connect()
            try a.send("GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            let closeResponse = try a.readResponse()
            let closeRest = try a.readUntilClose()
            let b = try server.connect()
            try b.send("GET /hello HTTP/1.0\r\n\r\n")
            let http10 = try b.readResponse()
            let http10Rest = try b.readUntilClose()
            let c = try server.connect()
            try c.send("GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            let first = try c.readResponse()
            try c.send("GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            let second = try c.readResponse()
            return (closeResponse, closeRest, http10, http10Rest, [first, second])
        }
        #expect(closeResponse?.header("Connection") == "close")
        #expect(closeRest.isEmpty)
        #expect(http10?.status == 200 && http10?.header("Connection") == "close")
        #expect(http10Rest.isEmpty)
        #expect(keepAlive10.map { $0?.header("Connection") } == ["keep-alive", "keep-alive"])
        await server.stop()
    }

    @Test func chunkedRequestBody() async throws {
        let server = try TestServer()
        let response = try await blocking {
            let client = try server.connect()
            try client.send("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n4;ext=1\r\nWiki\r\n")
            try client.send("5\r\npedia\r\n0\r\nTrailer: x\r\n\r\n")
            return try client.readResponse()
        }
        #expect(response?.status == 200 && response?.text == "Wikipedia")
        await server.stop()
    }

    @Test func expectContinue() async throws {
        let server = try TestServer { $0.maxBodyBytes = 100 }
        let (interim, final, rejected, rejectedRest) = try await blocking {
            let client = try server.connect()
            try client.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n")
            let interim = try client.readResponse()
            try client.send("data")
            let final = try client.readResponse()
            let other = try server.connect()
            try other.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\nExpect: 100-continue\r\n\r\n")
            let rejected = try other.readResponse()
            return (interim, final, rejected, try other.readUntilClose())
        }
        #expect(interim?.status == 100)
        #expect(final?.status == 200 && final?.text == "data")
        #expect(rejected?.status == 413 && rejected?.header("Connection") == "close")
        #expect(rejectedRest.isEmpty)
        await server.stop()
    }

    @Test func limitsAnswered414_431_413() async throws {
        let server = try TestServer {
            $0.maxRequestLineBytes = 64
            $0.maxHeaderBytes = 256
            $0.maxHeaderCount = 5
            $0.maxBodyBytes = 16
        }
        let statuses = try await blocking { () -> [Int?] in
            let requests = [
                "GET /" + String(repeating: "a", count: 100) + " HTTP/1.1\r\nHost: x\r\n\r\n",
                "GET /hello HTTP/1.1\r\nHost: x\r\nX-Big: " + String(repeating: "b", count: 400) + "\r\n\r\n",
                "GET /hello HTTP/1.1\r\nHost: x\r\n" + (0..<6).map { "X-\($0): v\r\n" }.joined() + "\r\n",
                "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 17\r\n\r\n" + String(repeating: "c", count: 17),
                "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n10\r\n0123456789abcdef\r\n1\r\nX\r\n0\r\n\r\n",
            ]
            return try requests.map { request in
                let client = try server.connect()
                try client.send(request)
                let response = try client.readResponse()
                _ = try client.readUntilClose()
                return response?.status
            }
        }
        #expect(statuses == [414, 431, 431, 413, 413])
        await server.stop()
    }

    @Test func smugglingAttemptsGet400AndClose() async throws {
        let server = try TestServer()
        let cases = [
            "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc",
            "GET /hello HTTP/1.1\nHost: x\r\n\r\n",
            "GET /hello HTTP/1.1\r\nHost: x\r\nX: a\r\n b\r\n\r\n",
            "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
            "GET /hello HTTP/1.1\r\nHost : x\r\n\r\n",
            "GET /hello HTTP/1.1\r\n\r\n",
            "GET http://x/hello HTTP/1.1\r\nHost: x\r\n\r\n",
            "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        ]
        let results = try await blocking {
            try cases.map { request -> (Int?, String?, String) in
                let client = try server.connect()
                try client.send(request)
                let response = try client.readResponse()
                _ = try client.readUntilClose()
                return (response?.status, response?.header("Connection"), response?.text ?? "")
            }
        }
        for (status, connection, text) in results {
            #expect(status == 400)
            #expect(connection == "close")
            #expect(!text.contains("http://x") && !text.contains("zz"))
        }
        let special = try await blocking { () -> [Int?] in
            try [
                "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
                "GET /hello HTTP/2.0\r\nHost: x\r\n\r\n",
            ].map { request in
                let client = try server.connect()
                try client.send(request)
                return try client.readResponse()?.status
            }
        }
        #expect(special == [501, 505])
        #expect(server.metrics.requestCount(route: "invalid", status: 400) == UInt64(cases.count))
        await server.stop()
    }

    @Test func maxConnectionsAnswers503() async throws {
        let server = try TestServer { $0.maxConnections = 2 }
        let (first, third, thirdRest, afterClose) = try await blocking {
            let a = try server.connect()
            let b = try server.connect()
            for client in [a, b] {
                try client.send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
                _ = try client.readResponse()
            }
            let c = try server.connect()
            let third = try c.readResponse()
            let thirdRest = try c.readUntilClose()
            try a.send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
            let first = try a.readResponse()
            return (first, third, thirdRest, [a, b])
        }
        #expect(first?.status == 200)
        #expect(third?.status == 503 && third?.header("Connection") == "close")
        #expect(thirdRest.isEmpty)
        #expect(server.server.openConnections == 2)
        withExtendedLifetime(afterClose) {}
        await server.stop()
    }

    @Test func headerTimeoutIsAbsolute() async throws {
        let server = try TestServer { $0.headerReadTimeout = .milliseconds(300) }
        let (response, rest) = try await blocking {
            let client = try server.connect()
            // Slowloris: keep sending header bytes; the deadline is absolute, so progress does not help.
            try client.send("GET /hello HTTP/1.1\r\nHost: x\r\n")
            var sent = 0
            while !client.pollReadable(milliseconds: 50) && sent < 400 {
                try? client.send("X")
                sent += 1
            }
            let response = try client.readResponse()
            return (response, try client.readUntilClose())
        }
        #expect(response?.status == 408)
        #expect(response?.header("Connection") == "close")
        #expect(rest.isEmpty)
        await server.stop()
    }

    @Test func bodyTimeout() async throws {
        let server = try TestServer { $0.bodyReadTimeout = .milliseconds(300) }
        let (response, rest) = try await blocking {
            let client = try server.connect()
            try client.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc")
            let response = try client.readResponse()
            return (response, try client.readUntilClose())
        }
        #expect(response?.status == 408)
        #expect(rest.isEmpty)
        await server.stop()
    }

    @Test func idleTimeoutClosesSilently() async throws {
        let server = try TestServer { $0.idleTimeout = .milliseconds(300) }
        let (first, neverUsed, afterRequest) = try await blocking {
            let idle = try server.connect()
            let neverUsed = try idle.readUntilClose()
            let client = try server.connect()
            try client.send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
            let first = try client.readResponse()
            return (first, neverUsed, try client.readUntilClose())
        }
        #expect(first?.status == 200)
        #expect(neverUsed.isEmpty)
        #expect(afterRequest.isEmpty)
        #expect(await eventually { server.server.openConnections == 0 })
        await server.stop()
    }

    @Test func routerNotFoundMethodNotAllowedHead() async throws {
        let server = try TestServer()
        let (notFound, notAllowed, head, deleted, query) = try await blocking {
            let client = try server.connect()
            try client.send("GET /nope HTTP/1.1\r\nHost: x\r\n\r\n")
            let notFound = try client.readResponse()
            try client.send("PUT /hello HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
            let notAllowed = try client.readResponse()
            try client.send("HEAD /hello HTTP/1.1\r\nHost: x\r\n\r\n")
            let head = try client.readResponse(forHEAD: true)
            try client.send("DELETE /users/a%20b/devices/2 HTTP/1.1\r\nHost: x\r\n\r\n")
            let deleted = try client.readResponse()
            try client.send("GET /query?a=1+2&b=%41%zz&c HTTP/1.1\r\nHost: x\r\n\r\n")
            let query = try client.readResponse()
            return (notFound, notAllowed, head, deleted, query)
        }
        #expect(notFound?.status == 404)
        #expect(notAllowed?.status == 405 && notAllowed?.header("Allow") == "GET, HEAD")
        #expect(head?.status == 200 && head?.body.isEmpty == true && head?.header("Content-Length") == "5")
        #expect(deleted?.status == 204 && deleted?.header("Content-Length") == nil)
        #expect(query?.text == "a=1 2|b=A%zz|c=")
        #expect(server.metrics.requestCount(route: "unmatched", status: 404) == 1)
        #expect(server.metrics.requestCount(route: "hello", status: 405) == 1)
        await server.stop()
    }

    @Test func requestIDAndAccessLog() async throws {
        let server = try TestServer()
        let (kept, replaced, generated) = try await blocking {
            let client = try server.connect()
            try client.send(
                "GET /request-id?secret=1 HTTP/1.1\r\nHost: x\r\nX-Request-ID: abc.DEF_1-2\r\nAuthorization: Bearer s3cret\r\n\r\n"
            )
            let kept = try client.readResponse()
            try client.send("GET /request-id HTTP/1.1\r\nHost: x\r\nX-Request-ID: bad id!\r\n\r\n")
            let replaced = try client.readResponse()
            try client.send("GET /request-id HTTP/1.1\r\nHost: x\r\n\r\n")
            return (kept, replaced, try client.readResponse())
        }
        #expect(kept?.header("X-Request-ID") == "abc.DEF_1-2" && kept?.text == "abc.DEF_1-2")
        let replacedID = replaced?.header("X-Request-ID") ?? ""
        #expect(replacedID.count == 32 && replacedID.allSatisfy(\.isHexDigit) && replaced?.text == replacedID)
        #expect(generated?.header("X-Request-ID") != replacedID)
        #expect(await eventually { server.log.withLock { $0.count } == 3 })
        let entry = server.log.withLock { $0[0] }
        #expect(entry.requestID == "abc.DEF_1-2" && entry.method == "GET" && entry.path == "/request-id")
        #expect(entry.route == "request_id" && entry.status == 200 && entry.remoteAddress == "127.0.0.1")
        #expect(entry.bytesIn > 0 && entry.bytesOut > 0)
        #expect(!String(describing: entry).contains("s3cret") && !String(describing: entry).contains("secret=1"))
        await server.stop()
    }

    /// A route's fast path answers what it can on the loop thread; what it declines goes to the async
    /// handler; both are framed, logged and counted alike, in order on one keep-alive connection.
    @Test func fastPathAnswersOrDeclines() async throws {
        let server = try TestServer()
        let responses = try await blocking {
            let client = try server.connect()
            try client.send(
                "GET /maybe-fast?fast=1 HTTP/1.1\r\nHost: x\r\nX-Request-ID: one\r\n\r\n"
                    + "GET /maybe-fast HTTP/1.1\r\nHost: x\r\nX-Request-ID: two\r\n\r\n"
                    + "HEAD /maybe-fast?fast=1 HTTP/1.1\r\nHost: x\r\nX-Request-ID: three\r\n\r\n")
            return [try client.readResponse(), try client.readResponse(), try client.readResponse(forHEAD: true)]
        }
        #expect(responses.map { $0?.text } == ["fast one", "async two", ""])
        #expect(responses[2]?.header("Content-Length") == "10" && responses[2]?.header("X-Request-ID") == "three")
        #expect(await eventually { server.log.withLock { $0.count } == 3 })
        #expect(server.log.withLock { $0.map(\.route) } == ["maybe_fast", "maybe_fast", "maybe_fast"])
        // Pipelined fast-path requests are all answered (each one's answer is queued while the previous
        // is being sent; the loop must not wait for its sweep to send it).
        let pipelined = try await blocking {
            let client = try server.connect()
            try client.send(String(repeating: "GET /maybe-fast?fast=1 HTTP/1.1\r\nHost: x\r\n\r\n", count: 5))
            return try (0..<5).map { _ in try client.readResponse()?.status }
        }
        #expect(pipelined == [200, 200, 200, 200, 200])
        let direct = await TestServer.defaultRouter().respond(
            to: HTTPRequest(method: "GET", target: "/maybe-fast?fast=1", requestID: "r"))
        #expect(String(decoding: direct.body, as: UTF8.self) == "fast r")
        await server.stop()
    }

    @Test func metricsExposition() async throws {
        let server = try TestServer()
        let client = try await blocking {
            let client = try server.connect()
            try client.send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\nGET /missing HTTP/1.1\r\nHost: x\r\n\r\n")
            _ = try client.readResponse()
            _ = try client.readResponse()
            return client  // stays open for the gauge
        }
        let text = server.metrics.render()
        #expect(text.contains("# TYPE tessera_http_requests_total counter\n"))
        #expect(text.contains("tessera_http_requests_total{route=\"hello\",status=\"200\"} 1\n"))
        #expect(text.contains("tessera_http_requests_total{route=\"unmatched\",status=\"404\"} 1\n"))
        #expect(text.contains("# TYPE tessera_http_request_duration_seconds histogram\n"))
        #expect(text.contains("tessera_http_request_duration_seconds_bucket{route=\"hello\",le=\"+Inf\"} 1\n"))
        #expect(text.contains("tessera_http_request_duration_seconds_count{route=\"hello\"} 1\n"))
        #expect(text.contains("# TYPE tessera_http_open_connections gauge\n"))
        #expect(text.contains("tessera_http_open_connections 1\n"))
        withExtendedLifetime(client) {}
        await server.stop()
    }

    @Test func gracefulShutdownLetsInFlightFinish() async throws {
        let started = Locked(false)
        var router = Router()
        router.add("GET", "/slow", name: "slow") { _ in
            started.withLock { $0 = true }
            try? await Task.sleep(for: .milliseconds(500))
            return .text(200, "finished")
        }
        let server = try TestServer(router: router)
        let idle = try server.connect()
        let inFlight = try server.connect()
        try inFlight.send("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(await eventually { started.withLock { $0 } })
        server.server.beginShutdown()
        let (idleBytes, response, rest) = try await blocking {
            (try idle.readUntilClose(), try inFlight.readResponse(), try inFlight.readUntilClose())
        }
        #expect(idleBytes.isEmpty)
        #expect(response?.status == 200 && response?.text == "finished")
        #expect(response?.header("Connection") == "close")
        #expect(rest.isEmpty)
        await server.runTask.value  // run() returns
        #expect(server.server.openConnections == 0)
        #expect(throws: (any Error).self) { _ = try RawClient(port: server.port) }
    }

    @Test func shutdownForceClosesAfterGracePeriod() async throws {
        var router = Router()
        router.add("GET", "/forever", name: "forever") { _ in
            try? await Task.sleep(for: .seconds(30))
            return .text(200, "late")
        }
        let server = try TestServer(router: router) { $0.shutdownGracePeriod = .milliseconds(200) }
        let client = try server.connect()
        try client.send("GET /forever HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(await eventually { server.server.openConnections == 1 })
        server.server.beginShutdown()
        await server.runTask.value
        let bytes = try await blocking { try client.readUntilClose() }
        #expect(bytes.isEmpty)
    }

    @Test func plainHTTPOnNonLoopbackRefused() throws {
        var configuration = HTTPServerConfiguration()
        configuration.host = "0.0.0.0"
        configuration.port = 0
        let server = HTTPServer(configuration: configuration, router: Router(), metrics: HTTPMetrics()) { _ in }
        #expect {
            _ = try server.start()
        } throws: { error in
            (error as? HTTPError)?.code == .configuration
        }
        configuration.trustedTLSProxy = true
        configuration.host = "0.0.0.0"
        let proxied = HTTPServer(configuration: configuration, router: Router(), metrics: HTTPMetrics()) { _ in }
        let port = try proxied.start()
        #expect(port > 0)
        proxied.beginShutdown()
    }

    @Test func ipv6Loopback() async throws {
        var configuration = HTTPServerConfiguration()
        configuration.host = "::1"
        configuration.port = 0
        let server = HTTPServer(
            configuration: configuration, router: TestServer.defaultRouter(), metrics: HTTPMetrics()
        ) { _ in }
        let port = try server.start()
        let run = Task { await server.run() }
        let response = try await blocking {
            let client = try RawClient(port: port, host: "::1")
            try client.send("GET /hello HTTP/1.1\r\nHost: [::1]\r\n\r\n")
            return try client.readResponse()
        }
        #expect(response?.status == 200)
        server.beginShutdown()
        await run.value
    }

    @Test func manyPipelinedRequestsAndLargeBodies() async throws {
        var router = TestServer.defaultRouter()
        router.add("GET", "/big", name: "big") { _ in
            HTTPResponse(status: 200, body: [UInt8](repeating: 0x61, count: 4 << 20))
        }
        let server = try TestServer(router: router) { $0.maxBodyBytes = 2 << 20 }
        let (statuses, echoed, big) = try await blocking {
            let client = try server.connect()
            let count = 300
            try client.send(String(repeating: "GET /missing HTTP/1.1\r\nHost: x\r\n\r\n", count: count))
            let statuses = try (0..<count).map { _ in try client.readResponse()?.status ?? 0 }
            let payload = (0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31) }
            try client.send(
                Array("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: \(payload.count)\r\n\r\n".utf8) + payload)
            let echoed = try client.readResponse()?.body == payload
            try client.send("GET /big HTTP/1.1\r\nHost: x\r\n\r\n")
            return (statuses, echoed, try client.readResponse()?.body.count)
        }
        #expect(statuses == Array(repeating: 404, count: 300))
        #expect(echoed)
        #expect(big == 4 << 20)
        await server.stop()
    }

    @Test func clientVanishingMidResponseDoesNotKillServer() async throws {
        var router = TestServer.defaultRouter()
        router.add("GET", "/big", name: "big") { _ in
            HTTPResponse(status: 200, body: [UInt8](repeating: 0x61, count: 8 << 20))
        }
        let server = try TestServer(router: router)
        for _ in 0..<3 {
            try await blocking {
                let client = try server.connect()
                try client.send("GET /big HTTP/1.1\r\nHost: x\r\n\r\n")
                var linger = linger(l_onoff: 1, l_linger: 0)  // close with RST
                setsockopt(client.fd, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<linger>.size))
            }
        }
        let response = try await blocking {
            let client = try server.connect()
            try client.send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
            return try client.readResponse()
        }
        #expect(response?.status == 200)
        #expect(await eventually { server.server.openConnections == 0 })
        await server.stop()
    }

    @Test func handlerCanCloseTheConnection() async throws {
        var router = Router()
        router.add("POST", "/logout", name: "logout") { _ in
            HTTPResponse(status: 200, headers: HTTPHeaders([("Connection", "close")]), body: Array("bye".utf8))
        }
        let server = try TestServer(router: router)
        let (response, rest) = try await blocking {
            let client = try server.connect()
            try client.send(
                "POST /logout HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\nGET /logout HTTP/1.1\r\nHost: x\r\n\r\n")
            return (try client.readResponse(), try client.readUntilClose())
        }
        #expect(response?.text == "bye" && response?.header("Connection") == "close")
        #expect(rest.isEmpty)  // the pipelined request after it is not answered
        await server.stop()
    }

    @Test func tenThousandIdleConnections() async throws {
        let server = try TestServer {
            $0.idleTimeout = .seconds(120)
            $0.headerReadTimeout = .seconds(120)
        }
        let count = 10_000
        let before = residentKilobytes()
        // The client side lives in a child shell so both ends fit in the descriptor limit.
        let script = """
            ulimit -n \(count + 100) 2>/dev/null
            for i in $(seq \(count)); do exec {fd}<>/dev/tcp/127.0.0.1/\(server.port) || exit 1; done
            echo ready; read line
            """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = ["-c", script]
        let input = Pipe()
        let output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        try process.run()
        let ready = try await blocking { String(decoding: output.fileHandleForReading.availableData, as: UTF8.self) }
        #expect(ready.contains("ready"))
        #expect(await eventually(seconds: 30) { server.server.openConnections == count })
        let after = residentKilobytes()
        print("10k idle connections: RSS \(before) KiB -> \(after) KiB")
        // Bounded memory: well under 10 KiB of resident memory per idle connection.
        #expect(after - before < count * 10)
        let response = try await blocking {
            let client = try server.connect()
            try client.send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
            return try client.readResponse()
        }
        #expect(response?.status == 200)
        try input.fileHandleForWriting.write(contentsOf: Data("done\n".utf8))
        process.waitUntilExit()
        #expect(await eventually(seconds: 30) { server.server.openConnections == 0 })
        await server.stop()
    }
}

func residentKilobytes() -> Int {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
    for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
        return Int(line.split(separator: " ").dropFirst().first ?? "0") ?? 0
    }
    return 0
}
