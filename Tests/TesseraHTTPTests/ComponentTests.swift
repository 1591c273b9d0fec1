import Testing

@testable import TesseraHTTP

@Suite("Router, headers, metrics, encoding")
struct ComponentTests {
    private func router() -> Router {
        var router = Router()
        router.add("GET", "/accounts", name: "accounts_list") { _ in .text(200, "list") }
        router.add("POST", "/accounts", name: "accounts_list") { _ in .text(201, "created") }
        router.add("GET", "/accounts/{id}", name: "account") { _ in .text(200, "one") }
        router.add("GET", "/accounts/me", name: "account_me") { _ in .text(200, "me") }
        return router
    }

    @Test func exactAndParameterRoutes() {
        let router = router()
        guard case .found(let route, let parameters) = router.match(method: "GET", path: "/accounts/a%2Fb") else {
            Issue.record("no match")
            return
        }
        #expect(route.name == "account" && parameters == ["id": "a/b"])
        guard case .found(let list, _) = router.match(method: "POST", path: "/accounts") else {
            Issue.record("no match")
            return
        }
        #expect(list.name == "accounts_list")
    }

    @Test func notFoundAndMethodNotAllowed() {
        let router = router()
        guard case .notFound = router.match(method: "GET", path: "/accounts/1/extra") else {
            Issue.record("expected 404")
            return
        }
        guard case .notFound = router.match(method: "GET", path: "/accounts/") else {
            Issue.record("empty parameter must not match")
            return
        }
        guard case .methodNotAllowed(let allow, let name) = router.match(method: "DELETE", path: "/accounts") else {
            Issue.record("expected 405")
            return
        }
        #expect(allow == ["GET", "POST", "HEAD"] && name == "accounts_list")
    }

    @Test func theFirstRegisteredRouteWinsWhetherLiteralOrNot() {
        var router = router()
        router.add("GET", "/{tenant}/status", name: "tenant_status") { _ in .text(200, "status") }
        router.add("GET", "/health/status", name: "health_status") { _ in .text(200, "health") }
        // `/accounts/{id}` was added before `/accounts/me`, and `/{tenant}/status` before `/health/status`.
        guard case .found(let me, let parameters) = router.match(method: "GET", path: "/accounts/me"),
            case .found(let status, let tenant) = router.match(method: "GET", path: "/health/status"),
            case .found(let list, let none) = router.match(method: "GET", path: "/accounts"),
            case .methodNotAllowed(let allow, let name) = router.match(method: "PUT", path: "/accounts/7")
        else {
            Issue.record("unexpected match")
            return
        }
        #expect(me.name == "account" && parameters == ["id": "me"])
        #expect(status.name == "tenant_status" && tenant == ["tenant": "health"])
        #expect(list.name == "accounts_list" && none.isEmpty)
        #expect(allow == ["GET", "HEAD"] && name == "account")
    }

    @Test func headFallsBackToGet() {
        guard case .found(let route, _) = router().match(method: "HEAD", path: "/accounts/7") else {
            Issue.record("no HEAD fallback")
            return
        }
        #expect(route.name == "account")
    }

    @Test func headersAreOrderedAndCaseInsensitive() {
        var headers = HTTPHeaders([("Set-Cookie", "a"), ("X-One", "1")])
        headers.add("set-cookie", "b")
        #expect(headers["SET-COOKIE"] == "a")
        #expect(headers.values("set-cookie") == ["a", "b"])
        headers.set("Set-Cookie", "c")
        #expect(headers.values("Set-Cookie") == ["c"])
        #expect(headers.map(\.name) == ["X-One", "Set-Cookie"])
        #expect(HTTPHeaders([("Connection", "keep-alive, Close")]).containsToken("close", in: "connection"))
    }

    @Test func queryDecoding() {
        let request = HTTPRequest(method: "GET", target: "/p?a=1+2&b=%41%zz%4&c&&d=%E2%82%AC&e=x=y")
        #expect(request.path == "/p")
        #expect(request.query == "a=1+2&b=%41%zz%4&c&&d=%E2%82%AC&e=x=y")
        #expect(request.queryItems.map(\.name) == ["a", "b", "c", "d", "e"])
        #expect(request.queryItems.map(\.value) == ["1 2", "A%zz%4", "", "€", "x=y"])
        #expect(HTTPRequest(method: "GET", target: "/p").query == nil)
    }

    @Test func requestIDValidation() {
        #expect(RequestID.accept("abc-DEF_1.2") == "abc-DEF_1.2")
        #expect(RequestID.accept(String(repeating: "a", count: 128)) != nil)
        #expect(RequestID.accept(String(repeating: "a", count: 129)) == nil)
        #expect(RequestID.accept("") == nil)
        #expect(RequestID.accept("a b") == nil)
        #expect(RequestID.accept("a\r\nX: y") == nil)
        let generated = RequestID.generate()
        #expect(generated.count == 32 && generated.allSatisfy(\.isHexDigit))
        #expect(generated != RequestID.generate())
    }

    @Test func responseEncodingOwnsFramingAndDropsInjection() {
        var response = HTTPResponse.text(200, "hi")
        response.headers.add("Content-Length", "999")
        response.headers.add("Transfer-Encoding", "chunked")
        response.headers.add("X-Evil", "a\r\nSet-Cookie: x")
        response.headers.add("Bad Name", "v")
        response.headers.add("X-Good", "ok")
        let text = String(
            decoding: ResponseEncoding.encode(
                response, requestID: "rid", keepAlive: false, version: .http1_1, omitBody: false,
                date: "Sun, 06 Nov 1994 08:49:37 GMT"), as: UTF8.self)
        #expect(
            text
                == "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nX-Good: ok\r\n"
                + "Date: Sun, 06 Nov 1994 08:49:37 GMT\r\nX-Request-ID: rid\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi"
        )
    }

    @Test func httpDateFormat() {
        #expect(ResponseEncoding.httpDate(784_111_777) == "Sun, 06 Nov 1994 08:49:37 GMT")
    }

    @Test func jsonResponse() {
        let response = HTTPResponse.json(201, Array("{}".utf8))
        #expect(response.status == 201 && response.headers["content-type"] == "application/json")
    }

    @Test func metricsRenderPrometheusText() {
        let metrics = HTTPMetrics()
        metrics.recordRequest(route: "token", status: 200, duration: .milliseconds(3))
        metrics.recordRequest(route: "token", status: 200, duration: .milliseconds(300))
        metrics.recordRequest(route: "token", status: 400, duration: .seconds(20))
        metrics.recordRequest(route: "we\"ird", status: 404, duration: .zero)
        metrics.connectionOpened()
        let text = metrics.render()
        let lines = text.split(separator: "\n").map(String.init)
        #expect(lines.first == "# HELP tessera_http_requests_total HTTP requests answered, by route and status.")
        #expect(lines.contains("tessera_http_requests_total{route=\"token\",status=\"200\"} 2"))
        #expect(lines.contains("tessera_http_requests_total{route=\"token\",status=\"400\"} 1"))
        #expect(lines.contains("tessera_http_requests_total{route=\"we\\\"ird\",status=\"404\"} 1"))
        #expect(lines.contains("tessera_http_request_duration_seconds_bucket{route=\"token\",le=\"0.005\"} 1"))
        #expect(lines.contains("tessera_http_request_duration_seconds_bucket{route=\"token\",le=\"0.25\"} 1"))
        #expect(lines.contains("tessera_http_request_duration_seconds_bucket{route=\"token\",le=\"0.5\"} 2"))
        #expect(lines.contains("tessera_http_request_duration_seconds_bucket{route=\"token\",le=\"10\"} 2"))
        #expect(lines.contains("tessera_http_request_duration_seconds_bucket{route=\"token\",le=\"+Inf\"} 3"))
        #expect(lines.contains("tessera_http_request_duration_seconds_count{route=\"token\"} 3"))
        #expect(lines.contains("# TYPE tessera_http_open_connections gauge"))
        #expect(lines.contains("tessera_http_open_connections 1"))
        #expect(text.hasSuffix("\n"))
        // Every sample line is `name{labels} value` or `name value`.
        for line in lines where !line.hasPrefix("#") {
            #expect(line.split(separator: " ").count == 2 && Double(line.split(separator: " ")[1]) != nil, "\(line)")
        }
    }
}

@Suite("Forms and media types") struct FormTests {
    @Test func decodesFormBodies() {
        let items = FormDecoding.decodeItems("a=1&&b=%41+c&d&e=%zz&=x&f=%E2%82%AC")
        #expect(items.map(\.name) == ["a", "b", "d", "e", "", "f"])
        #expect(items.map(\.value) == ["1", "A c", "", "%zz", "x", "€"])
        #expect(FormDecoding.decodeItems("").isEmpty)
        // A combining mark right after '&' or '=' belongs to what follows, not to the separator.
        let marks = FormDecoding.decodeItems("a=\u{301}x&\u{301}b=2")
        #expect(marks.map(\.name) == ["a", "\u{301}b"])
        #expect(marks.map(\.value) == ["\u{301}x", "2"])
        #expect(FormDecoding.decode("a+b%2B", plusAsSpace: false) == "a+b+")
    }

    @Test func matchesMediaTypes() {
        func request(_ type: String?) -> HTTPRequest {
            HTTPRequest(
                method: "POST", target: "/", headers: HTTPHeaders(type.map { [("Content-Type", $0)] } ?? []),
                body: Array("x=1".utf8))
        }
        #expect(request("application/x-www-form-urlencoded").hasMediaType("application/x-www-form-urlencoded"))
        #expect(
            request(" Application/X-WWW-Form-Urlencoded ; charset=UTF-8").hasMediaType(
                "application/x-www-form-urlencoded"))
        #expect(!request("application/x-www-form-urlencodedx").hasMediaType("application/x-www-form-urlencoded"))
        #expect(!request("application/json").hasMediaType("application/x-www-form-urlencoded"))
        #expect(!request(nil).hasMediaType("application/json"))
        #expect(request("application/x-www-form-urlencoded").formItems?.first?.value == "1")
        #expect(request("text/plain").formItems == nil)
    }
}
